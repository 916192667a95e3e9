package livetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/oracle"
)

// webCmd serves HTTP on $PORT0 (health and readiness checks probe it).
const webCmd = `exec python3 -m http.server --bind 127.0.0.1 $PORT0`

// TestEveryEndpoint drives every Marathon endpoint Berth serves against
// a real master and agent, as a client library would; every JSON answer
// goes through the oracle (schemas and drift audit, stack.call).
func TestEveryEndpoint(t *testing.T) {
	s := newStack(t)
	s.agent("node-a")
	var hooks struct {
		sync.Mutex
		types map[string]int
	}
	hooks.types = map[string]int{}
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ EventType string }
		_ = json.NewDecoder(r.Body).Decode(&ev)
		hooks.Lock()
		hooks.types[ev.EventType]++
		hooks.Unlock()
	}))
	defer cb.Close()
	cbq := "/v2/eventSubscriptions?callbackUrl=" + url.QueryEscape(cb.URL+"/hook")
	s.must("POST", cbq, "", 200)
	if b := s.must("GET", "/v2/eventSubscriptions", "", 200); !strings.Contains(string(b), cb.URL+"/hook") {
		t.Fatalf("subscriptions: %s", b)
	}
	sse := s.openEvents(t)

	for _, p := range []string{"/v2/info", "/v2/leader", "/metrics"} {
		s.must("GET", p, "", 200)
	}
	var info struct {
		HTTPConfig struct {
			HTTPPort any `json:"http_port"`
		} `json:"http_config"`
		Name string
	}
	_ = json.Unmarshal(s.must("GET", "/v2/info", "", 200), &info)
	if _, ok := info.HTTPConfig.HTTPPort.(float64); !ok || info.Name != "marathon" {
		t.Errorf("/v2/info: http_port %#v, name %q", info.HTTPConfig.HTTPPort, info.Name)
	}
	if b, _ := s.call("GET", "/ping", "", 200); strings.TrimSpace(string(b)) != "pong" {
		t.Errorf("/ping: %q", b)
	}
	if _, err := s.call("GET", "/v2/pods", "", 501); err != nil {
		t.Error(err)
	}

	// Apps: a web app with health and readiness checks, a failing one.
	s.must("POST", "/v2/apps", fmt.Sprintf(`{"id":"/sweep/web","cmd":%q,"cpus":0.01,"mem":32,
		"portDefinitions":[{"port":0,"name":"http"}],
		"healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0,"intervalSeconds":1,"gracePeriodSeconds":30}],
		"readinessChecks":[{"name":"ready","protocol":"HTTP","path":"/","portName":"http","intervalSeconds":2,"timeoutSeconds":1}]}`, webCmd), 201)
	s.must("POST", "/v2/apps", `{"id":"/sweep/fail","cmd":"echo bye; exit 3","cpus":0.01,"mem":8,"backoffSeconds":60}`, 201)
	s.waitHealthy("/sweep/web", 1)
	testenv.WaitFor(t, 30*time.Second, "/sweep/fail has a lastTaskFailure", func() error {
		var out struct {
			App struct {
				LastTaskFailure map[string]any
			}
		}
		if err := json.Unmarshal(s.must("GET", "/v2/apps/sweep/fail", "", 200), &out); err != nil {
			return err
		}
		for _, k := range []string{"appId", "host", "message", "state", "taskId", "timestamp", "version", "slaveId"} {
			if _, ok := out.App.LastTaskFailure[k]; !ok {
				return fmt.Errorf("lastTaskFailure %v has no %s", out.App.LastTaskFailure, k)
			}
		}
		if out.App.LastTaskFailure["state"] != "TASK_FAILED" {
			return fmt.Errorf("lastTaskFailure %v", out.App.LastTaskFailure)
		}
		return nil
	})
	if b := s.must("GET", "/v2/queue", "", 200); !strings.Contains(string(b), `"/sweep/fail"`) {
		t.Errorf("queue has no /sweep/fail in backoff: %s", b)
	}
	s.must("DELETE", "/v2/queue/sweep/fail/delay", "", 204)
	s.must("DELETE", "/v2/apps/sweep/fail", "", 200)

	for _, p := range []string{
		"/v2/apps", "/v2/apps?cmd=http&label=", "/v2/apps?id=sweep",
		"/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments&embed=apps.lastTaskFailure&embed=apps.failures&embed=apps.taskStats&embed=apps.readiness",
		"/v2/apps/sweep/web", "/v2/apps/sweep/web?embed=app.taskStats&embed=app.readiness", "/v2/apps/sweep/*",
		"/v2/apps/sweep/web/tasks", "/v2/apps/sweep/web/versions", "/v2/tasks", "/v2/tasks?status=running",
		"/v2/deployments", "/v2/groups", "/v2/groups/sweep", "/v2/groups/sweep/versions",
	} {
		s.must("GET", p, "", 200)
	}
	var versions struct{ Versions []string }
	_ = json.Unmarshal(s.must("GET", "/v2/apps/sweep/web/versions", "", 200), &versions)
	s.must("GET", "/v2/apps/sweep/web/versions/"+versions.Versions[0], "", 200)
	if b := s.plain(t, "/v2/tasks"); !strings.Contains(b, "sweep_web") {
		t.Errorf("text/plain /v2/tasks: %q", b)
	}

	// Changes: scale, patch, bulk, restart, task kills.
	s.must("PUT", "/v2/apps/sweep/web", `{"instances":2}`, 200)
	s.waitHealthy("/sweep/web", 2)
	s.must("PATCH", "/v2/apps/sweep/web", `{"labels":{"tier":"web"}}`, 200)
	s.waitHealthy("/sweep/web", 2)
	s.must("PUT", "/v2/apps", `[{"id":"/sweep/web","instances":3}]`, 200)
	s.waitHealthy("/sweep/web", 3)
	s.must("PATCH", "/v2/apps", `[{"id":"/sweep/web","instances":2}]`, 200)
	s.waitHealthy("/sweep/web", 2)
	s.must("POST", "/v2/apps/sweep/web/restart", "", 200)
	s.waitHealthy("/sweep/web", 2)
	ts, _ := s.tasks("/sweep/web")
	s.must("DELETE", "/v2/apps/sweep/web/tasks/"+ts[0].ID+"?scale=true", "", 200)
	s.waitHealthy("/sweep/web", 1)
	ts, _ = s.tasks("/sweep/web")
	s.must("POST", "/v2/tasks/delete", fmt.Sprintf(`{"ids":[%q]}`, ts[0].ID), 200)
	s.waitHealthy("/sweep/web", 1)
	s.must("DELETE", "/v2/apps/sweep/web/tasks?host=node-a&wipe=true", "", 200)
	s.waitHealthy("/sweep/web", 1)

	// A deployment that cannot finish: rolled back, then a forced stop.
	s.must("PUT", "/v2/apps/sweep/web", `{"mem":900000}`, 200)
	var deps []struct{ ID string }
	_ = json.Unmarshal(s.must("GET", "/v2/deployments", "", 200), &deps)
	if len(deps) != 1 {
		t.Fatalf("deployments: %+v", deps)
	}
	testenv.WaitFor(t, 30*time.Second, "/v2/queue explains why the big task waits", func() error {
		var q struct {
			Queue []struct {
				ProcessedOffersSummary struct{ RejectSummaryLastOffers []struct{ Reason string } }
			}
		}
		if err := json.Unmarshal(s.must("GET", "/v2/queue", "", 200), &q); err != nil {
			return err
		}
		if len(q.Queue) != 1 || len(q.Queue[0].ProcessedOffersSummary.RejectSummaryLastOffers) == 0 {
			return fmt.Errorf("queue %+v", q.Queue)
		}
		return nil
	})
	s.must("DELETE", "/v2/deployments/"+deps[0].ID, "", 200)
	s.noDeployments()
	s.must("PUT", "/v2/apps/sweep/web", `{"mem":900000}`, 200)
	_ = json.Unmarshal(s.must("GET", "/v2/deployments", "", 200), &deps)
	s.must("DELETE", "/v2/deployments/"+deps[0].ID+"?force=true", "", 202)
	s.must("PUT", "/v2/apps/sweep/web?force=true", `{"mem":32}`, 200)
	s.waitHealthy("/sweep/web", 1)

	// Groups.
	s.must("POST", "/v2/groups", `{"id":"/sg","apps":[{"id":"a","cmd":"sleep 600","cpus":0.01,"mem":8}],
		"groups":[{"id":"inner","dependencies":["/sg/a"],"apps":[{"id":"b","cmd":"sleep 600","cpus":0.01,"mem":8}]}]}`, 201)
	s.noDeployments()
	for _, p := range []string{"/v2/groups/sg", "/v2/groups/sg/inner", "/v2/groups/sg/versions",
		"/v2/groups/sg?embed=group.groups&embed=group.apps&embed=group.apps.tasks&embed=group.apps.counts&embed=group.apps.deployments&embed=group.apps.lastTaskFailure&embed=group.apps.taskStats&embed=group.apps.readiness"} {
		s.must("GET", p, "", 200)
	}
	var gv []string
	_ = json.Unmarshal(s.must("GET", "/v2/groups/sg/versions", "", 200), &gv)
	s.must("GET", "/v2/groups/sg/versions/"+gv[0], "", 200)
	s.must("PUT", "/v2/groups/sg", `{"scaleBy":2}`, 200)
	s.waitTasks("/sg/inner/b", "scaled by 2", 30*time.Second, running(2))
	s.must("PATCH", "/v2/groups/sg", `{"apps":[{"id":"c","cmd":"sleep 600","cpus":0.01,"mem":8}]}`, 200)
	s.waitTasks("/sg/c", "added by PATCH", 30*time.Second, running(1))
	s.must("PUT", "/v2/groups/sg", `{"version":"`+gv[0]+`"}`, 200)
	s.waitTasks("/sg/inner/b", "rolled back", 30*time.Second, running(1))
	if _, err := s.call("GET", "/v2/apps/sg/c", "", 404); err != nil {
		t.Error(err)
	}
	s.must("DELETE", "/v2/groups/sg", "", 200)
	s.noDeployments()
	if _, err := s.call("GET", "/v2/groups/sg", "", 404); err != nil {
		t.Error(err)
	}

	s.must("DELETE", "/v2/apps/sweep/web", "", 200)
	s.noDeployments()
	if b, _ := s.call("GET", "/v2/apps/sweep/web", "", 404); !strings.Contains(string(b), `"message"`) {
		t.Errorf("404 body: %s", b)
	}
	sse.expect(t, "event_stream_attached", "api_post_event", "deployment_info", "deployment_success",
		"status_update_event", "health_status_changed_event", "group_change_success", "app_terminated_event")
	s.must("DELETE", cbq, "", 200)
	hooks.Lock()
	defer hooks.Unlock()
	for _, ev := range []string{"api_post_event", "deployment_success", "status_update_event"} {
		if hooks.types[ev] == 0 {
			t.Errorf("callback got no %s (got %v)", ev, hooks.types)
		}
	}
}

// waitHealthy waits for n running, healthy, ready tasks and no deployment.
func (s *stack) waitHealthy(appID string, n int) {
	s.t.Helper()
	testenv.WaitFor(s.t, 60*time.Second, fmt.Sprintf("%s: %d healthy tasks", appID, n), func() error {
		var out struct {
			App struct {
				TasksHealthy, TasksRunning, Instances int
				Deployments                           []any
			}
		}
		if err := json.Unmarshal(s.must("GET", "/v2/apps"+appID, "", 200), &out); err != nil {
			return err
		}
		a := out.App
		if a.TasksHealthy != n || a.TasksRunning != n || len(a.Deployments) != 0 {
			return fmt.Errorf("healthy %d running %d deployments %d", a.TasksHealthy, a.TasksRunning, len(a.Deployments))
		}
		return nil
	})
}

// plain GETs path as text/plain.
func (s *stack) plain(t *testing.T, path string) string {
	req, _ := http.NewRequest("GET", s.master.url+path, nil)
	req.Header.Set("Accept", "text/plain")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// events collects the event types of one /v2/events stream.
type events struct {
	mu    sync.Mutex
	types map[string]bool
	bad   []string // drift in the events' bodies (oracle.Audit)
	close func()
}

func (s *stack) openEvents(t *testing.T) *events {
	req, _ := http.NewRequest("GET", s.master.url+"/v2/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req) // no timeout: a stream
	if err != nil {
		t.Fatal(err)
	}
	e := &events{types: map[string]bool{}, close: func() { res.Body.Close() }}
	t.Cleanup(e.close)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				e.mu.Lock()
				e.types[strings.TrimSpace(ev)] = true
				e.mu.Unlock()
			}
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v any
				bad := []string{"not JSON: " + data}
				if json.Unmarshal([]byte(data), &v) == nil {
					bad = oracle.Audit(v)
				}
				e.mu.Lock()
				e.bad = append(e.bad, bad...)
				e.mu.Unlock()
			}
		}
	}()
	return e
}

func (e *events) expect(t *testing.T, types ...string) {
	t.Helper()
	testenv.WaitFor(t, 10*time.Second, "the event stream carried every event type", func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ty := range types {
			if !e.types[ty] {
				return fmt.Errorf("no %s (got %v)", ty, e.types)
			}
		}
		return nil
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.bad {
		t.Errorf("/v2/events: %s", b)
	}
}
