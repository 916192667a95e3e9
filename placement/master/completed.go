package master

import (
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// maxCompleted is how many ended tasks /master/state's completed_tasks
// keeps (per master process and term; not persisted).
const maxCompleted = 1000

// completedTask is an ended task as the master remembers it.
type completedTask struct {
	ID, Name, SlaveID, State, Message string
	Resources                         wire.Resources
	// Started is when it was reported running (zero: never); Ended when
	// the master learnt it ended.
	Started, Ended time.Time
}

// completedRing keeps the last cap ended tasks; its zero value is an
// empty ring of maxCompleted.
type completedRing struct {
	cap  int
	buf  []completedTask
	next int // where the next one goes once buf is full
}

// add records c, dropping the oldest once the ring is full.
func (r *completedRing) add(c completedTask) {
	if r.cap <= 0 {
		r.cap = maxCompleted
	}
	if len(r.buf) < r.cap {
		r.buf = append(r.buf, c)
		return
	}
	r.buf[r.next] = c
	r.next = (r.next + 1) % r.cap
}

// newestFirst lists the recorded tasks, the last ended first.
func (r *completedRing) newestFirst() []completedTask {
	out := make([]completedTask, 0, len(r.buf))
	for i := range r.buf {
		// the newest is just before next (or the last appended)
		j := (r.next - 1 - i + 2*len(r.buf)) % len(r.buf)
		out = append(out, r.buf[j])
	}
	return out
}

// endedRecord is what the ring keeps of t, ending in state at now.
func endedRecord(t *Task, state, msg string, now time.Time) completedTask {
	c := completedTask{ID: t.ID, Name: t.AppID, SlaveID: t.AgentID, State: state, Message: msg,
		Resources: t.Spec.Resources, Ended: now}
	if t.StartedAt != "" {
		c.Started, _ = time.Parse(time.RFC3339Nano, t.StartedAt)
	}
	return c
}

// mesosSeconds is a Mesos status timestamp: seconds since the epoch.
func mesosSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// completedJSON is one of Mesos' completed_tasks: the statuses are the
// task's running (when it ran) and its terminal update.
func completedJSON(c completedTask) map[string]any {
	var statuses []map[string]any
	if !c.Started.IsZero() {
		statuses = append(statuses, map[string]any{"state": wire.TaskRunning, "timestamp": mesosSeconds(c.Started)})
	}
	final := map[string]any{"state": c.State, "timestamp": mesosSeconds(c.Ended)}
	if c.Message != "" {
		final["message"] = c.Message
	}
	statuses = append(statuses, final)
	return map[string]any{"id": c.ID, "name": c.Name, "framework_id": "berth", "slave_id": c.SlaveID,
		"state": c.State, "resources": c.Resources, "statuses": statuses}
}
