package master

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func TestTaskLogsProxiedToTheAgent(t *testing.T) {
	var gotPath, gotQuery string
	agentAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.Path, r.URL.RawQuery
		w.Header().Set("X-Berth-Offset", "11")
		io.WriteString(w, "hello logs\n")
	}))
	defer agentAPI.Close()
	h := newHarness(t, nil)
	a := h.agent(strings.TrimPrefix(agentAPI.URL, "http://"), nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/logs","cmd":"sleep 1000","cpus":0.1,"mem":16}`)
	h.converge(a)
	tasks := h.tasks("/logs")
	if len(tasks) != 1 {
		t.Fatalf("want 1 task, got %d", len(tasks))
	}
	id := tasks[0].ID

	res, err := http.Get(h.srv.URL + "/v2/tasks/" + id + "/logs?stream=stderr&offset=3")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "hello logs\n" || res.Header.Get("X-Berth-Offset") != "11" {
		t.Fatalf("logs = %d %q offset %q", res.StatusCode, body, res.Header.Get("X-Berth-Offset"))
	}
	if gotPath != "/v1/tasks/"+id+"/logs" || gotQuery != "stream=stderr&offset=3" {
		t.Fatalf("agent got %s?%s", gotPath, gotQuery)
	}

	if r := h.do("GET", "/v2/tasks/nope.1/logs", ""); r.code != 404 || !strings.Contains(string(r.body), "Task 'nope.1' does not exist") {
		t.Fatalf("unknown task: %d %s", r.code, r.body)
	}
	agentAPI.Close()
	if r := h.do("GET", "/v2/tasks/"+id+"/logs", ""); r.code != http.StatusBadGateway || !strings.Contains(string(r.body), id) {
		t.Fatalf("unreachable agent: %d %s", r.code, r.body)
	}
}

// TestTaskLogsSendTheAgentSecret: with --agent-secret the master presents
// it to the agent's API as it proxies logs (agents require it).
func TestTaskLogsSendTheAgentSecret(t *testing.T) {
	var gotAuth string
	agentAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		io.WriteString(w, "ok\n")
	}))
	defer agentAPI.Close()
	h := newHarness(t, func(c *Config) { c.AgentSecret = "s3cret" })
	a := &fakeAgent{h: h, hostname: strings.TrimPrefix(agentAPI.URL, "http://"), secret: "s3cret",
		running: map[string]string{}, health: map[string][]wire.HealthResult{}}
	a.register(nil, nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/logs","cmd":"sleep 1000","cpus":0.1,"mem":16}`)
	h.converge(a)
	tasks := h.tasks("/logs")
	if len(tasks) != 1 {
		t.Fatalf("want 1 task, got %d", len(tasks))
	}
	if r := h.do("GET", "/v2/tasks/"+tasks[0].ID+"/logs", ""); r.code != 200 || gotAuth != "Bearer s3cret" {
		t.Fatalf("logs %d %s; the agent got Authorization %q", r.code, r.body, gotAuth)
	}
}
