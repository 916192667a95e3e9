package agent

import (
	"sort"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// Observed is one task instance a runtime reports: a container labelled
// with this agent's id, or a process recorded in the work dir.
type Observed struct {
	TaskID    string
	AppID     string
	Runtime   string // "docker" or "process"
	RuntimeID string // container id, or "<pid>:<start time>"
	// Running is true while the container or process runs.
	Running bool
	// Started is false for a container that was created but never
	// started (an interrupted launch).
	Started    bool
	ExitCode   int
	ExitKnown  bool
	FinishedAt time.Time
	// Message explains an exit (e.g. "OOM killed"), if the runtime knows.
	Message   string
	IPAddress string
	// ClusterID is the task's berth.cluster-id ("" for a task launched
	// before cluster ids existed).
	ClusterID string
}

// ActionKind is what the agent does to one task.
type ActionKind string

// Action kinds.
const (
	ActLaunch ActionKind = "launch"
	ActKill   ActionKind = "kill"   // drain, SIGTERM, SIGKILL after the grace period
	ActRemove ActionKind = "remove" // delete a container or sandbox that no longer runs
)

// Action is one step towards the desired state, with the reason for it.
type Action struct {
	Kind     ActionKind
	TaskID   string
	Spec     *wire.TaskSpec // for launch; for kill when still known (drain and grace periods)
	Observed *Observed      // for kill and remove
	Reason   string
}

// DiffInput is everything Diff decides from. It holds no I/O handles and no
// clock: Now is data.
type DiffInput struct {
	Desired  []wire.TaskSpec
	Kill     []string
	Observed []Observed
	// Busy tasks have an action in flight; Diff leaves them alone.
	Busy map[string]bool
	// Done tasks reached a terminal state without anything left to observe
	// (e.g. a launch that failed); they are never relaunched under the same id.
	Done map[string]bool
	// Known tasks were in a desired set during this agent's life; when one
	// leaves the set it is killed at once.
	Known map[string]bool
	// Specs are the last known specs (for drain and grace periods of tasks
	// no longer desired).
	Specs map[string]wire.TaskSpec
	// OrphanDeadline: running tasks the master never asked for (adopted at
	// start, unknown to it) are killed only from this instant on.
	OrphanDeadline time.Time
	// RetainExited is how long an exited task that is no longer desired
	// keeps its container or sandbox (for its logs) before it is removed.
	RetainExited time.Duration
	Now          time.Time
}

// Diff computes the actions that move the observed state towards the
// desired one. It is pure: same input, same actions, in task-id order.
func Diff(in DiffInput) []Action {
	desired := map[string]*wire.TaskSpec{}
	for i := range in.Desired {
		desired[in.Desired[i].TaskID] = &in.Desired[i]
	}
	for _, id := range in.Kill {
		delete(desired, id)
	}
	observed := map[string]*Observed{}
	for i := range in.Observed {
		observed[in.Observed[i].TaskID] = &in.Observed[i]
	}
	var acts []Action
	for id, spec := range desired {
		if in.Busy[id] {
			continue
		}
		o := observed[id]
		switch {
		case o == nil && !in.Done[id]:
			acts = append(acts, Action{Kind: ActLaunch, TaskID: id, Spec: spec, Reason: "desired and not running here"})
		case o != nil && !o.Started && !o.Running:
			acts = append(acts, Action{Kind: ActRemove, TaskID: id, Observed: o, Reason: "created but never started (interrupted launch); relaunching"})
		}
	}
	for id, o := range observed {
		if desired[id] != nil || in.Busy[id] {
			continue
		}
		if a, ok := undesiredAction(in, o); ok {
			acts = append(acts, a)
		}
	}
	sort.Slice(acts, func(i, j int) bool {
		if acts[i].TaskID != acts[j].TaskID {
			return acts[i].TaskID < acts[j].TaskID
		}
		return acts[i].Kind < acts[j].Kind
	})
	return acts
}

// undesiredAction decides about an observed task the master does not want.
func undesiredAction(in DiffInput, o *Observed) (Action, bool) {
	a := Action{TaskID: o.TaskID, Observed: o}
	if spec, ok := in.Specs[o.TaskID]; ok {
		a.Spec = &spec
	}
	if o.Running {
		a.Kind = ActKill
		switch {
		case contains(in.Kill, o.TaskID):
			a.Reason = "the master asked to kill it"
		case in.Known[o.TaskID]:
			a.Reason = "no longer in the desired set"
		case !in.Now.Before(in.OrphanDeadline):
			a.Reason = "unknown to the master after the orphan grace period"
		default:
			return a, false // unknown, still within the grace period
		}
		return a, true
	}
	if !o.Started {
		a.Kind, a.Reason = ActRemove, "created but never started and not desired"
		return a, true
	}
	if in.Now.Sub(o.FinishedAt) >= in.RetainExited {
		a.Kind, a.Reason = ActRemove, "exited, not desired, retention period over"
		return a, true
	}
	return a, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
