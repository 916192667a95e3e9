package master

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/berth-platform/berth/placement/marathon"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// apiError is an HTTP error answer with a Marathon-shaped body.
type apiError struct {
	status int
	body   any
}

func (e *apiError) Error() string {
	b, _ := json.Marshal(e.body)
	return string(b)
}

func errMessage(status int, msg string) *apiError {
	return &apiError{status: status, body: map[string]string{"message": msg}}
}

func errFromMarathon(err error) *apiError {
	var me *marathon.Error
	if errors.As(err, &me) {
		return &apiError{status: me.Status, body: me}
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return errMessage(http.StatusInternalServerError, err.Error())
}

func appNotFound(id string) *apiError {
	return errMessage(http.StatusNotFound, "App '"+id+"' does not exist")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"encoding response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeErr(w http.ResponseWriter, err error) {
	ae := errFromMarathon(err)
	writeJSON(w, ae.status, ae.body)
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errMessage(http.StatusRequestEntityTooLarge, "Request body too large (limit 1 MiB)")
		}
		return nil, errMessage(http.StatusBadRequest, "reading request body: "+err.Error())
	}
	return body, nil
}

// Handler returns the master's HTTP handler: the public API (behind basic
// auth when configured) and the agents' internal API (behind the agent
// secret when configured).
func (m *Master) Handler() http.Handler {
	pub := http.NewServeMux()
	pub.HandleFunc("/v2/apps", m.handleAppsRoot)
	pub.HandleFunc("/v2/apps/", m.handleAppsPath)
	pub.HandleFunc("GET /v2/tasks", m.handleTasks)
	pub.HandleFunc("POST /v2/tasks/delete", m.handleTasksDelete)
	pub.HandleFunc("GET /v2/tasks/{id}/logs", m.handleTaskLogs)
	pub.HandleFunc("GET /v2/deployments", m.handleDeployments)
	pub.HandleFunc("DELETE /v2/deployments/{id}", m.handleDeploymentDelete)
	pub.HandleFunc("GET /v2/queue", m.handleQueue)
	pub.HandleFunc("DELETE /v2/queue/", m.handleQueueDelay)
	pub.HandleFunc("GET /v2/info", m.handleInfo)
	pub.HandleFunc("GET /v2/leader", m.handleLeader)
	pub.HandleFunc("DELETE /v2/leader", m.handleAbdicate)
	pub.HandleFunc("GET /v2/events", m.handleEvents)
	pub.HandleFunc("/v2/eventSubscriptions", m.handleEventSubscriptions)
	pub.HandleFunc("/v2/groups", m.handleGroups)
	pub.HandleFunc("/v2/groups/", m.handleGroups)
	pub.HandleFunc("/v2/pods", handlePods)
	pub.HandleFunc("/v2/pods/", handlePods)
	pub.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "pong\n")
	})
	pub.Handle("GET /metrics", m.mx.handler())
	pub.HandleFunc("GET /master/state", m.handleMasterState)
	pub.HandleFunc("GET /master/state.json", m.handleMasterState)
	pub.HandleFunc("GET /master/slaves", m.handleMasterSlaves)
	m.mountJobs(pub)

	internal := http.NewServeMux()
	internal.HandleFunc("POST /internal/v1/agents", m.handleRegister)
	internal.HandleFunc("GET /internal/v1/agents/{id}/desired", m.handleDesired)
	internal.HandleFunc("POST /internal/v1/agents/{id}/status", m.handleStatus)

	public := m.basicAuth(m.writeLimit(m.mx.instrument(pub)))
	agentAPI := m.agentAuth(internal)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.cfg.Advertise != "" {
			w.Header().Set("X-Marathon-Leader", "http://"+m.cfg.Advertise)
		}
		if strings.HasPrefix(r.URL.Path, "/internal/") {
			agentAPI.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
		w.Header().Set("X-Frame-Options", "DENY")
		public.ServeHTTP(w, r)
	})
}

func (m *Master) basicAuth(next http.Handler) http.Handler {
	if m.cfg.Credentials == "" {
		return next
	}
	want := []byte(m.cfg.Credentials)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" || (m.cfg.MetricsOpen && r.URL.Path == "/metrics") {
			next.ServeHTTP(w, r)
			return
		}
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Berth"`)
			writeMessage(w, http.StatusUnauthorized, "Invalid username or password.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *Master) agentAuth(next http.Handler) http.Handler {
	if m.cfg.AgentSecret == "" {
		return next
	}
	want := []byte("Bearer " + m.cfg.AgentSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "invalid agent secret"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// boolParam reads a boolean query parameter.
func boolParam(r *http.Request, name string, def bool) bool {
	v := r.URL.Query().Get(name)
	switch strings.ToLower(v) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return def
}
