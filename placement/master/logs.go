package master

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// handleTaskLogs serves GET /v2/tasks/{id}/logs?stream=stdout|stderr&offset=N&follow=true
// by proxying to the agent that runs the task (its GET /v1/tasks/{id}/logs),
// streaming the bytes as they come and passing X-Berth-Offset through.
func (m *Master) handleTaskLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m.mu.Lock()
	t := m.tasks[id]
	var agentURL string
	if t != nil {
		if a := m.agents[t.AgentID]; a != nil {
			agentURL = a.reg.URL
		}
	}
	m.mu.Unlock()
	if t == nil {
		t, agentURL = m.jobRunForLogs(id) // an ended job run (jobs_run.go)
	}
	if t == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": fmt.Sprintf("Task '%s' does not exist", id)})
		return
	}
	if agentURL == "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"message": fmt.Sprintf("the agent %s of task '%s' is not registered; its logs are unreachable", t.AgentID, id)})
		return
	}
	target := agentURL + "/v1/tasks/" + url.PathEscape(id) + "/logs?" + r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"message": "logs: " + err.Error()})
		return
	}
	if m.cfg.AgentSecret != "" {
		req.Header.Set("Authorization", "Bearer "+m.cfg.AgentSecret) // the agent's API requires it too
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{
			"message": fmt.Sprintf("logs of task '%s': agent %s: %v", id, agentURL, err)})
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "X-Berth-Offset"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	copyFlushing(w, resp.Body)
}

// copyFlushing copies src to w, flushing after every read so a followed log
// reaches the client as it is written.
func copyFlushing(w http.ResponseWriter, src io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
