package agent

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
)

// terminal reports whether a task state is final.
func terminal(state string) bool {
	switch state {
	case wire.TaskFinished, wire.TaskFailed, wire.TaskKilled, wire.TaskLost, wire.TaskError:
		return true
	}
	return false
}

// deriveLocked works out a task's state from its record, what the runtime
// observes and whether an action is in flight, and updates the record.
func (a *Agent) deriveLocked(r *taskRecord) {
	o, seen := a.observed[r.TaskID]
	created := seen && !o.Running && !o.Started // an interrupted launch
	busy := a.busy[r.TaskID]
	switch {
	case created:
		// neither running nor vanished: Diff removes it and relaunches
	case seen && o.Running:
		r.State, r.Message, r.ExitCode = wire.TaskRunning, "", nil
		if r.KillRequested {
			r.State = wire.TaskKilling
		}
		r.ContainerID = o.RuntimeID
	case seen:
		r.State, r.Message, r.ExitCode = exitState(r, o)
	case busy == ActLaunch || r.Done:
		// the launch owns the state, or the task is over
	case r.KillRequested:
		r.State, r.Message = wire.TaskKilled, "killed; its container or process is gone"
	case r.State == wire.TaskRunning || r.State == wire.TaskStarting || r.State == wire.TaskKilling:
		r.State, r.Message = wire.TaskLost, fmt.Sprintf("the task's %s disappeared without this agent stopping it", r.Runtime)
	}
	if terminal(r.State) {
		r.Done = true
	}
}

func exitState(r *taskRecord, o Observed) (string, string, *int) {
	var code *int
	if o.ExitKnown {
		c := o.ExitCode
		code = &c
	}
	msg := o.Message
	join := func(s string) string {
		if msg == "" {
			return s
		}
		return s + ": " + msg
	}
	switch {
	case r.KillRequested:
		return wire.TaskKilled, join("killed by the agent"), code
	case !o.ExitKnown:
		return wire.TaskFailed, join("exited; exit code unknown (the process was adopted after an agent restart)"), nil
	case o.ExitCode == 0:
		return wire.TaskFinished, join("exited with code 0"), code
	default:
		return wire.TaskFailed, join("exited with code " + strconv.Itoa(o.ExitCode)), code
	}
}

// statusLocked renders a record as a status update (Seq unset).
func (a *Agent) statusLocked(r *taskRecord) wire.TaskStatus {
	st := wire.TaskStatus{
		TaskID: r.TaskID, AppID: r.AppID, State: r.State, Message: r.Message, ExitCode: r.ExitCode,
		Timestamp: a.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Host:      a.cfg.Hostname, IPAddress: a.cfg.AdvertiseIP,
	}
	if r.Runtime == RuntimeDocker {
		st.ContainerID = r.ContainerID
	}
	if o, ok := a.observed[r.TaskID]; ok && o.IPAddress != "" {
		st.IPAddress = o.IPAddress
	}
	if r.Spec != nil {
		for _, p := range r.Spec.Ports {
			st.HostPorts = append(st.HostPorts, p.HostPort)
		}
	}
	if r.State == wire.TaskRunning && len(r.Health) > 0 {
		st.Health = append([]wire.HealthResult(nil), r.Health...)
	}
	return st
}

// signature is what makes two statuses "the same" for reporting: state,
// message, exit code and the health verdicts (not their timestamps).
func signature(st wire.TaskStatus) string {
	var b strings.Builder
	b.WriteString(st.State + "|" + st.Message + "|")
	if st.ExitCode != nil {
		b.WriteString(strconv.Itoa(*st.ExitCode))
	}
	for _, h := range st.Health {
		fmt.Fprintf(&b, "|%t/%d", h.Alive, h.ConsecutiveFailures)
	}
	return b.String()
}

// reportLocked journals r's status if it changed since the last report.
func (a *Agent) reportLocked(r *taskRecord) {
	a.deriveLocked(r)
	st := a.statusLocked(r)
	sig := signature(st)
	if sig == r.Reported {
		return
	}
	if _, err := a.journal.Append(st); err != nil {
		a.log.Error("cannot journal a status update; will retry on the next pass", "task", r.TaskID, "state", st.State, "err", err)
		return
	}
	a.log.Info("task status", "task", r.TaskID, "state", st.State, "message", st.Message, "health", healthSummary(st.Health))
	r.Reported = sig
	a.saveLocked(r)
	a.pokeSender()
	a.publishTasksLocked()
}

// updateStatusesLocked reports every task whose status changed, and
// forgets finished tasks that are reported, undesired and gone.
func (a *Agent) updateStatusesLocked() {
	for _, id := range a.sortedTaskIDsLocked() {
		r := a.tasks[id]
		a.reportLocked(r)
		_, seen := a.observed[id]
		if r.Done && !seen && a.busy[id] == "" && !a.isDesiredLocked(id) && r.Reported == signature(a.statusLocked(r)) {
			if err := a.store.delete(id); err != nil {
				a.log.Error("cannot delete a task record", "task", id, "err", err)
				continue
			}
			delete(a.tasks, id)
		}
	}
}

// currentStatusesLocked is every known task's current status, for
// registration (reconciliation) and /v1/state.
func (a *Agent) currentStatusesLocked() []wire.TaskStatus {
	out := []wire.TaskStatus{}
	for _, id := range a.sortedTaskIDsLocked() {
		out = append(out, a.statusLocked(a.tasks[id]))
	}
	return out
}

// healthSummary is "alive,failing(2)" per check, for logs.
func healthSummary(hs []wire.HealthResult) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = "alive"
		if !h.Alive {
			parts[i] = fmt.Sprintf("failing(%d)", h.ConsecutiveFailures)
		}
	}
	return strings.Join(parts, ",")
}
