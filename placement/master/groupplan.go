package master

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"

	"github.com/berth-platform/berth/placement/marathon"
	"github.com/berth-platform/berth/placement/store"
)

// groupPlan is what one group request changes: new or updated app
// definitions, apps to stop, group records to write and to drop.
type groupPlan struct {
	apps  map[string]*marathon.App
	stops map[string]bool
	metas map[string]*groupMeta
	dels  map[string]bool
}

func newGroupPlan() *groupPlan {
	return &groupPlan{apps: map[string]*marathon.App{}, stops: map[string]bool{},
		metas: map[string]*groupMeta{}, dels: map[string]bool{}}
}

// appVersionMap is every current app's id → version; call with m.mu held.
func (m *Master) appVersionMap() map[string]string {
	out := make(map[string]string, len(m.apps))
	for id, as := range m.apps {
		out[id] = as.rec.App.Version
	}
	return out
}

// groupIndex is the current group tree; call with m.mu held.
func (m *Master) groupIndex() map[string]*groupNode {
	return buildGroups(m.appVersionMap(), m.groups)
}

// planUpdate adds g to p. replace (PUT, POST): listed apps and groups
// become the group's only ones; otherwise (PATCH) unlisted ones stay.
func (m *Master) planUpdate(g *marathon.Group, replace bool, idx map[string]*groupNode, p *groupPlan) {
	meta := &groupMeta{ID: g.ID, Dependencies: []string{}}
	if cur := m.groups[g.ID]; cur != nil {
		c := *cur
		meta = &c
	} else if n := idx[g.ID]; n != nil {
		meta.Dependencies = n.Dependencies
	}
	if g.Dependencies != nil {
		meta.Dependencies = g.Dependencies
	}
	if g.EnforceRole != nil {
		meta.EnforceRole = g.EnforceRole
	}
	p.metas[g.ID] = meta
	delete(p.dels, g.ID)
	cur := idx[g.ID]
	if g.Apps != nil {
		listed := map[string]bool{}
		for _, a := range g.Apps {
			listed[a.ID] = true
			p.apps[a.ID] = a
			delete(p.stops, a.ID)
		}
		if replace && cur != nil {
			for _, a := range cur.Apps {
				if !listed[a] {
					p.stops[a] = true
				}
			}
		}
	}
	if g.Groups != nil {
		listed := map[string]bool{}
		for _, s := range g.Groups {
			listed[s.ID] = true
		}
		if replace && cur != nil {
			for _, s := range cur.Groups {
				if !listed[s.ID] {
					planRemove(s, p)
				}
			}
		}
		for _, s := range g.Groups {
			m.planUpdate(s, replace, idx, p)
		}
	}
	if g.ScaleBy != nil && cur != nil {
		for _, id := range subtreeApps(cur) {
			app := m.apps[id].rec.App.Clone()
			app.Instances = int(math.Ceil(float64(app.Instances) * *g.ScaleBy))
			p.apps[id] = app
		}
	}
}

// planRemove stops every app below n and drops its group records.
func planRemove(n *groupNode, p *groupPlan) {
	for _, a := range subtreeApps(n) {
		p.stops[a] = true
		delete(p.apps, a)
	}
	for _, g := range subtreeGroups(n) {
		if g != "/" {
			p.dels[g] = true
			delete(p.metas, g)
		}
	}
}

// planChanges turns p into the deployment's changes, with every app's
// effective dependencies (its groups' included), after checking that no
// id is both an app and a group. Unchanged apps are left out.
func (m *Master) planChanges(p *groupPlan, idx map[string]*groupNode) ([]change, error) {
	final := m.appVersionMap()
	for id := range p.stops {
		delete(final, id)
	}
	for id := range p.apps {
		final[id] = ""
	}
	metas := map[string]*groupMeta{}
	for id, g := range m.groups {
		if !p.dels[id] {
			metas[id] = g
		}
	}
	for id, g := range p.metas {
		metas[id] = g
	}
	next := buildGroups(final, metas)
	var v marathon.Violations
	for id := range final {
		if _, clash := next[id]; clash {
			v.Add("/id", "An app and a group cannot both have the id "+id)
		}
	}
	if !v.Empty() {
		return nil, v.Err()
	}
	ids := make([]string, 0, len(p.apps)+len(p.stops))
	for id := range p.apps {
		ids = append(ids, id)
	}
	for id := range p.stops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	current := m.appVersionMap()
	var changes []change
	for _, id := range ids {
		if p.stops[id] {
			if as := m.apps[id]; as != nil {
				deps := effectiveDeps(id, as.rec.App.Dependencies, idx, current)
				changes = append(changes, change{id: id, action: actStop, deps: deps})
			}
			continue
		}
		app := p.apps[id]
		c := change{id: id, app: app, action: actStart, deps: effectiveDeps(id, app.Dependencies, next, final)}
		if as := m.apps[id]; as != nil {
			if unchanged(as.rec.App, app) {
				continue
			}
			c.action = classify(as.rec.App, app)
		}
		changes = append(changes, c)
	}
	return changes, nil
}

// unchanged reports whether upd is cur again (automatic servicePorts
// taken as the assigned ones; versions ignored).
func unchanged(cur, upd *marathon.App) bool {
	a, b := cur.Clone(), upd.Clone()
	as, bs := a.ServicePortSlots(), b.ServicePortSlots()
	if len(as) == len(bs) {
		for i := range bs {
			if *bs[i] == 0 {
				*bs[i] = *as[i]
			}
		}
		b.SyncPorts()
	}
	a.Version, a.VersionInfo, b.Version, b.VersionInfo = "", nil, "", nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// applyGroup deploys p: the apps' changes as one deployment (or an empty
// one when only group records change), the group records and a version
// snapshot of the group addressed. Call with m.mu held; wait for seq.
func (m *Master) applyGroup(groupID string, p *groupPlan, idx map[string]*groupNode, force bool) (*Deployment, uint64, error) {
	changes, err := m.planChanges(p, idx)
	var d *Deployment
	if err == nil {
		d, _, err = m.applyChanges(changes, force)
	}
	if err != nil {
		m.events.publish(m.now(), "group_change_failed", map[string]any{"groupId": groupID, "reason": err.Error()})
		return nil, 0, err
	}
	d.OriginalGroups = m.groupRecords(p.metas, p.dels)
	ops := []store.Op{deploymentOp(d)}
	for id, g := range p.metas {
		g.Version = d.Version
		m.groups[id] = g
		b, _ := json.Marshal(g)
		ops = append(ops, store.Put(bucketGroups, id, b))
	}
	for id := range p.dels {
		delete(m.groups, id)
		ops = append(ops, store.Del(bucketGroups, id))
	}
	ops = append(ops, m.snapshotGroup(groupID, d.Version)...)
	m.events.publish(m.now(), "group_change_success", map[string]any{"groupId": groupID, "version": d.Version})
	return d, m.w.enqueue(ops...), nil
}

// groupDefinition is a stored group version: definitions only.
type groupDefinition struct {
	ID           string             `json:"id"`
	Apps         []*marathon.App    `json:"apps"`
	Groups       []*groupDefinition `json:"groups"`
	Pods         []any              `json:"pods"`
	Dependencies []string           `json:"dependencies"`
	Version      string             `json:"version"`
}

func (m *Master) definition(n *groupNode) *groupDefinition {
	g := &groupDefinition{ID: n.ID, Apps: []*marathon.App{}, Groups: []*groupDefinition{}, Pods: []any{},
		Dependencies: n.Dependencies, Version: n.Version}
	for _, a := range n.Apps {
		g.Apps = append(g.Apps, m.apps[a].rec.App)
	}
	for _, s := range n.Groups {
		g.Groups = append(g.Groups, m.definition(s))
	}
	return g
}

// snapshotGroup stores the group's definition under version (kept for
// the last MaxVersions versions); a deleted group keeps none.
func (m *Master) snapshotGroup(id, version string) []store.Op {
	n := m.groupIndex()[id]
	if n == nil {
		var ops []store.Op
		for _, v := range m.groupVersions[id] {
			ops = append(ops, store.Del(bucketGroupVersions, id+" "+v))
		}
		delete(m.groupVersions, id)
		return ops
	}
	b, _ := json.Marshal(m.definition(n))
	ops := []store.Op{store.Put(bucketGroupVersions, id+" "+version, b)}
	vs := append(m.groupVersions[id], version)
	for len(vs) > m.cfg.MaxVersions {
		ops = append(ops, store.Del(bucketGroupVersions, id+" "+vs[0]))
		vs = vs[1:]
	}
	m.groupVersions[id] = vs
	return ops
}

func groupNotFound(id string) *apiError {
	return errMessage(http.StatusNotFound, "Group '"+id+"' does not exist")
}

// dryRunSteps are the steps applyGroup would deploy p in, changing
// nothing (PUT /v2/groups/{id}?dryRun=true). Call with m.mu held.
func (m *Master) dryRunSteps(p *groupPlan, idx map[string]*groupNode) ([]Step, error) {
	changes, err := m.planChanges(p, idx)
	if err != nil {
		return nil, err
	}
	level, err := dependencyLevels(changes)
	if err != nil {
		return nil, err
	}
	stops, starts, scales := map[int][]Action{}, map[int][]Action{}, map[int][]Action{}
	for _, c := range changes {
		l := level[c.id]
		switch {
		case c.action == actStop:
			stops[l] = append(stops[l], Action{Action: actStop, App: c.id})
		case m.apps[c.id] == nil:
			starts[l] = append(starts[l], Action{Action: actStart, App: c.id})
			scales[l] = append(scales[l], Action{Action: actScale, App: c.id})
		default:
			starts[l] = append(starts[l], Action{Action: c.action, App: c.id})
		}
	}
	steps := planSteps(stops, starts, scales, len(changes))
	if steps == nil {
		steps = []Step{}
	}
	return steps, nil
}

// groupRecords copies the current records of the given group ids (nil
// for a group without a record); call with m.mu held.
func (m *Master) groupRecords(ids map[string]*groupMeta, more map[string]bool) map[string]*groupMeta {
	out := make(map[string]*groupMeta, len(ids)+len(more))
	add := func(id string) {
		out[id] = nil
		if g := m.groups[id]; g != nil {
			c := *g
			out[id] = &c
		}
	}
	for id := range ids {
		add(id)
	}
	for id := range more {
		add(id)
	}
	return out
}

// restoreGroups puts the group records back as orig has them (a nil
// record is dropped); call with m.mu held.
func (m *Master) restoreGroups(orig map[string]*groupMeta) []store.Op {
	var ops []store.Op
	for id, g := range orig {
		if g == nil {
			delete(m.groups, id)
			ops = append(ops, store.Del(bucketGroups, id))
			continue
		}
		c := *g
		m.groups[id] = &c
		b, _ := json.Marshal(&c)
		ops = append(ops, store.Put(bucketGroups, id, b))
	}
	return ops
}
