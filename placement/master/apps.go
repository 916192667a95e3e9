package master

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/marathon"
)

// handleAppsRoot serves /v2/apps.
func (m *Master) handleAppsRoot(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		m.listApps(w, r, "")
	case http.MethodPost:
		m.postApp(w, r)
	case http.MethodPut:
		m.bulkUpdate(w, r, false)
	case http.MethodPatch:
		m.bulkUpdate(w, r, true)
	default:
		writeMessage(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// handleAppsPath serves /v2/apps/{id} and its sub-resources. An existing
// app id wins over a sub-resource reading of the path.
func (m *Master) handleAppsPath(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v2/apps"), "/")
	if rest == "" {
		m.handleAppsRoot(w, r)
		return
	}
	segs := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	id := rest
	m.mu.Lock()
	_, exists := m.apps[id]
	m.mu.Unlock()
	n := len(segs)
	switch {
	case exists || n < 2:
	case segs[n-1] == "*" && r.Method == http.MethodGet:
		m.listApps(w, r, "/"+strings.Join(segs[:n-1], "/"))
		return
	case segs[n-1] == "restart" && r.Method == http.MethodPost:
		m.restartApp(w, r, "/"+strings.Join(segs[:n-1], "/"))
		return
	case segs[n-1] == "tasks":
		m.appTasks(w, r, "/"+strings.Join(segs[:n-1], "/"), "")
		return
	case n >= 3 && segs[n-2] == "tasks":
		m.appTasks(w, r, "/"+strings.Join(segs[:n-2], "/"), segs[n-1])
		return
	case segs[n-1] == "versions" && r.Method == http.MethodGet:
		m.appVersions(w, "/"+strings.Join(segs[:n-1], "/"))
		return
	case n >= 3 && segs[n-2] == "versions" && r.Method == http.MethodGet:
		m.appVersion(w, r, "/"+strings.Join(segs[:n-2], "/"), segs[n-1])
		return
	}
	switch r.Method {
	case http.MethodGet:
		m.getApp(w, r, id)
	case http.MethodPut:
		m.putApp(w, r, id, false)
	case http.MethodPatch:
		m.putApp(w, r, id, true)
	case http.MethodDelete:
		m.deleteApp(w, r, id)
	default:
		writeMessage(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (m *Master) postApp(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	app, err := m.parse(body)
	if err != nil {
		writeErr(w, err)
		return
	}
	m.mu.Lock()
	if _, ok := m.apps[app.ID]; ok {
		m.mu.Unlock()
		writeMessage(w, http.StatusConflict, "An app with id ["+app.ID+"] already exists.")
		return
	}
	d, seq, err := m.applyChanges([]change{{id: app.ID, app: app, action: actStart}}, boolParam(r, "force", false))
	var v appView
	if err == nil {
		m.apiPostEvent(r, app)
		v = m.appView(m.apps[app.ID], embedOpts{counts: true, deployments: true})
	}
	m.mu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := m.w.wait(seq); err != nil {
		writeErr(w, err)
		return
	}
	m.kick()
	w.Header().Set("Location", "/v2/apps"+app.ID)
	w.Header().Set("Marathon-Deployment-Id", d.ID)
	writeRaw(w, http.StatusCreated, v.write(nil))
}

func (m *Master) apiPostEvent(r *http.Request, app *marathon.App) {
	m.events.publish(m.now(), "api_post_event", map[string]any{
		"clientIp": r.RemoteAddr, "uri": r.URL.Path, "appDefinition": app})
}

// updateBody turns one PUT/PATCH body into the new definition of id:
// a rollback to a stored version, a merge over the current app
// (partial), or a full replacement.
func (m *Master) updateBody(id string, keys map[string]json.RawMessage, partial bool) (*marathon.App, error) {
	if v, ok := keys["version"]; ok {
		for k := range keys {
			if k != "id" && k != "version" {
				vi := marathon.Violations{}
				vi.Add("/", "The 'version' field may only be combined with the 'id' field.")
				return nil, vi.Err()
			}
		}
		var version string
		if err := json.Unmarshal(v, &version); err != nil {
			return nil, marathon.InvalidJSON(err)
		}
		return m.storedVersion(id, version)
	}
	m.mu.Lock()
	var cur *marathon.App
	if as := m.apps[id]; as != nil {
		cur = as.rec.App
	}
	m.mu.Unlock()
	idJSON, _ := json.Marshal(id)
	keys["id"] = idJSON
	var doc []byte
	var err error
	if partial && cur != nil {
		doc, err = marathon.MergeUpdate(cur, keys)
	} else {
		doc, err = json.Marshal(keys)
	}
	if err != nil {
		return nil, errMessage(http.StatusBadRequest, err.Error())
	}
	return m.parse(doc)
}

// parse decodes and validates an app, constraints included as the
// placement core reads them.
func (m *Master) parse(doc []byte) (*marathon.App, error) {
	app, err := marathon.Parse(doc, "/", m.cfg.Validation)
	if err != nil {
		return nil, err
	}
	if _, err := placement.ParseConstraints(app.Constraints); err != nil {
		var v marathon.Violations
		for _, e := range unwrapJoined(err) {
			var ce *placement.ConstraintError
			if errors.As(e, &ce) {
				v.Add("/constraints("+itoa(ce.Index)+")", ce.Msg)
			} else {
				v.Add("/constraints", e.Error())
			}
		}
		return nil, v.Err()
	}
	return app, nil
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (m *Master) putApp(w http.ResponseWriter, r *http.Request, id string, patch bool) {
	body, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	id = marathon.ResolveID(id, "/")
	keys, err := marathon.ObjectKeys(body)
	if err != nil {
		writeErr(w, err)
		return
	}
	if patch {
		m.mu.Lock()
		_, ok := m.apps[id]
		m.mu.Unlock()
		if !ok {
			writeErr(w, appNotFound(id))
			return
		}
	}
	app, err := m.updateBody(id, keys, patch || boolParam(r, "partialUpdate", true))
	if err != nil {
		writeErr(w, err)
		return
	}
	m.deployChanges(w, r, []*marathon.App{app}, boolParam(r, "force", false), true)
}

// deployChanges creates or updates apps in one deployment and answers
// 200, or 201 with Location when PUT /v2/apps/{id} created its app.
func (m *Master) deployChanges(w http.ResponseWriter, r *http.Request, apps []*marathon.App, force, single bool) {
	m.mu.Lock()
	var changes []change
	created := false
	for _, app := range apps {
		c := change{id: app.ID, app: app, action: actStart}
		if as := m.apps[app.ID]; as != nil {
			c.action = classify(as.rec.App, app)
		} else {
			created = true
		}
		changes = append(changes, c)
	}
	d, seq, err := m.applyChanges(changes, force)
	if err == nil {
		for _, app := range apps {
			m.apiPostEvent(r, app)
		}
	}
	m.mu.Unlock()
	if !m.commitDeployment(w, d, seq, err) {
		return
	}
	if created && single {
		w.Header().Set("Location", "/v2/apps"+apps[0].ID)
		writeJSON(w, http.StatusCreated, deploymentResult(d))
		return
	}
	writeJSON(w, http.StatusOK, deploymentResult(d))
}

// bulkUpdate serves PUT /v2/apps (create or update) and PATCH /v2/apps
// (update existing only); nothing changes unless every app is valid.
func (m *Master) bulkUpdate(w http.ResponseWriter, r *http.Request, patch bool) {
	body, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		writeErr(w, &marathon.Error{Status: 400, Message: "Invalid JSON",
			Details: []marathon.Detail{{Path: "/", Errors: []string{"error.expected.jsarray"}}}})
		return
	}
	partial := patch || boolParam(r, "partialUpdate", true)
	apps := make([]*marathon.App, 0, len(items))
	seen := map[string]bool{}
	for i, item := range items {
		keys, err := marathon.ObjectKeys(item)
		if err != nil {
			writeErr(w, err)
			return
		}
		var id string
		if raw, ok := keys["id"]; !ok || json.Unmarshal(raw, &id) != nil || id == "" {
			vi := marathon.Violations{}
			vi.Addf("/("+itoa(i)+")/id", "error.path.missing")
			writeErr(w, vi.Err())
			return
		}
		id = marathon.ResolveID(id, "/")
		m.mu.Lock()
		_, exists := m.apps[id]
		m.mu.Unlock()
		if patch && !exists {
			writeErr(w, appNotFound(id))
			return
		}
		if seen[id] {
			writeMessage(w, http.StatusBadRequest, "app "+id+" is listed twice")
			return
		}
		seen[id] = true
		app, err := m.updateBody(id, keys, partial)
		if err != nil {
			writeErr(w, err)
			return
		}
		apps = append(apps, app)
	}
	if len(apps) == 0 {
		writeMessage(w, http.StatusBadRequest, "no apps given")
		return
	}
	m.deployChanges(w, r, apps, boolParam(r, "force", false), false)
}

func (m *Master) deleteApp(w http.ResponseWriter, r *http.Request, id string) {
	m.mu.Lock()
	as := m.apps[id]
	if as == nil {
		m.mu.Unlock()
		writeErr(w, appNotFound(id))
		return
	}
	app := as.rec.App
	d, seq, err := m.applyChanges([]change{{id: id, action: actStop}}, boolParam(r, "force", true))
	if err == nil {
		m.apiPostEvent(r, app)
	}
	m.mu.Unlock()
	if !m.commitDeployment(w, d, seq, err) {
		return
	}
	writeJSON(w, http.StatusOK, deploymentResult(d))
}

func (m *Master) restartApp(w http.ResponseWriter, r *http.Request, id string) {
	m.mu.Lock()
	as := m.apps[id]
	if as == nil {
		m.mu.Unlock()
		writeErr(w, appNotFound(id))
		return
	}
	app := as.rec.App.Clone()
	d, seq, err := m.applyChanges([]change{{id: id, app: app, action: actRestart, restartOnly: true}},
		boolParam(r, "force", false))
	m.mu.Unlock()
	if !m.commitDeployment(w, d, seq, err) {
		return
	}
	writeJSON(w, http.StatusOK, deploymentResult(d))
}

func (m *Master) appVersions(w http.ResponseWriter, id string) {
	m.mu.Lock()
	as := m.apps[id]
	var vs []string
	if as != nil {
		vs = append(vs, as.versions...)
	}
	m.mu.Unlock()
	if as == nil {
		writeErr(w, appNotFound(id))
		return
	}
	sort.Sort(sort.Reverse(sort.StringSlice(vs)))
	writeJSON(w, http.StatusOK, map[string][]string{"versions": vs})
}

func (m *Master) appVersion(w http.ResponseWriter, r *http.Request, id, version string) {
	app, err := m.storedVersion(id, version)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, app)
}

// storedVersion reads one stored version of an app.
func (m *Master) storedVersion(id, version string) (*marathon.App, error) {
	b, err := m.cfg.Store.Get(context.Background(), bucketVersions, id+" "+version)
	if err != nil {
		return nil, errMessage(http.StatusNotFound, "App '"+id+"' does not exist in version "+version)
	}
	var app marathon.App
	if err := json.Unmarshal(b, &app); err != nil {
		return nil, errMessage(http.StatusInternalServerError, "reading version: "+err.Error())
	}
	return &app, nil
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
