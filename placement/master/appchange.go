package master

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/marathon"
	"github.com/berth-platform/berth/placement/store"
	"github.com/google/uuid"
)

// change is one app's part of a deployment.
type change struct {
	id     string
	app    *marathon.App // the new definition; nil for actStop
	action string        // actStart (create), actScale, actRestart, actStop
	// restartOnly marks POST …/restart: a new generation without a config change.
	restartOnly bool
	// keepAction stops applyChanges from re-deciding scale versus restart
	// once servicePorts are assigned (restart and rollback decide it).
	keepAction bool
	// deps, when set, are the app's effective dependencies (its own plus
	// its groups', as app ids); nil: the app's own dependencies.
	deps []string
}

// classify tells a scale-only update from one that needs new tasks.
func classify(old, upd *marathon.App) string {
	a, b := *old, *upd
	a.Instances, a.Version, a.VersionInfo = 0, "", nil
	b.Instances, b.Version, b.VersionInfo = 0, "", nil
	ja, _ := json.Marshal(&a)
	jb, _ := json.Marshal(&b)
	if string(ja) == string(jb) {
		return actScale
	}
	return actRestart
}

// lockedBy returns the running deployments touching any of ids.
func (m *Master) lockedBy(ids []string) []string {
	set := map[string]bool{}
	for _, id := range ids {
		for d := range m.appLocks[id] {
			set[d] = true
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func lockedError(ids []string) *apiError {
	deps := make([]map[string]string, len(ids))
	for i, id := range ids {
		deps[i] = map[string]string{"id": id}
	}
	return &apiError{status: http.StatusConflict, body: map[string]any{
		"message": "App is locked by one or more deployments. Override with the option '?force=true'. " +
			"View details at '/v2/deployments/" + ids[0] + "'.",
		"deployments": deps,
	}}
}

// applyChanges turns changes into one deployment: lock check (force
// cancels the conflicting deployments), servicePorts, version stamps,
// state, store operations and events. Call with m.mu held; wait for the
// returned sequence with m.w.wait after unlocking.
func (m *Master) applyChanges(changes []change, force bool) (*Deployment, uint64, error) {
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = c.id
	}
	level, err := dependencyLevels(changes)
	if err != nil {
		return nil, 0, err
	}
	if err := m.checkAppIDs(changes); err != nil {
		return nil, 0, err
	}
	var ops []store.Op
	locked := m.lockedBy(ids)
	if len(locked) > 0 && !force {
		return nil, 0, lockedError(locked)
	}
	// Nothing has changed yet; from here on nothing may fail.
	if err := m.assignServicePorts(changes); err != nil {
		return nil, 0, err
	}
	for _, d := range locked {
		ops = append(ops, m.cancelDeployment(d, "canceled by a forced deployment")...)
	}
	version := m.nextVersion()
	d := &Deployment{ID: uuid.NewString(), Version: version, CurrentStep: 1,
		Original: map[string]*marathon.App{}, OriginalGeneration: map[string]string{}}
	stops, starts, scales := map[int][]Action{}, map[int][]Action{}, map[int][]Action{}
	top := 0
	for _, c := range changes {
		if c.action == actStop {
			top = max(top, level[c.id])
		}
	}
	for _, c := range changes {
		as := m.apps[c.id]
		if as != nil {
			d.Original[c.id] = as.rec.App
			d.OriginalGeneration[c.id] = as.rec.Generation
		} else {
			d.Original[c.id] = nil
		}
		d.AffectedApps = append(d.AffectedApps, c.id)
		action := c.action
		if as != nil && c.app != nil && !c.keepAction && !c.restartOnly && action != actStop {
			action = classify(as.rec.App, c.app) // automatic servicePorts are now filled in
		}
		if c.action == actStop {
			// Dependents stop first: only the first stop step kills at once.
			stops[level[c.id]] = append(stops[level[c.id]], Action{Action: actStop, App: c.id})
			ops = append(ops, m.stopApp(as, level[c.id] < top)...)
			continue
		}
		if as == nil {
			action = actStart
			scales[level[c.id]] = append(scales[level[c.id]], Action{Action: actScale, App: c.id})
		}
		starts[level[c.id]] = append(starts[level[c.id]], Action{Action: action, App: c.id})
		ops = append(ops, m.storeApp(as, c, action, version, d.ID)...)
	}
	d.Steps = planSteps(stops, starts, scales, len(changes))
	if len(d.Steps) == 0 {
		d.Steps = []Step{{Actions: []Action{}}}
	}
	m.addDeployment(d)
	ops = append(ops, deploymentOp(d))
	m.events.publish(m.now(), "deployment_info", map[string]any{
		"plan": planJSON(d), "currentStep": d.Steps[0]})
	return d, m.w.enqueue(ops...), nil
}

// planSteps orders a deployment: stops first, dependents before what they
// depend on (highest level first), then each dependency level's
// start/update actions, then each level's scale-up of new apps (so an app
// is launched only once the apps it depends on run).
func planSteps(stops, starts, scales map[int][]Action, n int) []Step {
	var steps []Step
	for l := n; l >= 0; l-- {
		if acts := stops[l]; len(acts) > 0 {
			steps = append(steps, Step{Actions: acts})
		}
	}
	for _, byLevel := range []map[int][]Action{starts, scales} {
		for l := 0; l <= n; l++ {
			if acts := byLevel[l]; len(acts) > 0 {
				steps = append(steps, Step{Actions: acts})
			}
		}
	}
	return steps
}

// dependencyLevels gives every changed app its depth in the dependency
// graph among the apps of this deployment (starts and updates among
// themselves, stops among themselves); a cycle is a 422.
func dependencyLevels(changes []change) (map[string]int, error) {
	starts, stops := map[string][]string{}, map[string][]string{}
	for _, c := range changes {
		deps := c.deps
		if deps == nil && c.app != nil {
			deps = c.app.Dependencies
		}
		if c.action == actStop {
			stops[c.id] = deps
		} else {
			starts[c.id] = deps
		}
	}
	level := map[string]int{}
	for _, g := range []map[string][]string{starts, stops} {
		l, err := DependencyOrder(g)
		if err != nil {
			var v marathon.Violations
			v.Add("/dependencies", err.Error())
			return nil, v.Err()
		}
		for id, n := range l {
			level[id] = n
		}
	}
	return level, nil
}

// ErrCyclicDependencies is DependencyOrder's answer to a cycle.
var ErrCyclicDependencies = errors.New("Dependency graph has cyclic dependencies.")

// DependencyOrder gives every node of deps (id → the ids it depends on)
// its level: 0 without dependencies among the nodes, else one more than
// its deepest dependency. Dependencies outside the graph (apps already
// running, or unknown) and self-references are ignored. Starting level by
// level, a node starts only after everything it depends on; stopping
// from the highest level down, it stops before them.
func DependencyOrder(deps map[string][]string) (map[string]int, error) {
	level := make(map[string]int, len(deps))
	visiting := map[string]bool{}
	var visit func(id string) (int, bool)
	visit = func(id string) (int, bool) {
		if l, ok := level[id]; ok {
			return l, true
		}
		if visiting[id] {
			return 0, false
		}
		visiting[id] = true
		l := 0
		for _, d := range deps[id] {
			if _, in := deps[d]; !in || d == id {
				continue
			}
			dl, ok := visit(d)
			if !ok {
				return 0, false
			}
			l = max(l, dl+1)
		}
		visiting[id] = false
		level[id] = l
		return l, true
	}
	ids := make([]string, 0, len(deps))
	for id := range deps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := visit(id); !ok {
			return nil, ErrCyclicDependencies
		}
	}
	return level, nil
}

// waitingForStep reports whether a deployment has not yet reached the
// step that launches or replaces this app's tasks.
func (m *Master) waitingForStep(as *appState) bool {
	for id := range as.deployments {
		d := m.deployments[id]
		if d == nil {
			continue
		}
		last := 0
		for i, s := range d.Steps {
			for _, a := range s.Actions {
				if a.App == as.rec.App.ID {
					last = i + 1
				}
			}
		}
		if last > d.CurrentStep {
			return true
		}
	}
	return false
}

// assignServicePorts fills every automatic servicePort; on error no
// allocation changes.
func (m *Master) assignServicePorts(changes []change) error {
	type prior struct {
		id    string
		ports []int
	}
	var done []prior
	undo := func() {
		for _, p := range done {
			if len(p.ports) == 0 {
				m.servicePorts.Release(p.id)
			} else if _, err := m.servicePorts.Allocate(p.id, p.ports); err != nil {
				m.log.Error("master: restoring servicePorts", "app", p.id, "err", err)
			}
		}
	}
	for _, c := range changes {
		if c.app == nil {
			continue
		}
		slots := c.app.ServicePortSlots()
		requested := make([]int, len(slots))
		for i, s := range slots {
			requested[i] = *s
		}
		prev := m.servicePorts.Ports(c.id)
		got, err := m.servicePorts.Allocate(c.id, requested)
		if err != nil {
			undo()
			path := "/portDefinitions"
			if c.app.NetworkMode() != marathon.NetworkHost {
				path = "/container/portMappings"
			}
			v := marathon.Violations{}
			v.Add(path, err.Error())
			return v.Err()
		}
		done = append(done, prior{c.id, prev})
		for i, s := range slots {
			*s = got[i]
		}
		c.app.SyncPorts()
	}
	return nil
}

// storeApp makes c.app the current definition of its app.
func (m *Master) storeApp(as *appState, c change, action, version, deployID string) []store.Op {
	app := c.app
	app.Version = version
	gen := version
	info := &marathon.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
	if as != nil && (action == actScale || c.restartOnly) {
		if as.rec.App.VersionInfo != nil {
			info.LastConfigChangeAt = as.rec.App.VersionInfo.LastConfigChangeAt
		}
		if action == actScale {
			gen = as.rec.Generation
		}
	}
	app.VersionInfo = info
	if as == nil {
		as = newAppState(appRecord{})
		m.apps[app.ID] = as
	}
	as.rec.App, as.rec.Generation = app, gen
	as.view = nil
	as.deployments[deployID] = true
	as.backoff = backoff{}
	as.versions = append(as.versions, version)
	m.dirty[app.ID] = true
	ops := append(appOps(as), versionOp(app))
	for len(as.versions) > m.cfg.MaxVersions {
		ops = append(ops, store.Del(bucketVersions, app.ID+" "+as.versions[0]))
		as.versions = as.versions[1:]
	}
	return ops
}

// stopApp removes an app: it disappears from the API at once, its tasks
// become orphans that are killed, and the StopApplication action completes
// when the last one is gone. Deferred (a later stop step of a deployment:
// its dependents stop first), the orphans keep running until
// beginStops reaches that step.
func (m *Master) stopApp(as *appState, deferred bool) []store.Op {
	id := as.rec.App.ID
	var ops []store.Op
	for d := range as.deployments {
		ops = append(ops, m.cancelDeployment(d, "app deleted")...)
	}
	delete(m.apps, id)
	m.servicePorts.Release(id)
	ops = append(ops, store.Del(bucketApps, id))
	for _, v := range as.versions {
		ops = append(ops, store.Del(bucketVersions, id+" "+v))
	}
	for _, t := range sortedTasks(as.tasks) {
		t.Killing, t.KillReason = !deferred, killDelete
		if !t.Reported {
			ops = append(ops, m.endTask(t, wire.TaskKilled, "app deleted before its agent reported the task", m.now())...)
			continue
		}
		m.orphans[t.ID] = t
		ops = append(ops, taskOp(t))
		m.notifyAgent(t.AgentID)
	}
	return ops
}

// cancelDeployment drops a running deployment without rollback.
func (m *Master) cancelDeployment(id, reason string) []store.Op {
	d := m.deployments[id]
	if d == nil {
		return nil
	}
	m.removeDeployment(d)
	for _, a := range d.AffectedApps {
		m.dirty[a] = true
	}
	m.events.publish(m.now(), "deployment_failed", map[string]any{"id": id, "plan": planJSON(d), "reason": reason})
	ops := []store.Op{store.Del(bucketDeployments, id)}
	// Stops deferred to a later step of this deployment happen now: the
	// apps are gone, their tasks must not outlive the plan.
	for i := d.CurrentStep; i < len(d.Steps); i++ {
		ops = append(ops, m.beginStops(&Deployment{Steps: d.Steps, CurrentStep: i + 1})...)
	}
	return ops
}

func (m *Master) addDeployment(d *Deployment) {
	m.deployments[d.ID] = d
	for _, a := range d.AffectedApps {
		if m.appLocks[a] == nil {
			m.appLocks[a] = map[string]bool{}
		}
		m.appLocks[a][d.ID] = true
	}
}

func (m *Master) removeDeployment(d *Deployment) {
	delete(m.deployments, d.ID)
	for _, a := range d.AffectedApps {
		delete(m.appLocks[a], d.ID)
		if len(m.appLocks[a]) == 0 {
			delete(m.appLocks, a)
		}
		if as := m.apps[a]; as != nil {
			delete(as.deployments, d.ID)
		}
	}
}

// deploymentResult is the body of every deployable endpoint.
// commitDeployment waits until the writes behind d (up to seq) are durable,
// wakes the scheduler and sets the Marathon-Deployment-Id header. It answers
// with the error and returns false when the change or its write failed.
// Call it with m.mu released.
func (m *Master) commitDeployment(w http.ResponseWriter, d *Deployment, seq uint64, err error) bool {
	if err == nil {
		err = m.w.wait(seq)
	}
	if err != nil {
		writeErr(w, err)
		return false
	}
	m.kick()
	w.Header().Set("Marathon-Deployment-Id", d.ID)
	return true
}

func deploymentResult(d *Deployment) map[string]string {
	return map[string]string{"deploymentId": d.ID, "version": d.Version}
}

func planJSON(d *Deployment) map[string]any {
	return map[string]any{"id": d.ID, "steps": d.Steps, "version": d.Version}
}

// deploymentJSON is GET /v2/deployments' shape.
func deploymentJSON(d *Deployment) map[string]any {
	var current []map[string]any
	if d.CurrentStep >= 1 && d.CurrentStep <= len(d.Steps) {
		for _, a := range d.Steps[d.CurrentStep-1].Actions {
			current = append(current, map[string]any{"action": a.Action, "app": a.App,
				"readinessCheckResults": []any{}})
		}
	}
	if current == nil {
		current = []map[string]any{}
	}
	return map[string]any{
		"id": d.ID, "version": d.Version, "affectedApps": d.AffectedApps, "affectedPods": []string{},
		"steps": d.Steps, "currentActions": current, "currentStep": d.CurrentStep,
		"totalSteps": len(d.Steps),
	}
}

// stopDeferred reports whether a deployment stops the app in a step after
// its current one (its orphans wait for beginStops).
func (m *Master) stopDeferred(appID string) bool {
	for _, d := range m.deployments {
		for i := max(d.CurrentStep, 0); i < len(d.Steps); i++ {
			for _, a := range d.Steps[i].Actions {
				if a.Action == actStop && a.App == appID {
					return true
				}
			}
		}
	}
	return false
}

// beginStops kills the orphans of the stop actions of d's current step
// that were deferred until it (stopApp).
func (m *Master) beginStops(d *Deployment) []store.Op {
	if d.CurrentStep < 1 || d.CurrentStep > len(d.Steps) {
		return nil
	}
	var ops []store.Op
	for _, a := range d.Steps[d.CurrentStep-1].Actions {
		if a.Action != actStop {
			continue
		}
		for _, t := range sortedTasks(m.orphans) {
			if t.AppID == a.App && !t.Killing {
				t.Killing = true
				ops = append(ops, taskOp(t))
				m.notifyAgent(t.AgentID)
			}
		}
	}
	return ops
}

// checkAppIDs refuses a new app whose id is a stored group or lies below
// another app (/shop/web/x under the app /shop/web). Groups known only
// from deeper app ids are checked by the group endpoints.
func (m *Master) checkAppIDs(changes []change) error {
	for _, c := range changes {
		if c.app == nil || m.apps[c.id] != nil {
			continue
		}
		var v marathon.Violations
		if m.groups[c.id] != nil {
			v.Add("/id", "An app and a group cannot both have the id "+c.id)
		}
		for p := marathon.ParentOf(c.id); p != "/"; p = marathon.ParentOf(p) {
			if m.apps[p] != nil {
				v.Add("/id", "The parent "+p+" of "+c.id+" is an app, not a group")
				break
			}
		}
		if !v.Empty() {
			return v.Err()
		}
	}
	return nil
}
