package service

import (
	"context"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// AppIDPrefix starts the app id of every job task ("chronos:<job>"): no
// Marathon app id can have it (they start with "/"), so the master tells
// job tasks from app tasks by it.
const AppIDPrefix = "chronos:"

// BucketResults holds the terminal results of job tasks the master
// recorded (in the same write that forgot the task) and the service has
// not folded into its counters yet: a result survives a leader change and
// is counted exactly once.
const BucketResults = "jobresults"

// Launcher is what the service needs from the master: the same placement
// core and agent protocol as app tasks.
type Launcher interface {
	// Launch places each run with the placement core and records its task
	// (durably) for the agent to start; a task id the master already has
	// is answered with its placement (a run adopted after a leader
	// change is never launched twice).
	Launch(ctx context.Context, runs []Launch) ([]Placed, error)
	// Task returns the master's view of a task it knows.
	Task(id string) (TaskInfo, bool)
	// JobTasks lists the ids of the job tasks the master knows.
	JobTasks() []string
	// Kill asks the task's agent to stop it.
	Kill(ctx context.Context, taskID string) error
	// Sync returns once every task result handed to TaskEnded so far is
	// durable.
	Sync(ctx context.Context) error
	// Capacity is the live agents' total and free resources.
	Capacity() Capacity
}

// Launch is one run to place.
type Launch struct {
	Spec wire.TaskSpec
	// Constraints in Marathon's form ([field, OPERATOR, value]).
	Constraints [][]string
}

// Placed is the outcome of one Launch.
type Placed struct {
	OK          bool
	Agent, Host string
	// Why is the placement core's explanation when not placed.
	Why string
}

// TaskInfo is the master's view of one job task.
type TaskInfo struct {
	State, Agent, Host, StartedAt string
}

// Capacity is cpus and mem of the live agents.
type Capacity struct {
	CPUs, Mem, FreeCPUs, FreeMem float64
	// Room is the dominant share of the cluster new runs may add now
	// (apps and jobs share it by DRF: while apps wait for resources the
	// side with the lower weighted dominant share is offered them
	// first); +Inf or 0 without a limit. Held is why none may be added
	// (empty when Room > 0).
	Room float64
	Held string
}

// Result is a job task's terminal state, as the master saw it.
type Result struct {
	TaskID    string    `json:"taskId"`
	State     string    `json:"state"`
	Exit      *int      `json:"exitStatus,omitempty"`
	Message   string    `json:"message,omitempty"`
	Agent     string    `json:"agent,omitempty"`
	Host      string    `json:"host,omitempty"`
	StartedAt string    `json:"startedAt,omitempty"`
	Ended     time.Time `json:"ended"`
	// Callback marks an async job's completion callback (never stored).
	Callback bool `json:"-"`
}

// TaskEnded hands the service a job task's result; the master calls it
// under its own lock, so it only queues the result and wakes the loop.
func (s *Service) TaskEnded(r Result) {
	s.inMu.Lock()
	s.inbox = append(s.inbox, r)
	s.inMu.Unlock()
	s.Wake()
}

// Wake asks the loop for a tick now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) takeResults() []Result {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	out := s.inbox
	s.inbox = nil
	return out
}
