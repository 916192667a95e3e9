package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// defaultKillGrace is the SIGTERM→SIGKILL gap when the master sends none.
const defaultKillGrace = 3 * time.Second

// reconcileLoop runs one pass per trigger, ticker tick or start.
func (a *Agent) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.ResyncInterval)
	defer t.Stop()
	fresh := true
	for {
		a.pass(ctx, fresh)
		select {
		case <-ctx.Done():
			return
		case <-a.trigger:
			fresh = false
		case <-t.C:
			fresh = true
		}
	}
}

// pass lists what the runtimes observe, adopts what it does not know,
// applies Diff's actions (once the master has sent a desired set), and
// journals the status updates that changed. Unless fresh, it reuses the
// last list when nothing happened since (no action finished, no runtime
// event, younger than the resync interval): a new desired set then costs
// no engine round trip.
func (a *Agent) pass(ctx context.Context, fresh bool) {
	a.mu.Lock()
	a.passes++
	id, gen, events := a.id, a.gen, a.events
	reuse := !fresh && a.listed && gen == a.listGen && events == a.listEvents &&
		a.cfg.Now().Sub(a.listAt) < a.cfg.ResyncInterval
	a.mu.Unlock()
	if id == "" {
		return // not registered yet: no id to find our containers by
	}
	if reuse {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.gen == gen && a.events == events {
			a.decideLocked(ctx)
			return
		}
		a.poke() // something happened meanwhile: list afresh
		return
	}
	obs, err := a.listAll(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("listing tasks failed; skipping this pass", "err", err)
		}
		a.mu.Lock()
		a.listed = false // blind: decide nothing until a list succeeds
		a.mu.Unlock()
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != gen {
		// An action finished while we listed: the list may predate it.
		a.poke()
		return
	}
	obs = a.dropForeignLocked(obs)
	a.observed = make(map[string]Observed, len(obs))
	for _, o := range obs {
		a.observed[o.TaskID] = o
		if a.tasks[o.TaskID] == nil {
			a.adoptLocked(o)
		}
	}
	a.listed, a.listGen, a.listEvents, a.listAt = true, gen, events, a.cfg.Now()
	a.decideLocked(ctx)
}

// decideLocked derives statuses, applies Diff and reports.
func (a *Agent) decideLocked(ctx context.Context) {
	a.updateStatusesLocked() // Diff must see what ended (Done) in this list
	if a.desired != nil {
		for _, act := range Diff(a.diffInputLocked()) {
			a.startActionLocked(ctx, act)
		}
	}
	a.updateStatusesLocked()
	a.syncHealthLocked(ctx)
	a.publishTasksLocked()
}

func (a *Agent) listAll(ctx context.Context, agentID string) ([]Observed, error) {
	var all []Observed
	for name, rt := range a.cfg.Runtimes {
		obs, err := rt.List(ctx, agentID)
		if err != nil {
			return nil, fmt.Errorf("list %s tasks: %w", name, err)
		}
		all = append(all, obs...)
	}
	return all, nil
}

func (a *Agent) adoptLocked(o Observed) {
	r := &taskRecord{TaskID: o.TaskID, AppID: o.AppID, Runtime: o.Runtime, State: wire.TaskRunning, ContainerID: o.RuntimeID, ClusterID: o.ClusterID}
	if a.desired != nil {
		for _, t := range a.desired.Tasks {
			if t.TaskID == o.TaskID {
				spec := t
				r.Spec = &spec
			}
		}
	}
	a.tasks[o.TaskID] = r
	a.saveLocked(r)
	a.log.Info("adopted a task this agent launched earlier", "task", o.TaskID, "runtime", o.Runtime, "id", o.RuntimeID, "running", o.Running)
}

func (a *Agent) diffInputLocked() DiffInput {
	in := DiffInput{
		Desired: a.desired.Tasks, Kill: a.desired.Kill,
		Busy: map[string]bool{}, Done: map[string]bool{}, Known: a.known, Specs: map[string]wire.TaskSpec{},
		OrphanDeadline: a.orphanDeadline, RetainExited: a.cfg.RetainExited, Now: a.cfg.Now(),
	}
	for _, o := range a.observed {
		in.Observed = append(in.Observed, o)
	}
	for id := range a.busy {
		in.Busy[id] = true
	}
	for id, r := range a.tasks {
		if r.Done {
			in.Done[id] = true
		}
		if r.Spec != nil {
			in.Specs[id] = *r.Spec
		}
	}
	return in
}

// startActionLocked marks the task busy and runs the action in a goroutine
// the agent waits for on shutdown.
func (a *Agent) startActionLocked(ctx context.Context, act Action) {
	a.busy[act.TaskID] = act.Kind
	a.log.Info("action", "kind", act.Kind, "task", act.TaskID, "reason", act.Reason)
	var f func(context.Context, Action)
	switch act.Kind {
	case ActLaunch:
		a.prepareLaunchLocked(act)
		f = a.launch
	case ActKill:
		r := a.recordLocked(act.TaskID, act.Observed)
		r.KillRequested = true
		a.saveLocked(r)
		f = a.kill
	case ActRemove:
		f = a.remove
	}
	a.actions.Add(1)
	go func() {
		defer a.actions.Done()
		f(ctx, act)
	}()
}

// finishActionLocked clears the busy mark and invalidates lists in flight.
func (a *Agent) finishActionLocked(taskID string) {
	delete(a.busy, taskID)
	a.gen++
	a.poke()
}

func (a *Agent) recordLocked(taskID string, o *Observed) *taskRecord {
	r := a.tasks[taskID]
	if r == nil {
		r = &taskRecord{TaskID: taskID, State: wire.TaskRunning}
		if o != nil {
			r.AppID, r.Runtime, r.ContainerID = o.AppID, o.Runtime, o.RuntimeID
		}
		a.tasks[taskID] = r
	}
	return r
}

func (a *Agent) saveLocked(r *taskRecord) {
	if err := a.store.save(r); err != nil {
		a.log.Error("cannot persist a task record", "task", r.TaskID, "err", err)
	}
}

func runtimeFor(spec wire.TaskSpec) string {
	if spec.Container != nil {
		return RuntimeDocker
	}
	return RuntimeProcess
}

func (a *Agent) prepareLaunchLocked(act Action) {
	spec := *act.Spec
	r := &taskRecord{TaskID: spec.TaskID, AppID: spec.AppID, Runtime: runtimeFor(spec), Spec: &spec, State: wire.TaskStaging, ClusterID: a.clusterID}
	if old := a.tasks[spec.TaskID]; old != nil {
		r.Reported = old.Reported
	}
	a.tasks[spec.TaskID] = r
	a.saveLocked(r)
	a.reportLocked(r)
}

func (a *Agent) launch(ctx context.Context, act Action) {
	spec := *act.Spec
	a.mu.Lock()
	r := a.tasks[spec.TaskID]
	name := r.Runtime
	rt := a.cfg.Runtimes[name]
	id, cluster := a.id, r.ClusterID
	r.State = wire.TaskStarting
	a.saveLocked(r)
	a.reportLocked(r)
	a.mu.Unlock()

	var o Observed
	err := launchError(spec, name, rt)
	if err == nil {
		o, err = rt.Launch(ctx, Launch{Spec: spec, AgentID: id, ClusterID: cluster, Host: a.cfg.Hostname})
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.finishActionLocked(spec.TaskID)
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: not a failure. The next agent run adopts,
		// removes (created, never started) or relaunches it.
		r.State = wire.TaskStaging
		a.saveLocked(r)
		return
	case err != nil:
		a.log.Warn("launch failed", "task", spec.TaskID, "err", err)
		r.State, r.Message, r.Done = wire.TaskFailed, err.Error(), true
	default:
		r.State, r.ContainerID = wire.TaskRunning, o.RuntimeID
		a.observed[spec.TaskID] = o
	}
	a.saveLocked(r)
	a.reportLocked(r)
}

func launchError(spec wire.TaskSpec, name string, rt Runtime) error {
	if spec.Container != nil && spec.Container.Type != "" && !strings.EqualFold(spec.Container.Type, "DOCKER") {
		return fmt.Errorf("container type %q is not supported by this agent (only DOCKER)", spec.Container.Type)
	}
	if rt == nil {
		return fmt.Errorf("the %s containerizer is not enabled on this agent (--containerizers)", name)
	}
	return nil
}

// kill drains the task, then stops it: SIGTERM, SIGKILL after the grace
// period. Draining never blocks the kill for long: an unreachable Consul
// is logged and skipped.
func (a *Agent) kill(ctx context.Context, act Action) {
	a.mu.Lock()
	r := a.tasks[act.TaskID]
	a.reportLocked(r)
	rt := a.cfg.Runtimes[act.Observed.Runtime]
	a.mu.Unlock()

	var drain, grace time.Duration = 0, defaultKillGrace
	if act.Spec != nil {
		drain = seconds(act.Spec.DrainSeconds)
		if g := seconds(act.Spec.KillGracePeriodSeconds); g > 0 {
			grace = g
		}
	}
	a.drain(ctx, act.TaskID, drain)
	if ctx.Err() != nil {
		// The agent is shutting down: leave the task running; the next
		// agent run sees it undesired and kills it then.
		a.mu.Lock()
		a.finishActionLocked(act.TaskID)
		a.mu.Unlock()
		return
	}
	var err error
	if rt == nil {
		err = fmt.Errorf("the %s containerizer is not enabled", act.Observed.Runtime)
	} else {
		err = rt.Stop(ctx, *act.Observed, grace)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.finishActionLocked(act.TaskID)
	if err != nil && ctx.Err() == nil {
		a.log.Error("kill failed; retrying on the next pass", "task", act.TaskID, "err", err)
	}
}

func (a *Agent) drain(ctx context.Context, taskID string, wait time.Duration) {
	if a.cfg.Drainer == nil {
		return
	}
	n, err := a.cfg.Drainer.Drain(ctx, taskID)
	switch {
	case err != nil:
		a.log.Warn("could not take the task out of the load balancer; stopping it anyway", "task", taskID, "err", err)
	case n == 0:
		a.log.Info("no load-balanced service found for the task; stopping it without a drain wait", "task", taskID)
	case wait > 0:
		a.log.Info("task in maintenance; waiting for the drain period", "task", taskID, "services", n, "drain", wait.String())
		sleepCtx(ctx, wait)
	}
}

func (a *Agent) remove(ctx context.Context, act Action) {
	a.mu.Lock()
	rt := a.cfg.Runtimes[act.Observed.Runtime]
	a.mu.Unlock()
	var err error
	if rt != nil {
		err = rt.Remove(ctx, *act.Observed)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.finishActionLocked(act.TaskID)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("remove failed; retrying on the next pass", "task", act.TaskID, "err", err)
		}
		return
	}
	delete(a.observed, act.TaskID)
	if r := a.tasks[act.TaskID]; r != nil && a.isDesiredLocked(act.TaskID) && !act.Observed.Started {
		r.State, r.Done = wire.TaskStaging, false // interrupted launch: relaunch
		a.saveLocked(r)
	}
}

func (a *Agent) isDesiredLocked(taskID string) bool {
	if a.desired == nil || contains(a.desired.Kill, taskID) {
		return false
	}
	for _, t := range a.desired.Tasks {
		if t.TaskID == taskID {
			return true
		}
	}
	return false
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// sortedTaskIDs returns the record ids in order, for stable output.
func (a *Agent) sortedTaskIDsLocked() []string {
	ids := make([]string, 0, len(a.tasks))
	for id := range a.tasks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
