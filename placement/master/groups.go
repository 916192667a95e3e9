package master

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/placement/marathon"
)

// groupEmbed is what GET /v2/groups embeds (Marathon's group.* values).
type groupEmbed struct {
	groups, apps bool
	app          embedOpts
	counts, deps bool
}

// parseGroupEmbed reads embed=group.…; none given means groups and apps.
func parseGroupEmbed(r *http.Request) groupEmbed {
	vals := r.URL.Query()["embed"]
	if len(vals) == 0 {
		return groupEmbed{groups: true, apps: true}
	}
	var e groupEmbed
	for _, v := range vals {
		switch v {
		case "group.groups":
			e.groups = true
		case "group.apps":
			e.apps = true
		case "group.apps.tasks":
			e.apps, e.app.tasks = true, true
		case "group.apps.counts":
			e.apps, e.counts = true, true
		case "group.apps.deployments":
			e.apps, e.deps = true, true
		case "group.apps.lastTaskFailure":
			e.apps, e.app.lastTaskFailure = true, true
		case "group.apps.taskStats":
			e.apps, e.app.taskStats = true, true
		case "group.apps.readiness":
			e.apps, e.app.readiness = true, true
		}
	}
	return e
}

// handleGroups serves /v2/groups and /v2/groups/{id}[/versions[/{v}]].
func (m *Master) handleGroups(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v2/groups"), "/")
	id := "/" + rest
	segs := strings.Split(rest, "/")
	n := len(segs)
	if r.Method == http.MethodPut && n >= 3 && segs[n-2] == "version" && !m.isGroup(id) {
		// PUT /v2/groups/{id}/version/{v}: the old rollback path.
		r.Body = io.NopCloser(strings.NewReader(`{"version":` + strconv.Quote(segs[n-1]) + `}`))
		m.changeGroup(w, r, "/"+strings.Join(segs[:n-2], "/"), "put")
		return
	}
	sub := r.Method == http.MethodGet && (segs[n-1] == "versions" || n >= 2 && segs[n-2] == "versions")
	if sub && !m.isGroup(id) {
		switch {
		case segs[n-1] == "versions":
			m.groupVersionList(w, "/"+strings.Join(segs[:n-1], "/"))
			return
		case n >= 2 && segs[n-2] == "versions":
			m.groupVersion(w, "/"+strings.Join(segs[:n-2], "/"), segs[n-1])
			return
		}
	}
	switch r.Method {
	case http.MethodGet:
		m.getGroup(w, r, id)
	case http.MethodPost:
		m.changeGroup(w, r, id, "post")
	case http.MethodPut:
		m.changeGroup(w, r, id, "put")
	case http.MethodPatch:
		m.changeGroup(w, r, id, "patch")
	case http.MethodDelete:
		m.deleteGroup(w, r, id)
	default:
		writeMessage(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// isGroup reports whether id is a group.
func (m *Master) isGroup(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.groupIndex()[id]
	return ok
}

func (m *Master) getGroup(w http.ResponseWriter, r *http.Request, id string) {
	e := parseGroupEmbed(r)
	m.mu.Lock()
	n := m.groupIndex()[id]
	var out groupInfo
	if n != nil {
		out = m.groupJSON(n, e)
	}
	m.mu.Unlock()
	if n == nil {
		writeErr(w, groupNotFound(id))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// groupInfo is Marathon's GroupInfo; apps and groups are absent unless
// embedded.
type groupInfo struct {
	ID           string             `json:"id"`
	Apps         *[]json.RawMessage `json:"apps,omitempty"`
	Groups       *[]groupInfo       `json:"groups,omitempty"`
	Pods         []any              `json:"pods"`
	Dependencies []string           `json:"dependencies"`
	Version      string             `json:"version"`
	EnforceRole  *bool              `json:"enforceRole,omitempty"`
}

// groupJSON is n's GroupInfo; call with m.mu held.
func (m *Master) groupJSON(n *groupNode, e groupEmbed) groupInfo {
	out := groupInfo{ID: n.ID, Pods: []any{}, Dependencies: n.Dependencies, Version: n.Version}
	if out.Version == "" {
		out.Version = ts(m.lastVersion)
	}
	if meta := m.groups[n.ID]; meta != nil {
		out.EnforceRole = meta.EnforceRole
	}
	if e.apps {
		apps := make([]json.RawMessage, 0, len(n.Apps))
		for _, a := range n.Apps {
			apps = append(apps, m.groupAppJSON(m.apps[a], e))
		}
		out.Apps = &apps
	}
	if e.groups {
		groups := make([]groupInfo, 0, len(n.Groups))
		for _, g := range n.Groups {
			groups = append(groups, m.groupJSON(g, e))
		}
		out.Groups = &groups
	}
	return out
}

// groupAppJSON is one app of a group with the embedded fields asked for.
func (m *Master) groupAppJSON(as *appState, e groupEmbed) []byte {
	c := appCounts(as)
	var extra []byte
	if e.counts {
		extra = c.appendCounts(extra)
	}
	if e.deps || e.app.tasks {
		extra = c.appendDeployments(extra)
	}
	v := m.appViewWith(as, e.app, extra)
	return v.write(nil)
}

// parseAt decodes one app of a group body, relative ids against base.
func (m *Master) parseAt(doc []byte, base string) (*marathon.App, error) {
	app, err := marathon.Parse(doc, base, m.cfg.Validation)
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(app)
	return m.parse(raw)
}

// changeGroup serves POST, PUT and PATCH of a group.
func (m *Master) changeGroup(w http.ResponseWriter, r *http.Request, id, mode string) {
	body, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	base, def := id, id
	if mode != "post" {
		base = marathon.ParentOf(id)
	}
	g, err := marathon.ParseGroup(body, base, def, m.parseAt)
	if err != nil {
		writeErr(w, err)
		return
	}
	if mode != "post" && g.ID != id {
		vi := marathon.Violations{}
		vi.Add("/id", "The id "+g.ID+" does not match the group addressed, "+id)
		writeErr(w, vi.Err())
		return
	}
	if g.Version != nil {
		if g, err = m.storedGroup(g.ID, *g.Version); err != nil {
			writeErr(w, err)
			return
		}
	}
	m.mu.Lock()
	idx := m.groupIndex()
	if mode == "post" {
		if err := m.checkNew(g, idx); err != nil {
			m.mu.Unlock()
			writeErr(w, err)
			return
		}
	}
	if g.ScaleBy != nil && idx[g.ID] == nil {
		m.mu.Unlock()
		writeErr(w, groupNotFound(g.ID))
		return
	}
	p := newGroupPlan()
	m.planUpdate(g, mode != "patch", idx, p)
	if mode == "put" && boolParam(r, "dryRun", false) {
		steps, err := m.dryRunSteps(p, idx)
		m.mu.Unlock()
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"steps": steps})
		return
	}
	d, seq, err := m.applyGroup(g.ID, p, idx, boolParam(r, "force", false))
	m.mu.Unlock()
	if !m.commitDeployment(w, d, seq, err) {
		return
	}
	if mode == "post" {
		w.Header().Set("Location", "/v2/groups"+g.ID)
		writeJSON(w, http.StatusCreated, deploymentResult(d))
		return
	}
	writeJSON(w, http.StatusOK, deploymentResult(d))
}

// checkNew refuses a POST of a group or app that exists.
func (m *Master) checkNew(g *marathon.Group, idx map[string]*groupNode) error {
	if n := idx[g.ID]; n != nil && (g.ID == "/" || len(n.Apps) > 0 || len(n.Groups) > 0 || m.groups[g.ID] != nil) {
		return errMessage(http.StatusConflict, "Group "+g.ID+" is already created. Use PUT to change this group.")
	}
	var walk func(g *marathon.Group) error
	walk = func(g *marathon.Group) error {
		for _, a := range g.Apps {
			if m.apps[a.ID] != nil {
				return errMessage(http.StatusConflict, "An app with id ["+a.ID+"] already exists.")
			}
		}
		for _, s := range g.Groups {
			if err := walk(s); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(g)
}

func (m *Master) deleteGroup(w http.ResponseWriter, r *http.Request, id string) {
	m.mu.Lock()
	idx := m.groupIndex()
	n := idx[id]
	if n == nil {
		m.mu.Unlock()
		writeErr(w, groupNotFound(id))
		return
	}
	p := newGroupPlan()
	planRemove(n, p)
	d, seq, err := m.applyGroup(id, p, idx, boolParam(r, "force", false))
	m.mu.Unlock()
	if !m.commitDeployment(w, d, seq, err) {
		return
	}
	writeJSON(w, http.StatusOK, deploymentResult(d))
}

func (m *Master) groupVersionList(w http.ResponseWriter, id string) {
	m.mu.Lock()
	_, known := m.groupIndex()[id]
	vs := append([]string{}, m.groupVersions[id]...)
	m.mu.Unlock()
	if !known && len(vs) == 0 {
		writeErr(w, groupNotFound(id))
		return
	}
	sort.Sort(sort.Reverse(sort.StringSlice(vs)))
	writeJSON(w, http.StatusOK, vs)
}

func (m *Master) groupVersion(w http.ResponseWriter, id, version string) {
	b, err := m.cfg.Store.Get(context.Background(), bucketGroupVersions, id+" "+version)
	if err != nil {
		writeErr(w, errMessage(http.StatusNotFound, "Group '"+id+"' does not exist in version "+version))
		return
	}
	writeRaw(w, http.StatusOK, b)
}

// storedGroup reads a stored group version as a full group update.
func (m *Master) storedGroup(id, version string) (*marathon.Group, error) {
	b, err := m.cfg.Store.Get(context.Background(), bucketGroupVersions, id+" "+version)
	if err != nil {
		return nil, errMessage(http.StatusNotFound, "Group '"+id+"' does not exist in version "+version)
	}
	return marathon.ParseGroup(stripVersions(b), marathon.ParentOf(id), id, m.parseAt)
}

// stripVersions drops the "version" keys of a stored group definition
// (they would read as a rollback request) — apps keep their definitions.
func stripVersions(b []byte) []byte {
	var g map[string]any
	if json.Unmarshal(b, &g) != nil {
		return b
	}
	var strip func(g map[string]any)
	strip = func(g map[string]any) {
		delete(g, "version")
		delete(g, "pods")
		if subs, ok := g["groups"].([]any); ok {
			for _, s := range subs {
				if sm, ok := s.(map[string]any); ok {
					strip(sm)
				}
			}
		}
	}
	strip(g)
	out, _ := json.Marshal(g)
	return out
}
