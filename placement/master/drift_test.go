package master

import (
	"encoding/json"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/oracle"
)

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestResponseDrift audits every read endpoint with a running app, a
// health check, a failure, a queued app and a running deployment.
func TestResponseDrift(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Advertise = "127.0.0.1:8080" })
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/shop/web","cmd":"x","cpus":0.1,"mem":16,"instances":2,
		"portDefinitions":[{"port":0,"name":"http"}],
		"healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0}]}`)
	h.converge(a)
	ts0 := ts(h.clock.Now())
	for id := range a.running {
		a.health[id] = []wire.HealthResult{{Alive: true, FirstSuccess: ts0, LastSuccess: ts0}}
		a.report(wire.TaskStatus{TaskID: id, State: wire.TaskRunning})
		a.report(wire.TaskStatus{TaskID: id, State: wire.TaskFailed, Message: "exit 1"})
		delete(a.running, id)
		break
	}
	h.must(201, "POST", "/v2/apps", `{"id":"/nowhere","cmd":"x","cpus":0.1,"mem":16,
		"constraints":[["rack","LIKE","r9"]]}`)
	h.pass()
	if app := h.app("/shop/web"); app["lastTaskFailure"] == nil || len(app["tasks"].([]any)) == 0 {
		t.Fatalf("the audit needs a failure and tasks: %v", app)
	}
	if q := h.must(200, "GET", "/v2/queue", "").json(t)["queue"].([]any); len(q) == 0 {
		t.Fatal("the audit needs a queued app")
	}
	for _, path := range []string{"/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.lastTaskFailure",
		"/v2/apps/shop/web", "/v2/apps/shop/web/tasks", "/v2/tasks", "/v2/deployments", "/v2/queue",
		"/v2/leader", "/v2/info", "/v2/apps/shop/web/versions"} {
		var v any
		if err := json.Unmarshal(h.must(200, "GET", path, "").body, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, b := range oracle.Audit(v) {
			t.Errorf("%s: %s", path, b)
		}
	}
}

// TestAuditCatchesDrift: the audit itself flags the drift it looks for.
func TestAuditCatchesDrift(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want int
	}{
		{`{"app":{"instances":"2","version":"2026-01-02T03:04:05Z"}}`, 2},
		{`{"tasks":[{"ports":[31000,"31001"],"stagedAt":"2026-01-02T03:04:05.000Z"}]}`, 1},
		{`{"tasks":[{"healthCheckResults":[{"lastFailure":null,"firstSuccess":"x"}]}]}`, 1},
		{`{"app":{"instances":2,"version":"2026-01-02T03:04:05.123Z","ports":[1]}}`, 0},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
			t.Fatal(err)
		}
		bad := oracle.Audit(v)
		if len(bad) != tc.want {
			t.Errorf("%s: %d findings %v, want %d", tc.doc, len(bad), bad, tc.want)
		}
	}
}
