package agent

import (
	"context"
	"io"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// Runtime names, as in --containerizers.
const (
	RuntimeDocker  = "docker"
	RuntimeProcess = "process"
)

// Launch is what a runtime needs to start one task.
type Launch struct {
	Spec    wire.TaskSpec
	AgentID string
	// ClusterID labels the task (berth.cluster-id); empty when the
	// master sent none.
	ClusterID string
	Host      string // the agent's hostname, for $HOST
}

// Runtime runs tasks of one kind (Docker containers or processes). It is the
// agent's only way to touch the node; the agent defines it, the Docker and
// process implementations and the tests' fakes satisfy it.
type Runtime interface {
	// Launch prepares (e.g. pulls), creates and starts the task. An error
	// fails the task; its text becomes the task's message.
	Launch(ctx context.Context, l Launch) (Observed, error)
	// Stop sends SIGTERM, then SIGKILL once grace has passed, and returns
	// when the task no longer runs.
	Stop(ctx context.Context, o Observed, grace time.Duration) error
	// Remove deletes what is left of a task that no longer runs.
	Remove(ctx context.Context, o Observed) error
	// List returns every task this agent launched, running or not.
	List(ctx context.Context, agentID string) ([]Observed, error)
	// Logs reads a task's stdout or stderr from byte offset on; with follow
	// it keeps streaming until the task ends or ctx is done.
	Logs(ctx context.Context, o Observed, stream string, offset int64, follow bool) (io.ReadCloser, error)
}

// Watcher is implemented by runtimes that can tell when something changed
// (Docker events); Watch calls notify on each change until ctx is done.
type Watcher interface {
	Watch(ctx context.Context, agentID string, notify func()) error
}

// Execer is implemented by runtimes that can run a COMMAND health check
// inside the task's environment; it returns the command's exit code.
type Execer interface {
	Exec(ctx context.Context, o Observed, l Launch, command string) (int, error)
}
