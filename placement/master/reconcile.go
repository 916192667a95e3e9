package master

import (
	"sort"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/marathon"
	"github.com/berth-platform/berth/placement/store"
)

// queueInfo is what /v2/queue shows for an app still short of instances.
type queueInfo struct {
	count       int
	since       time.Time
	explanation *placement.Explanation
	lastAt      time.Time
}

// reconcile is one level-triggered pass: lost agents, then each app (all
// of them when full, else only those changed since), then deployments.
func (m *Master) reconcile(full bool) {
	m.mu.Lock()
	now := m.now()
	m.passes++
	var ops []store.Op
	var ids []string
	if full {
		ops = append(ops, m.checkAgents(now)...)
		for id := range m.apps {
			ids = append(ids, id)
		}
	} else {
		for id := range m.dirty {
			ids = append(ids, id)
		}
	}
	m.dirty = map[string]bool{}
	sort.Strings(ids)
	ops = append(ops, m.progressDeployments(now)...) // steps done since the last pass
	var offers *offerSet
	for _, id := range ids {
		if as := m.apps[id]; as != nil {
			if full {
				ops = append(ops, m.launchTimeouts(as, now)...)
			}
			ops = append(ops, m.reconcileApp(as, now, &offers)...)
		}
	}
	ops = append(ops, m.progressDeployments(now)...)
	var seq uint64
	if len(ops) > 0 {
		seq = m.w.enqueue(ops...)
	}
	m.mu.Unlock()
	if seq > 0 {
		if err := m.w.wait(seq); err != nil {
			m.log.Error("master: persisting reconcile pass", "err", err)
		}
	}
}

// restarting reports whether a running deployment is replacing the app's
// tasks right now.
func (m *Master) restarting(as *appState) bool {
	for id := range as.deployments {
		d := m.deployments[id]
		if d == nil || d.CurrentStep < 1 || d.CurrentStep > len(d.Steps) {
			continue
		}
		for _, a := range d.Steps[d.CurrentStep-1].Actions {
			if a.App == as.rec.App.ID && a.Action == actRestart {
				return true
			}
		}
	}
	return false
}

// reconcileApp decides kills and launches for one app.
func (m *Master) reconcileApp(as *appState, now time.Time, offers **offerSet) []store.Op {
	if m.waitingForStep(as) {
		return nil
	}
	app := as.rec.App
	n := app.Instances
	var live, old, cur []*Task
	for _, t := range as.tasks { // order is irrelevant: SelectKills orders, launch sorts
		if terminal(t.State) || t.Killing || unreachableInactive(as, t, now) {
			continue
		}
		live = append(live, t)
		if t.Generation != as.rec.Generation {
			old = append(old, t)
		} else {
			cur = append(cur, t)
		}
	}
	var ops []store.Op
	launch := 0
	if m.restarting(as) {
		ready := 0
		for _, t := range cur {
			if t.ready() {
				ready++
			}
		}
		step := Replace(ReplaceInput{Instances: n, MinimumHealthCapacity: app.UpgradeStrategy.MinimumHealthCapacity,
			MaximumOverCapacity: app.UpgradeStrategy.MaximumOverCapacity, Old: len(old), New: len(cur), NewReady: ready})
		ops = append(ops, m.killTasks(m.pickKills(app, old, step.KillOld), killRestart)...)
		if len(cur) > n {
			ops = append(ops, m.killTasks(m.pickKills(app, cur, len(cur)-n), killScale)...)
		}
		launch = step.StartNew
	} else if len(live) > n {
		ops = append(ops, m.killTasks(m.pickKills(app, live, len(live)-n), killScale)...)
	} else {
		launch = n - len(live)
	}
	if launch <= 0 {
		as.queue = queueInfo{}
		return ops
	}
	if as.queue.count == 0 {
		as.queue.since = now
	}
	as.queue.count = launch
	if now.Before(as.backoff.until) {
		return ops
	}
	if *offers == nil {
		*offers = m.buildOffers()
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
	return append(ops, m.launch(as, launch, live, *offers, now)...)
}

// waitsWhenUnreachable reports whether the app keeps tasks of a lost
// agent as TASK_UNREACHABLE instead of replacing them at once.
func waitsWhenUnreachable(as *appState) bool {
	u := as.rec.App.UnreachableStrategy
	return u.Disabled || u.InactiveAfterSeconds > 0 || u.ExpungeAfterSeconds > 0
}

// unreachableInactive reports whether an unreachable task stopped
// counting (inactiveAfterSeconds passed): a replacement is launched.
func unreachableInactive(as *appState, t *Task, now time.Time) bool {
	if t.State != wire.TaskUnreachable || as.rec.App.UnreachableStrategy.Disabled {
		return false
	}
	since, err := time.Parse(timeFormat, t.UnreachableSince)
	return err == nil && now.Sub(since) >= time.Duration(as.rec.App.UnreachableStrategy.InactiveAfterSeconds)*time.Second
}

// expungeUnreachable forgets unreachable tasks after expungeAfterSeconds
// (never with "disabled"); if their agent comes back with them they are
// unknown and killed.
func (m *Master) expungeUnreachable(as *appState, now time.Time) []store.Op {
	u := as.rec.App.UnreachableStrategy
	var ops []store.Op
	if u.Disabled {
		return nil
	}
	for _, t := range sortedTasks(filterTasks(as.tasks, func(t *Task) bool { return t.State == wire.TaskUnreachable })) {
		since, err := time.Parse(timeFormat, t.UnreachableSince)
		if err == nil && now.Sub(since) >= time.Duration(u.ExpungeAfterSeconds)*time.Second {
			ops = append(ops, m.endTask(t, wire.TaskLost, "unreachable for "+itoa(u.ExpungeAfterSeconds)+"s", now)...)
		}
	}
	return ops
}

// filterTasks returns the tasks keep accepts (nil when none, the common
// case, so the periodic checks cost no allocation).
func filterTasks(tasks map[string]*Task, keep func(*Task) bool) map[string]*Task {
	var out map[string]*Task
	for id, t := range tasks {
		if keep(t) {
			if out == nil {
				out = map[string]*Task{}
			}
			out[id] = t
		}
	}
	return out
}

// pickKills chooses k victims among tasks with the placement core's
// scale-down rule.
func (m *Master) pickKills(app *marathon.App, tasks []*Task, k int) []*Task {
	if k <= 0 {
		return nil
	}
	byID := make(map[string]*Task, len(tasks))
	pts := make([]placement.Task, 0, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
		pts = append(pts, m.placementTask(t))
	}
	cons, _ := placement.ParseConstraints(app.Constraints)
	victims := placement.SelectKills(pts, k, placement.KillSelection(app.KillSelection), cons)
	out := make([]*Task, 0, len(victims))
	for _, v := range victims {
		out = append(out, byID[v.ID])
	}
	return out
}

func (m *Master) placementTask(t *Task) placement.Task {
	pt := placement.Task{ID: t.ID, HostPorts: t.Ports, State: placement.TaskOther,
		Agent: placement.Agent{ID: t.AgentID, Hostname: t.Host}}
	if a := m.agents[t.AgentID]; a != nil {
		pt.Agent = agentOf(a)
	}
	switch t.State {
	case wire.TaskStaging:
		pt.State = placement.TaskStaging
	case wire.TaskStarting:
		pt.State = placement.TaskStarting
	case wire.TaskRunning:
		pt.State = placement.TaskRunning
	case wire.TaskUnreachable:
		pt.State = placement.TaskUnreachable
	}
	started := t.StartedAt
	if started == "" {
		started = t.StagedAt
	}
	pt.StartedAt, _ = time.Parse(timeFormat, started)
	return pt
}

// killTasks marks tasks to be killed; the agents see it in their desired
// set. A task its agent never reported on is simply dropped: the agent
// stops whatever is absent from its desired set, and a late status about
// it is answered with a kill order.
func (m *Master) killTasks(tasks []*Task, reason string) []store.Op {
	var ops []store.Op
	for _, t := range tasks {
		if t.Killing {
			continue
		}
		t.Killing, t.KillReason = true, reason
		if !t.Reported {
			ops = append(ops, m.endTask(t, wire.TaskKilled, "killed before its agent reported it", m.now())...)
			continue
		}
		ops = append(ops, taskOp(t))
		m.notifyAgent(t.AgentID)
	}
	return ops
}

// LaunchTimeout is how long a task may stay unreported by its (live)
// agent before it is considered lost, like Marathon's task_launch_timeout.
const LaunchTimeout = 5 * time.Minute

// launchTimeouts ends tasks whose agent never reported them in time.
func (m *Master) launchTimeouts(as *appState, now time.Time) []store.Op {
	var ops []store.Op
	for _, t := range sortedTasks(filterTasks(as.tasks, func(t *Task) bool { return !t.Reported })) {
		staged, err := time.Parse(timeFormat, t.StagedAt)
		if err != nil || now.Sub(staged) <= LaunchTimeout {
			continue
		}
		ops = append(ops, m.endTask(t, wire.TaskLost, "no status from the agent within "+LaunchTimeout.String(), now)...)
	}
	return ops
}

// progressDeployments advances every deployment whose current step is
// done, and finishes those past their last step.
func (m *Master) progressDeployments(now time.Time) []store.Op {
	ids := make([]string, 0, len(m.deployments))
	for id := range m.deployments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var ops []store.Op
	for _, id := range ids {
		d := m.deployments[id]
		moved := false
		for d.CurrentStep >= 1 && d.CurrentStep <= len(d.Steps) && m.stepDone(d.Steps[d.CurrentStep-1]) {
			m.events.publish(now, "deployment_step_success", map[string]any{
				"plan": planJSON(d), "currentStep": d.Steps[d.CurrentStep-1]})
			d.CurrentStep++
			moved = true
			ops = append(ops, m.beginStops(d)...)
			for _, a := range d.AffectedApps {
				m.dirty[a] = true
			}
			m.kick()
		}
		if d.CurrentStep > len(d.Steps) {
			m.removeDeployment(d)
			ops = append(ops, store.Del(bucketDeployments, id))
			m.events.publish(now, "deployment_success", map[string]any{"id": id, "plan": planJSON(d)})
			continue
		}
		if moved {
			ops = append(ops, deploymentOp(d))
		}
	}
	return ops
}

func (m *Master) stepDone(s Step) bool {
	for _, a := range s.Actions {
		if !m.actionDone(a) {
			return false
		}
	}
	return true
}

func (m *Master) actionDone(a Action) bool {
	if a.Action == actStop {
		for _, t := range m.orphans {
			if t.AppID == a.App {
				return false
			}
		}
		m.events.publish(m.now(), "app_terminated_event", map[string]any{"appId": a.App})
		return true
	}
	as := m.apps[a.App]
	if as == nil {
		return true
	}
	if a.Action == actStart {
		return true
	}
	live := 0
	for _, t := range as.tasks {
		if terminal(t.State) {
			continue
		}
		if t.Killing {
			return false
		}
		if !t.ready() || (a.Action == actRestart && t.Generation != as.rec.Generation) {
			return false
		}
		live++
	}
	return live == as.rec.App.Instances
}
