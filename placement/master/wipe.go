package master

import (
	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/store"
)

// killWipe marks a task killed with wipe=true: expunged from its app at
// once (it is an orphan until its agent confirms the kill).
const killWipe = "wipe"

// userKill kills tasks asked for by the API. With wipe (Marathon's
// "expunge and replace") the tasks leave their app's state at once, so a
// replacement is launched without waiting for the kill to be confirmed,
// and a task on an unreachable agent is forgotten instead of waiting for
// that agent; without wipe it is a plain kill. Call with m.mu held.
func (m *Master) userKill(victims []*Task, wipe bool) []store.Op {
	if !wipe {
		return m.killTasks(victims, killUser)
	}
	var ops []store.Op
	now := m.now()
	for _, t := range victims {
		as := m.apps[t.AppID]
		if t.State == wire.TaskUnreachable || !t.Reported {
			ops = append(ops, m.endTask(t, wire.TaskKilled, "wiped (wipe=true)", now)...)
			continue
		}
		ops = append(ops, m.killTasks([]*Task{t}, killWipe)...)
		t.KillReason = killWipe
		if as != nil && as.tasks[t.ID] == t {
			delete(as.tasks, t.ID)
			m.dirty[t.AppID] = true
		}
		m.orphans[t.ID] = t
		ops = append(ops, taskOp(t))
	}
	return ops
}

// expunged reports whether a stored task no longer belongs to its app's
// state (deleted with its app, or wiped).
func expunged(t *Task) bool {
	return t.KillReason == killDelete || t.KillReason == killWipe
}
