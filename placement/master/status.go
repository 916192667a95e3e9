package master

import (
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/store"
)

// condition is Marathon's instance condition for a Mesos state.
func condition(state string) string {
	switch state {
	case wire.TaskStaging:
		return "Staging"
	case wire.TaskStarting:
		return "Starting"
	case wire.TaskRunning:
		return "Running"
	case wire.TaskKilling:
		return "Killing"
	case wire.TaskFinished:
		return "Finished"
	case wire.TaskFailed:
		return "Failed"
	case wire.TaskKilled:
		return "Killed"
	case wire.TaskLost:
		return "Gone"
	case wire.TaskError:
		return "Error"
	case wire.TaskUnreachable:
		return "Unreachable"
	}
	return "Unknown"
}

// applyStatus folds one status update into the task it is about.
func (m *Master) applyStatus(a *agent, st wire.TaskStatus, now time.Time) []store.Op {
	t := m.tasks[st.TaskID]
	if t == nil || t.AgentID != a.reg.ID {
		if !terminal(st.State) && !a.unknown[st.TaskID] {
			a.unknown[st.TaskID] = true
			a.notify()
		} else if terminal(st.State) && a.unknown[st.TaskID] {
			delete(a.unknown, st.TaskID)
		}
		return nil
	}
	m.events.publish(now, "status_update_event", map[string]any{
		"slaveId": a.reg.ID, "taskId": t.ID, "taskStatus": st.State, "message": st.Message,
		"appId": t.AppID, "host": t.Host, "ipAddresses": ipList(st.IPAddress), "ports": nonNil(t.Ports),
		"version": t.Version})
	if terminal(st.State) {
		return m.endTask(t, st.State, st.Message, now)
	}
	if m.replacedWhileUnreachable(t, now) {
		// Its agent is back after the task had been replaced: the
		// replacement stays and the old task is the surplus.
		t.State, t.UnreachableSince, t.view = st.State, "", nil
		return m.killTasks([]*Task{t}, killReplaced)
	}
	t.Reported, t.UnreachableSince = true, ""

	ops := m.updateHealth(t, st.Health, now)
	if st.State != t.State {
		t.State = st.State
		m.instanceChanged(t, now)
	}
	if st.State == wire.TaskRunning && t.StartedAt == "" {
		t.StartedAt = st.Timestamp
		if t.StartedAt == "" {
			t.StartedAt = ts(now)
		}
	}
	if st.IPAddress != "" {
		t.IPAddress = st.IPAddress
	}
	t.Message = st.Message
	t.view = nil
	m.dirty[t.AppID] = true
	return append(ops, taskOp(t))
}

// updateHealth records health results, publishes changes, and kills a
// task that failed a check maxConsecutiveFailures times in a row.
func (m *Master) updateHealth(t *Task, results []wire.HealthResult, now time.Time) []store.Op {
	if results == nil {
		return nil
	}
	before, prev := t.healthy(), t.Health
	t.Health = results
	after := t.healthy()
	if after != nil && (before == nil || *before != *after) {
		m.events.publish(now, "health_status_changed_event", map[string]any{
			"appId": t.AppID, "instanceId": t.ID, "taskId": t.ID, "version": t.Version, "alive": *after})
		m.events.publish(now, "instance_health_changed_event", map[string]any{
			"instanceId": t.ID, "runSpecId": t.AppID, "runSpecVersion": t.Version, "healthy": *after})
	}
	for i, h := range results {
		if i >= len(t.Spec.HealthChecks) || t.Killing {
			break
		}
		if !h.Alive && h.ConsecutiveFailures > 0 && (i >= len(prev) || prev[i].ConsecutiveFailures != h.ConsecutiveFailures) {
			m.events.publish(now, "failed_health_check_event", map[string]any{
				"appId": t.AppID, "taskId": t.ID, "instanceId": t.ID, "version": t.Version,
				"healthCheck": t.Spec.HealthChecks[i]})
		}
		max := t.Spec.HealthChecks[i].MaxConsecutiveFailures
		if max > 0 && !h.Alive && h.ConsecutiveFailures >= max {
			m.events.publish(now, "unhealthy_instance_kill_event", map[string]any{
				"appId": t.AppID, "taskId": t.ID, "instanceId": t.ID, "version": t.Version,
				"reason": "health check " + itoa(i) + " failed " + itoa(h.ConsecutiveFailures) + " times: " + h.LastFailureCause,
				"host":   t.Host, "slaveId": t.AgentID})
			m.log.Info("master: killing unhealthy task", "task", t.ID, "failures", h.ConsecutiveFailures)
			return m.killTasks([]*Task{t}, killUnhealthy)
		}
	}
	return nil
}

func (m *Master) instanceChanged(t *Task, now time.Time) {
	m.events.publish(now, "instance_changed_event", map[string]any{
		"instanceId": t.ID, "condition": condition(t.State), "runSpecId": t.AppID, "agentId": t.AgentID,
		"host": t.Host, "runSpecVersion": t.Version})
}

// endTask forgets a task that reached a terminal state, records failures
// (lastTaskFailure, backoff) and lets the next pass replace it.
func (m *Master) endTask(t *Task, state, msg string, now time.Time) []store.Op {
	t.State = state
	m.instanceChanged(t, now)
	m.completed.add(endedRecord(t, state, msg, now))
	m.unindexTask(t)
	delete(m.orphans, t.ID)
	m.notifyAgent(t.AgentID)
	ops := []store.Op{store.Del(bucketTasks, t.ID)}
	if isJobTask(t) {
		return append(ops, m.jobTaskEnded(t, state, msg, now)...)
	}
	as := m.apps[t.AppID]
	if as == nil || as.tasks[t.ID] != t {
		return ops
	}
	delete(as.tasks, t.ID)
	m.dirty[t.AppID] = true
	switch state {
	case wire.TaskFailed, wire.TaskError, wire.TaskLost, wire.TaskFinished:
		if !t.Killing {
			as.rec.LastTaskFailure = &TaskFailure{AppID: t.AppID, Host: t.Host, Message: msg, State: state,
				TaskID: t.ID, Timestamp: ts(now), Version: t.Version, SlaveID: t.AgentID}
			ops = append(ops, appOps(as)...)
		}
	}
	failed := (!t.Killing && (state == wire.TaskFailed || state == wire.TaskFinished || state == wire.TaskError)) ||
		t.KillReason == killUnhealthy
	if failed {
		app := as.rec.App
		as.backoff.fail(now, app.BackoffSeconds, app.BackoffFactor, app.MaxLaunchDelaySeconds)
		m.log.Info("master: task failed; launch delayed", "app", app.ID, "task", t.ID, "state", state,
			"delay", as.backoff.delay.String())
	}
	return ops
}

func ipList(ip string) []map[string]string {
	if ip == "" {
		return []map[string]string{}
	}
	return []map[string]string{{"ipAddress": ip, "protocol": "IPv4"}}
}

func nonNil(p []int) []int {
	if p == nil {
		return []int{}
	}
	return p
}

// replacedWhileUnreachable reports whether t, reported again by its agent,
// was unreachable long enough to stop counting (inactiveAfterSeconds) and
// its app has its instances without it.
func (m *Master) replacedWhileUnreachable(t *Task, now time.Time) bool {
	as := m.apps[t.AppID]
	if as == nil || t.Killing || !unreachableInactive(as, t, now) {
		return false
	}
	others := 0
	for _, o := range as.tasks {
		if o != t && !terminal(o.State) && !o.Killing && !unreachableInactive(as, o, now) {
			others++
		}
	}
	return others >= as.rec.App.Instances
}
