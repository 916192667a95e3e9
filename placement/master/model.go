package master

import (
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/marathon"
)

// Store buckets.
const (
	bucketApps        = "apps"
	bucketVersions    = "versions"
	bucketTasks       = "tasks"
	bucketDeployments = "deployments"
	bucketAgents      = "agents"
)

// timeFormat is Marathon's timestamp: ISO-8601 UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

// appRecord is what the store keeps per app (bucket apps).
type appRecord struct {
	App *marathon.App `json:"app"`
	// Generation is the version of the last change that requires new
	// tasks (config change or restart); tasks of another generation are
	// replaced by a running RestartApplication.
	Generation      string       `json:"generation"`
	LastTaskFailure *TaskFailure `json:"lastTaskFailure,omitempty"`
}

// TaskFailure is Marathon's lastTaskFailure.
type TaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId"`
}

// Task is the master's record of one task (bucket tasks).
type Task struct {
	ID           string              `json:"id"`
	AppID        string              `json:"appId"`
	AgentID      string              `json:"agentId"`
	Host         string              `json:"host"`
	Ports        []int               `json:"ports"`
	ServicePorts []int               `json:"servicePorts"`
	State        string              `json:"state"`
	Message      string              `json:"message,omitempty"`
	Version      string              `json:"version"`
	Generation   string              `json:"generation"`
	StagedAt     string              `json:"stagedAt"`
	StartedAt    string              `json:"startedAt,omitempty"`
	IPAddress    string              `json:"ipAddress,omitempty"`
	Health       []wire.HealthResult `json:"health,omitempty"`
	// Killing is set once the master decided the task must stop;
	// KillReason says why (scale, restart, unhealthy, user, delete).
	Killing bool `json:"killing,omitempty"`
	// UnreachableSince is when the task's agent was lost (TASK_UNREACHABLE).
	UnreachableSince string `json:"unreachableSince,omitempty"`
	// Reported is set once the agent sent any status for the task.
	Reported   bool          `json:"reported,omitempty"`
	KillReason string        `json:"killReason,omitempty"`
	Spec       wire.TaskSpec `json:"spec"`
	// Readiness holds one result per readiness check (readiness.go).
	Readiness []readinessResult `json:"readiness,omitempty"`

	// view caches the task's API JSON; nil when stale.
	view []byte
}

// Kill reasons.
const (
	killScale     = "scale"
	killRestart   = "restart"
	killUnhealthy = "unhealthy"
	killUser      = "user"
	killDelete    = "delete"
	// killReplaced: back from an unreachable agent after its
	// replacement was launched (unreachableStrategy).
	killReplaced = "replaced while unreachable"
)

// terminal reports whether a Mesos task state is final.
func terminal(state string) bool {
	switch state {
	case wire.TaskFinished, wire.TaskFailed, wire.TaskKilled, wire.TaskLost, wire.TaskError,
		"TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN":
		return true
	}
	return false
}

// healthy reports whether t passes every one of its health checks; a task
// without checks is never "healthy" nor "unhealthy" (nil).
func (t *Task) healthy() *bool {
	n := len(t.Spec.HealthChecks)
	if n == 0 {
		return nil
	}
	ok := len(t.Health) == n
	for _, h := range t.Health {
		ok = ok && h.Alive
	}
	if !ok && len(t.Health) == 0 {
		return nil // no result yet: unknown
	}
	return &ok
}

// ready reports whether t counts as up for deployments: running, past its
// readiness checks and, when it has health checks, healthy.
func (t *Task) ready() bool {
	if t.State != wire.TaskRunning || !t.readinessReady() {
		return false
	}
	if len(t.Spec.HealthChecks) == 0 {
		return true
	}
	h := t.healthy()
	return h != nil && *h
}

// Action is one deployment action.
type Action struct {
	Action string `json:"action"`
	App    string `json:"app"`
}

// Deployment action names.
const (
	actStart   = "StartApplication"
	actScale   = "ScaleApplication"
	actRestart = "RestartApplication"
	actStop    = "StopApplication"
)

// Step is a set of actions run together.
type Step struct {
	Actions []Action `json:"actions"`
}

// Deployment is a running deployment (bucket deployments).
type Deployment struct {
	ID           string   `json:"id"`
	Version      string   `json:"version"`
	AffectedApps []string `json:"affectedApps"`
	Steps        []Step   `json:"steps"`
	// CurrentStep is 1-based as in Marathon's JSON.
	CurrentStep int `json:"currentStep"`
	// Original holds each affected app's definition before the deployment
	// (nil: the app did not exist), for DELETE /v2/deployments rollback.
	Original map[string]*marathon.App `json:"original"`
	// Generation of each app before the deployment, for rollback.
	OriginalGeneration map[string]string `json:"originalGeneration,omitempty"`
	// OriginalGroups holds the group records a group deployment wrote or
	// dropped as they were before it (nil: the record did not exist), so
	// a rollback restores dependencies and empty groups too.
	OriginalGroups map[string]*groupMeta `json:"originalGroups,omitempty"`
}

// agent is the master's view of one agent.
type agent struct {
	reg      wire.Registration
	lastSeen time.Time
	polling  int
	lost     bool
	index    uint64
	changed  chan struct{}
	// unknown are task ids the agent reported that the master does not
	// know; they are listed in Desired.Kill until the agent stops
	// reporting them.
	unknown map[string]bool
	// epoch names this record of the agent in this master process
	// (wire.Desired.Epoch); set on its first desired answer.
	epoch string
}

// agentRecord is what the store keeps per agent.
type agentRecord struct {
	Registration wire.Registration `json:"registration"`
}

func (a *agent) notify() {
	a.index++
	close(a.changed)
	a.changed = make(chan struct{})
}
