package agent

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/berth-platform/berth/internal/wire"
)

// maxLogChunk bounds one non-follow logs answer; the client continues
// from X-Berth-Offset.
const maxLogChunk = 8 << 20

// Handler serves the agent's HTTP API:
//
//	GET /v1/state                          -> wire.AgentState
//	GET /v1/tasks?index=N&wait=30s         -> wire.AgentTasks (long poll)
//	GET /v1/tasks/{taskId}/logs?stream=stdout|stderr&offset=N&follow=true
//
// Logs answers raw bytes. Without follow it answers at most 8 MiB and sets
// X-Berth-Offset to the offset after the last byte sent; with follow it
// sets X-Berth-Offset to the starting offset and streams until the task
// ends or the client goes away.
//
// With Config.Secret set, a request without "Authorization: Bearer
// <secret>" is answered 401 and reaches none of them.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/state", a.serveState)
	mux.HandleFunc("GET /v1/tasks", a.serveTasks)
	mux.HandleFunc("GET /v1/tasks/{taskId}/logs", a.serveLogs)
	return RequireSecret(a.cfg.Secret, mux)
}

// RequireSecret wraps next so that only requests carrying "Authorization:
// Bearer <secret>" reach it (compared in constant time); the others get
// 401 with a JSON message naming the header. An empty secret returns next
// unchanged (an agent started without --agent-secret).
func RequireSecret(secret string, next http.Handler) http.Handler {
	if secret == "" {
		return next
	}
	want := []byte("Bearer " + secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if got == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="berth-agent"`)
			writeError(w, http.StatusUnauthorized, "Authorization: missing; this agent requires its --agent-secret as a bearer token")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="berth-agent"`)
			writeError(w, http.StatusUnauthorized, "Authorization: not this agent's --agent-secret")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Agent) serveState(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	st := wire.AgentState{
		ID: a.id, Hostname: a.cfg.Hostname, Master: a.cfg.MasterURL, Resources: a.cfg.Resources,
		Tasks: a.currentStatusesLocked(),
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	taskID := r.PathValue("taskId")
	q := r.URL.Query()
	stream := q.Get("stream")
	if stream == "" {
		stream = "stdout"
	}
	if stream != "stdout" && stream != "stderr" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("stream %q: want stdout or stderr", stream))
		return
	}
	var offset int64
	if s := q.Get("offset"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("offset %q: want a non-negative integer", s))
			return
		}
		offset = n
	}
	follow := q.Get("follow") == "true" || q.Get("follow") == "1"
	a.mu.Lock()
	o, ok := a.observed[taskID]
	rt := a.cfg.Runtimes[o.Runtime]
	a.mu.Unlock()
	if !ok || rt == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("task %s: not on this agent (or already removed)", taskID))
		return
	}
	rc, err := rt.Logs(r.Context(), o, stream, offset, follow)
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("task %s: logs: %v", taskID, err))
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if !follow {
		b, err := io.ReadAll(io.LimitReader(rc, maxLogChunk))
		if err != nil {
			writeError(w, http.StatusBadGateway, fmt.Sprintf("task %s: logs: %v", taskID, err))
			return
		}
		w.Header().Set("X-Berth-Offset", strconv.FormatInt(offset+int64(len(b)), 10))
		w.Write(b) //nolint:errcheck // the client went away
		return
	}
	w.Header().Set("X-Berth-Offset", strconv.FormatInt(offset, 10))
	w.WriteHeader(http.StatusOK)
	copyFlushing(w, rc)
}

// copyFlushing copies a followed log to the client, flushing each chunk, until
// the log ends or the client goes away.
func copyFlushing(w http.ResponseWriter, r io.Reader) {
	fl, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, wire.Error{Message: msg})
}
