package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/marathon"
)

func wantsText(r *http.Request) bool {
	acc := r.Header.Get("Accept")
	return strings.Contains(acc, "text/plain") && !strings.Contains(acc, "application/json")
}

// handleTasks serves GET /v2/tasks[?status=running|staging].
func (m *Master) handleTasks(w http.ResponseWriter, r *http.Request) {
	statuses := map[string]bool{}
	for _, k := range []string{"status", "status[]"} {
		for _, s := range r.URL.Query()[k] {
			statuses[strings.ToLower(s)] = true
		}
	}
	keep := func(t *Task) bool {
		if len(statuses) == 0 {
			return true
		}
		switch t.State {
		case wire.TaskRunning:
			return statuses["running"]
		case wire.TaskStaging, wire.TaskStarting:
			return statuses["staging"]
		}
		return false
	}
	m.mu.Lock()
	if wantsText(r) {
		ids := make([]string, 0, len(m.apps))
		for id := range m.apps {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		text := m.textListing(ids)
		m.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(text))
		return
	}
	out := make([]taskJSON, 0, len(m.tasks))
	for _, t := range sortedTasks(m.tasks) {
		if keep(t) && m.apps[t.AppID] != nil && m.orphans[t.ID] == nil {
			out = append(out, toTaskJSON(t))
		}
	}
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out})
}

// textListing is Marathon's text/plain task list: per app and servicePort
// a line of running tasks' host:port.
func (m *Master) textListing(ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		as := m.apps[id]
		var running []*Task
		for _, t := range sortedTasks(as.tasks) {
			if t.State == wire.TaskRunning && !t.Killing {
				running = append(running, t)
			}
		}
		sps := as.rec.App.ServicePorts()
		safe := marathon.SafeID(id)
		if len(sps) == 0 {
			b.WriteString(safe + "\t \t")
			var hosts []string
			for _, t := range running {
				hosts = append(hosts, t.Host)
			}
			sort.Strings(hosts)
			for _, h := range hosts {
				b.WriteString(h + "\t")
			}
			b.WriteString("\n")
			continue
		}
		for i, sp := range sps {
			fmt.Fprintf(&b, "%s\t%d\t", safe, sp)
			var eps []string
			for _, t := range running {
				if i < len(t.Spec.Ports) && t.Spec.Ports[i].HostPort != 0 {
					eps = append(eps, fmt.Sprintf("%s:%d", t.Host, t.Spec.Ports[i].HostPort))
				}
			}
			sort.Strings(eps)
			for _, e := range eps {
				b.WriteString(e + "\t")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// appTasks serves GET/DELETE /v2/apps/{id}/tasks[/{taskId}].
func (m *Master) appTasks(w http.ResponseWriter, r *http.Request, id, taskID string) {
	switch r.Method {
	case http.MethodGet:
		m.mu.Lock()
		as := m.apps[id]
		if as == nil {
			m.mu.Unlock()
			writeErr(w, appNotFound(id))
			return
		}
		if wantsText(r) {
			text := m.textListing([]string{id})
			m.mu.Unlock()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(text))
			return
		}
		out := make([]taskJSON, 0, len(as.tasks))
		for _, t := range sortedTasks(as.tasks) {
			out = append(out, toTaskJSON(t))
		}
		m.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"tasks": out})
	case http.MethodDelete:
		m.killAppTasks(w, r, id, taskID)
	default:
		writeMessage(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (m *Master) killAppTasks(w http.ResponseWriter, r *http.Request, id, taskID string) {
	scale, wipe := boolParam(r, "scale", false), boolParam(r, "wipe", false)
	if scale && wipe {
		writeMessage(w, http.StatusBadRequest, "You cannot use scale and wipe at the same time.")
		return
	}
	host := r.URL.Query().Get("host")
	m.mu.Lock()
	as := m.apps[id]
	if as == nil {
		m.mu.Unlock()
		writeErr(w, appNotFound(id))
		return
	}
	var victims []*Task
	for _, t := range sortedTasks(as.tasks) {
		if terminal(t.State) || (taskID != "" && t.ID != taskID) || (host != "" && t.Host != host) {
			continue
		}
		victims = append(victims, t)
	}
	if taskID != "" && len(victims) == 0 {
		m.mu.Unlock()
		writeMessage(w, http.StatusNotFound, "Task '"+taskID+"' does not exist")
		return
	}
	m.killAndAnswer(w, r, map[string][]*Task{id: victims}, scale, taskID != "")
}

// killAndAnswer kills victims (grouped by app) and answers with the tasks
// or, with scale, a deployment lowering instances. Called with m.mu held;
// it unlocks.
func (m *Master) killAndAnswer(w http.ResponseWriter, r *http.Request, byApp map[string][]*Task, scale, single bool) {
	if scale {
		var changes []change
		for id, victims := range byApp {
			app := m.apps[id].rec.App.Clone()
			app.Instances = max(0, app.Instances-len(victims))
			changes = append(changes, change{id: id, app: app, action: actScale})
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].id < changes[j].id })
		d, seq, err := m.applyChanges(changes, boolParam(r, "force", false))
		if err == nil {
			for _, victims := range byApp {
				seq = m.w.enqueue(m.killTasks(victims, killScale)...)
			}
		}
		m.mu.Unlock()
		if !m.commitDeployment(w, d, seq, err) {
			return
		}
		writeJSON(w, http.StatusOK, deploymentResult(d))
		return
	}
	var out []taskJSON
	var seq uint64
	for id, victims := range byApp {
		seq = m.w.enqueue(m.userKill(victims, boolParam(r, "wipe", false))...)
		m.dirty[id] = true
		for _, t := range victims {
			out = append(out, toTaskJSON(t))
		}
	}
	m.mu.Unlock()
	if err := m.w.wait(seq); err != nil {
		writeErr(w, err)
		return
	}
	m.kick()
	if single && len(out) == 1 {
		writeJSON(w, http.StatusOK, map[string]any{"task": out[0]})
		return
	}
	if out == nil {
		out = []taskJSON{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": out})
}

// handleTasksDelete serves POST /v2/tasks/delete {"ids":[…]}.
func (m *Master) handleTasksDelete(w http.ResponseWriter, r *http.Request) {
	scale, wipe := boolParam(r, "scale", false), boolParam(r, "wipe", false)
	if scale && wipe {
		writeMessage(w, http.StatusBadRequest, "You cannot use scale and wipe at the same time.")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, marathon.InvalidJSON(err))
		return
	}
	m.mu.Lock()
	byApp := map[string][]*Task{}
	for _, id := range req.IDs {
		t := m.tasks[id]
		if t == nil || m.apps[t.AppID] == nil || m.orphans[id] != nil {
			m.mu.Unlock()
			writeMessage(w, http.StatusBadRequest, "Task '"+id+"' does not exist")
			return
		}
		byApp[t.AppID] = append(byApp[t.AppID], t)
	}
	m.killAndAnswer(w, r, byApp, scale, false)
}
