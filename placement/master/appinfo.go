package master

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
)

// taskJSON is Marathon's task object.
type taskJSON struct {
	ID                 string         `json:"id"`
	AppID              string         `json:"appId"`
	Host               string         `json:"host"`
	SlaveID            string         `json:"slaveId"`
	Ports              []int          `json:"ports"`
	ServicePorts       []int          `json:"servicePorts"`
	IPAddresses        []ipAddress    `json:"ipAddresses"`
	StagedAt           string         `json:"stagedAt"`
	StartedAt          *string        `json:"startedAt"`
	Version            string         `json:"version"`
	State              string         `json:"state"`
	HealthCheckResults []healthResult `json:"healthCheckResults,omitempty"`
}

type ipAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

type healthResult struct {
	wire.HealthResult
	InstanceID string `json:"instanceId"`
	TaskID     string `json:"taskId"`
}

func toTaskJSON(t *Task) taskJSON {
	out := taskJSON{ID: t.ID, AppID: t.AppID, Host: t.Host, SlaveID: t.AgentID, Ports: t.Ports,
		ServicePorts: t.ServicePorts, IPAddresses: []ipAddress{}, StagedAt: t.StagedAt,
		Version: t.Version, State: t.State}
	if out.Ports == nil {
		out.Ports = []int{}
	}
	if out.ServicePorts == nil {
		out.ServicePorts = []int{}
	}
	if t.StartedAt != "" {
		s := t.StartedAt
		out.StartedAt = &s
	}
	if t.IPAddress != "" {
		out.IPAddresses = append(out.IPAddresses, ipAddress{IPAddress: t.IPAddress, Protocol: "IPv4"})
	}
	for _, h := range t.Health {
		out.HealthCheckResults = append(out.HealthCheckResults, healthResult{HealthResult: h, InstanceID: t.ID, TaskID: t.ID})
	}
	return out
}

type embedOpts struct {
	tasks, counts, deployments, lastTaskFailure, taskStats, readiness bool
}

func parseEmbed(r *http.Request, prefix string) embedOpts {
	e := embedOpts{counts: true, deployments: true}
	for _, v := range r.URL.Query()["embed"] {
		switch strings.TrimPrefix(v, prefix) {
		case "tasks":
			e.tasks = true
		case "lastTaskFailure":
			e.lastTaskFailure = true
		case "taskStats":
			e.taskStats = true
		case "readiness":
			e.readiness = true
		case "failures":
			e.tasks, e.lastTaskFailure = true, true
		}
	}
	return e
}

// appView is one app's GET JSON in pieces: cached encodings of the app
// and its tasks (immutable once built, so they can be written out after
// the lock is released) and the small computed fields.
type appView struct {
	app   []byte   // the app object, cached
	extra []byte   // ,"tasksStaged":…,"deployments":[…] and optional fields
	tasks [][]byte // cached task objects; nil slice = not embedded
	embed bool
}

// counts are the app's task counters.
type counts struct {
	TasksStaged    int                 `json:"tasksStaged"`
	TasksRunning   int                 `json:"tasksRunning"`
	TasksHealthy   int                 `json:"tasksHealthy"`
	TasksUnhealthy int                 `json:"tasksUnhealthy"`
	Deployments    []map[string]string `json:"deployments"`
}

// appendJSON writes the counters as the tail of an object:
// ,"tasksStaged":…,"deployments":[…] (no closing brace).
func (c *counts) appendJSON(b []byte) []byte {
	return c.appendDeployments(c.appendCounts(b))
}

// appendCounts writes ,"tasksStaged":…,"tasksUnhealthy":….
func (c *counts) appendCounts(b []byte) []byte {
	b = append(b, `,"tasksStaged":`...)
	b = strconv.AppendInt(b, int64(c.TasksStaged), 10)
	b = append(b, `,"tasksRunning":`...)
	b = strconv.AppendInt(b, int64(c.TasksRunning), 10)
	b = append(b, `,"tasksHealthy":`...)
	b = strconv.AppendInt(b, int64(c.TasksHealthy), 10)
	b = append(b, `,"tasksUnhealthy":`...)
	b = strconv.AppendInt(b, int64(c.TasksUnhealthy), 10)
	return b
}

// appendDeployments writes ,"deployments":[{"id":…},…].
func (c *counts) appendDeployments(b []byte) []byte {
	b = append(b, `,"deployments":[`...)
	for i, d := range c.Deployments {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendQuote(b, d["id"])
		b = append(b, '}')
	}
	return append(b, ']')
}

// appView builds the GET view of as; call with m.mu held.
func (m *Master) appView(as *appState, e embedOpts) appView {
	if as.view == nil {
		as.view, _ = json.Marshal(as.rec.App)
	}
	c := appCounts(as)
	extra := c.appendJSON(make([]byte, 0, 128))
	return m.appViewWith(as, e, extra)
}

// appCounts counts the app's tasks and lists its deployments.
func appCounts(as *appState) counts {
	c := counts{Deployments: []map[string]string{}}
	for _, t := range as.tasks {
		switch t.State {
		case wire.TaskStaging, wire.TaskStarting:
			c.TasksStaged++
		case wire.TaskRunning:
			c.TasksRunning++
		}
		if h := t.healthy(); h != nil {
			if *h {
				c.TasksHealthy++
			} else {
				c.TasksUnhealthy++
			}
		}
	}
	ids := make([]string, 0, len(as.deployments))
	for d := range as.deployments {
		ids = append(ids, d)
	}
	sort.Strings(ids)
	for _, d := range ids {
		c.Deployments = append(c.Deployments, map[string]string{"id": d})
	}
	return c
}

// appViewWith is appView with the counters' part of extra given.
func (m *Master) appViewWith(as *appState, e embedOpts, extra []byte) appView {
	if as.view == nil {
		as.view, _ = json.Marshal(as.rec.App)
	}
	if e.lastTaskFailure && as.rec.LastTaskFailure != nil {
		b, _ := json.Marshal(as.rec.LastTaskFailure)
		extra = append(append(extra, `,"lastTaskFailure":`...), b...)
	}
	if e.taskStats {
		b, _ := json.Marshal(m.taskStats(as))
		extra = append(append(extra, `,"taskStats":`...), b...)
	}
	if e.readiness {
		b, _ := json.Marshal(m.readinessResults(as))
		extra = append(append(extra, `,"readinessCheckResults":`...), b...)
	}
	v := appView{app: as.view, extra: extra, embed: e.tasks}
	if e.tasks {
		v.tasks = make([][]byte, 0, len(as.tasks))
		for _, t := range sortedTasks(as.tasks) {
			if t.view == nil {
				t.view, _ = json.Marshal(toTaskJSON(t))
			}
			v.tasks = append(v.tasks, t.view)
		}
	}
	return v
}

// size is the exact length write produces.
func (v *appView) size() int {
	n := len(v.app) + len(v.extra)
	if v.embed {
		n += len(`,"tasks":[]`)
		for i, t := range v.tasks {
			n += len(t)
			if i > 0 {
				n++
			}
		}
	}
	return n
}

// size is the exact length of the comma-separated views.
func size(views []appView) int {
	n := 0
	for i := range views {
		n += views[i].size()
		if i > 0 {
			n++
		}
	}
	return n
}

// write appends the app object.
func (v *appView) write(buf []byte) []byte {
	buf = append(buf, v.app[:len(v.app)-1]...)
	buf = append(buf, v.extra...)
	if v.embed {
		buf = append(buf, `,"tasks":[`...)
		for i, t := range v.tasks {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, t...)
		}
		buf = append(buf, ']')
	}
	return append(buf, '}')
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func sortedTasks(tasks map[string]*Task) []*Task {
	out := make([]*Task, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// listApps serves GET /v2/apps and GET /v2/apps/{group}/*.
func (m *Master) listApps(w http.ResponseWriter, r *http.Request, group string) {
	q := r.URL.Query()
	idFilter := strings.ToLower(q.Get("id"))
	cmdFilter := strings.ToLower(q.Get("cmd"))
	sel, err := parseSelector(q.Get("label"))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Invalid label selector: "+err.Error())
		return
	}
	e := parseEmbed(r, "apps.")
	m.mu.Lock()
	ids := make([]string, 0, len(m.apps))
	for id, as := range m.apps {
		a := as.rec.App
		if group != "" && !strings.HasPrefix(id, strings.TrimSuffix(group, "/")+"/") {
			continue
		}
		if idFilter != "" && !strings.Contains(strings.ToLower(id), idFilter) {
			continue
		}
		if cmdFilter != "" && !strings.Contains(strings.ToLower(a.Cmd), cmdFilter) {
			continue
		}
		if !sel.matches(a.Labels) {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	views := make([]appView, 0, len(ids))
	for _, id := range ids {
		views = append(views, m.appView(m.apps[id], e))
	}
	m.mu.Unlock()
	// Stream in chunks: a list with 100,000 tasks is tens of MiB.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	prefix := `{"apps":[`
	if group != "" {
		prefix = `{"*":[`
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(prefix)+len("]}")+size(views)))
	w.WriteHeader(http.StatusOK)
	buf := append(make([]byte, 0, 64<<10), prefix...)
	for i := range views {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = views[i].write(buf)
		if len(buf) >= 48<<10 {
			if _, err := w.Write(buf); err != nil {
				return
			}
			buf = buf[:0]
		}
	}
	_, _ = w.Write(append(buf, "]}"...))
}

func (m *Master) getApp(w http.ResponseWriter, r *http.Request, id string) {
	m.mu.Lock()
	as := m.apps[id]
	var v appView
	if as != nil {
		v = m.appView(as, embedOpts{tasks: true, counts: true, deployments: true, lastTaskFailure: true,
			taskStats: containsEmbed(r, "app.taskStats"), readiness: containsEmbed(r, "app.readiness")})
	}
	m.mu.Unlock()
	if as == nil {
		writeErr(w, appNotFound(id))
		return
	}
	buf := v.write(append(make([]byte, 0, v.size()+8), `{"app":`...))
	writeRaw(w, http.StatusOK, append(buf, '}'))
}

func containsEmbed(r *http.Request, v string) bool {
	for _, e := range r.URL.Query()["embed"] {
		if e == v {
			return true
		}
	}
	return false
}
