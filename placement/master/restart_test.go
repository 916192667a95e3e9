package master

import (
	"encoding/json"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

// TestMasterRestartKeepsEverything stops the master in the middle of a
// rolling restart and starts a new one on the same work dir: apps with
// their versions, tasks, servicePorts, agents and the deployment are all
// there, and the deployment resumes and finishes.
func TestMasterRestartKeepsEverything(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", map[string]string{"rack": "r1"})
	h.must(201, "POST", "/v2/apps", `{"id":"/keep/web","cmd":"v1","instances":3,"cpus":0.1,"mem":16,
		"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":0}}`)
	h.must(201, "POST", "/v2/apps", `{"id":"/keep/db","cmd":"db","cpus":0.1,"mem":16,"portDefinitions":[{"port":0},{"port":15000}]}`)
	h.converge(a)
	h.must(200, "PUT", "/v2/apps/keep/web", `{"cmd":"v2"}`)
	h.pass()
	a.sync()
	h.pass()
	before := h.must(200, "GET", "/v2/apps?embed=apps.tasks", "").body
	deps := h.must(200, "GET", "/v2/deployments", "").body
	versions := h.must(200, "GET", "/v2/apps/keep/web/versions", "").body
	if h.deploymentCount() != 1 {
		t.Fatalf("expected the rolling restart in progress, deployments: %s", deps)
	}

	h.restart()

	if after := h.must(200, "GET", "/v2/apps?embed=apps.tasks", "").body; string(after) != string(before) {
		t.Fatalf("apps changed across restart:\n%s\n%s", before, after)
	}
	if got := h.must(200, "GET", "/v2/deployments", "").body; string(got) != string(deps) {
		t.Fatalf("deployments changed across restart:\n%s\n%s", deps, got)
	}
	if got := h.must(200, "GET", "/v2/apps/keep/web/versions", "").body; string(got) != string(versions) {
		t.Fatalf("versions changed: %s vs %s", versions, got)
	}
	// servicePort allocations survive: a fixed conflict is still refused,
	// and a new app gets a fresh port.
	h.must(422, "POST", "/v2/apps", `{"id":"/clash","cmd":"x","portDefinitions":[{"port":15000}]}`)
	r := h.must(201, "POST", "/v2/apps", `{"id":"/fresh","cmd":"x","instances":0}`)
	var fresh struct{ Ports []int }
	_ = json.Unmarshal(r.body, &fresh)
	if len(fresh.Ports) != 1 || fresh.Ports[0] != 10002 {
		t.Fatalf("fresh app ports %v, want [10002]", fresh.Ports)
	}
	// The agent is known without re-registering; the deployment resumes.
	if d := a.desired(); len(d.Tasks) == 0 {
		t.Fatal("agent's desired state lost across restart")
	}
	h.converge(a)
	if h.deploymentCount() != 0 {
		t.Fatal("deployment did not resume after restart")
	}
	for _, tk := range h.tasks("/keep/web") {
		if tk.Spec.Cmd != "v2" || tk.State != wire.TaskRunning {
			t.Fatalf("task %s: cmd %q state %s", tk.ID, tk.Spec.Cmd, tk.State)
		}
	}
	if n := len(h.tasks("/keep/web")); n != 3 {
		t.Fatalf("%d tasks, want 3", n)
	}
}
