package master

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

func TestReplaceWorkedExamples(t *testing.T) {
	// The reference's table (§1.9.2), all tasks old at the start.
	tests := []struct {
		n                  int
		minHC, maxOC       float64
		minHealthy, maxCap int
		killNow, startNow  int
	}{
		{4, 1.0, 1.0, 4, 8, 0, 4},
		{3, 1.0, 0.0, 3, 4, 0, 1},
		{10, 0.5, 0.2, 5, 12, 5, 7},
		{10, 0.9, 0.0, 9, 10, 1, 1},
		{10, 1.0, 0.1, 10, 11, 0, 1},
		{5, 0.0, 0.0, 0, 5, 5, 5},
		{3, 0.7, 0.5, 3, 4, 0, 1},
	}
	for _, tt := range tests {
		s := Replace(ReplaceInput{Instances: tt.n, MinimumHealthCapacity: tt.minHC, MaximumOverCapacity: tt.maxOC, Old: tt.n})
		if s.MinHealthy != tt.minHealthy || s.MaxCapacity != tt.maxCap || s.KillOld != tt.killNow || s.StartNew != tt.startNow {
			t.Errorf("n=%d minHC=%v maxOC=%v: got %+v, want minHealthy %d maxCapacity %d kill %d start %d",
				tt.n, tt.minHC, tt.maxOC, s, tt.minHealthy, tt.maxCap, tt.killNow, tt.startNow)
		}
	}
	// 10/0.5/0.2 continued: after killing 5 and starting 7, each new ready
	// task frees one old; once all old are gone the last 3 start.
	s := Replace(ReplaceInput{Instances: 10, MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0.2, Old: 5, New: 7, NewReady: 2})
	if s.KillOld != 2 || s.StartNew != 2 {
		t.Errorf("mid-way: %+v, want kill 2 start 2", s)
	}
	s = Replace(ReplaceInput{Instances: 10, MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0.2, Old: 0, New: 7, NewReady: 7})
	if s.StartNew != 3 {
		t.Errorf("end: %+v, want start 3", s)
	}
}

// TestReplaceInvariants checks, over many states, that a step never drops
// below minHealthy up tasks nor goes over capacity.
func TestReplaceInvariants(t *testing.T) {
	for n := 0; n <= 12; n++ {
		for _, minHC := range []float64{0, 0.3, 0.5, 0.7, 0.9, 1} {
			for _, maxOC := range []float64{0, 0.1, 0.2, 0.5, 1} {
				for old := 0; old <= n; old++ {
					for cur := 0; cur <= n; cur++ {
						for ready := 0; ready <= cur; ready++ {
							in := ReplaceInput{Instances: n, MinimumHealthCapacity: minHC, MaximumOverCapacity: maxOC, Old: old, New: cur, NewReady: ready}
							s := Replace(in)
							up := old - s.KillOld + ready
							if s.KillOld > 0 && up < s.MinHealthy {
								t.Fatalf("%+v → %+v leaves %d up < minHealthy", in, s, up)
							}
							if s.StartNew > 0 && old-s.KillOld+cur+s.StartNew > s.MaxCapacity {
								t.Fatalf("%+v → %+v exceeds capacity", in, s)
							}
							if cur+s.StartNew > n {
								t.Fatalf("%+v → %+v starts more than n", in, s)
							}
						}
					}
				}
			}
		}
	}
}

func TestBackoffDelays(t *testing.T) {
	for _, tt := range []struct {
		k, secs int
		factor  float64
		max     int
		want    time.Duration
	}{
		{1, 1, 1.15, 3600, time.Second},
		{2, 1, 1.15, 3600, 1150 * time.Millisecond},
		{3, 10, 2, 3600, 40 * time.Second},
		{6, 10, 2, 300, 300 * time.Second},
		{100, 1, 1.15, 3600, 3600 * time.Second},
	} {
		if got := BackoffDelay(tt.k, tt.secs, tt.factor, tt.max); got != tt.want {
			t.Errorf("BackoffDelay(%d, %d, %v, %d) = %v, want %v", tt.k, tt.secs, tt.factor, tt.max, got, tt.want)
		}
	}
}

func taskIDs(ts []*Task) map[string]bool {
	out := map[string]bool{}
	for _, t := range ts {
		out[t.ID] = true
	}
	return out
}

func TestScaleOnlyNeverRestarts(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/s","cmd":"x","instances":2,"cpus":0.1,"mem":16}`)
	h.converge(a)
	before := taskIDs(h.tasks("/s"))
	if len(before) != 2 || h.deploymentCount() != 0 {
		t.Fatalf("after create: %d tasks, %d deployments", len(before), h.deploymentCount())
	}
	h.clock.Advance(5 * time.Second) // within the agent timeout
	h.must(200, "PUT", "/v2/apps/s", `{"instances":4}`)
	h.pass()
	for id := range before {
		for _, tk := range h.tasks("/s") {
			if tk.ID == id && tk.Killing {
				t.Fatalf("scale up kills %s", id)
			}
		}
	}
	h.converge(a)
	after := taskIDs(h.tasks("/s"))
	for id := range before {
		if !after[id] {
			t.Fatalf("scale-only change restarted task %s", id)
		}
	}
	if len(after) != 4 || h.deploymentCount() != 0 {
		t.Fatalf("after scale: %d tasks, %d deployments", len(after), h.deploymentCount())
	}
	// Scale down keeps the oldest (YOUNGEST_FIRST kills the new ones).
	h.must(200, "PUT", "/v2/apps/s", `{"instances":2}`)
	h.converge(a)
	if got := taskIDs(h.tasks("/s")); len(got) != 2 || !sameKeys(got, before) {
		t.Fatalf("scale down kept %v, want the original tasks %v", got, before)
	}
}

func sameKeys(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// TestRollingRestartOneAtATime runs n=3, minimumHealthCapacity 1,
// maximumOverCapacity 0: one new task at a time, an old one killed only
// after a new one is healthy, never fewer than 3 up, never more than 4.
func TestRollingRestartOneAtATime(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/r","cmd":"v1","instances":3,"cpus":0.1,"mem":16,
		"healthChecks":[{"protocol":"TCP","portIndex":0}],"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":0}}`)
	healthy := func() {
		for _, tk := range h.tasks("/r") {
			if tk.State == wire.TaskRunning && len(tk.Health) == 0 {
				a.report(wire.TaskStatus{TaskID: tk.ID, State: wire.TaskRunning, Health: []wire.HealthResult{{Alive: true}}})
			}
		}
	}
	for i := 0; i < 5; i++ {
		h.converge(a)
		healthy()
	}
	h.pass()
	if h.deploymentCount() != 0 || h.app("/r")["tasksHealthy"] != 3.0 {
		t.Fatalf("create did not finish: %v", h.app("/r"))
	}
	original := taskIDs(h.tasks("/r"))
	h.must(200, "PUT", "/v2/apps/r", `{"cmd":"v2"}`)
	for round := 0; round < 30 && h.deploymentCount() > 0; round++ {
		h.pass()
		old, cur, up := 0, 0, 0
		for _, tk := range h.tasks("/r") {
			if tk.Killing {
				continue
			}
			if original[tk.ID] {
				old++
				up++
			} else {
				cur++
				if tk.ready() {
					up++
				}
			}
		}
		if up < 3 || old+cur > 4 {
			t.Fatalf("round %d: %d old, %d new, %d up — breaks minHealthy 3 / maxCapacity 4", round, old, cur, up)
		}
		if cur > 1 && old == 3 {
			t.Fatalf("round %d: started %d new tasks before killing an old one", round, cur)
		}
		a.sync()
		h.pass()
		healthy()
	}
	if h.deploymentCount() != 0 {
		t.Fatal("rolling restart never finished")
	}
	for _, tk := range h.tasks("/r") {
		if original[tk.ID] || tk.Spec.Cmd != "v2" {
			t.Fatalf("task %s (cmd %q) survived the restart", tk.ID, tk.Spec.Cmd)
		}
	}
	if n := len(h.tasks("/r")); n != 3 {
		t.Fatalf("%d tasks after restart, want 3", n)
	}
}

func TestRestartEndpointAndDeploymentRollback(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/rs","cmd":"x","instances":2,"cpus":0.1,"mem":16}`)
	h.converge(a)
	info := h.app("/rs")["versionInfo"].(map[string]any)
	first := taskIDs(h.tasks("/rs"))
	h.clock.Advance(time.Second)
	h.must(200, "POST", "/v2/apps/rs/restart", "")
	h.converge(a)
	for id := range taskIDs(h.tasks("/rs")) {
		if first[id] {
			t.Fatalf("restart kept task %s", id)
		}
	}
	info2 := h.app("/rs")["versionInfo"].(map[string]any)
	if info2["lastConfigChangeAt"] != info["lastConfigChangeAt"] || info2["lastScalingAt"] == info["lastScalingAt"] {
		t.Fatalf("restart versionInfo %v (was %v)", info2, info)
	}
	// A deployment that cannot finish (no room) is rolled back by DELETE.
	r := h.must(200, "PUT", "/v2/apps/rs", `{"cpus":100}`)
	dep := r.json(t)["deploymentId"].(string)
	h.pass()
	r = h.must(200, "DELETE", "/v2/deployments/"+dep, "")
	h.converge(a)
	if app := h.app("/rs"); app["cpus"] != 0.1 || h.deploymentCount() != 0 || app["tasksRunning"] != 2.0 {
		t.Fatalf("rollback: cpus %v, deployments %d, running %v", app["cpus"], h.deploymentCount(), app["tasksRunning"])
	}
	// force=true just stops it.
	r = h.must(200, "PUT", "/v2/apps/rs", `{"cpus":100}`)
	dep = r.json(t)["deploymentId"].(string)
	h.must(202, "DELETE", "/v2/deployments/"+dep+"?force=true", "")
	if h.deploymentCount() != 0 || h.app("/rs")["cpus"] != 100.0 {
		t.Fatal("force delete did not just stop the deployment")
	}
}

func TestBackoffAndQueue(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/crash","cmd":"false","cpus":0.1,"mem":16}`)
	h.converge(a)
	fail := func() {
		tk := h.tasks("/crash")[0]
		code := 1
		delete(a.running, tk.ID)
		a.report(wire.TaskStatus{TaskID: tk.ID, State: wire.TaskFailed, Message: "exit 1", ExitCode: &code})
		h.pass()
	}
	fail()
	if n := len(h.tasks("/crash")); n != 0 {
		t.Fatalf("relaunched during backoff: %d tasks", n)
	}
	q := h.must(200, "GET", "/v2/queue", "").json(t)["queue"].([]any)
	if len(q) != 1 {
		t.Fatalf("queue = %v", q)
	}
	delay := q[0].(map[string]any)["delay"].(map[string]any)
	if delay["timeLeftSeconds"] != 1.0 || delay["overdue"] != false {
		t.Fatalf("delay = %v", delay)
	}
	if ltf := h.app("/crash")["lastTaskFailure"].(map[string]any); ltf["state"] != "TASK_FAILED" || ltf["message"] != "exit 1" {
		t.Fatalf("lastTaskFailure = %v", ltf)
	}
	h.clock.Advance(1100 * time.Millisecond)
	h.converge(a)
	fail()
	h.m.mu.Lock()
	d := h.m.apps["/crash"].backoff.delay
	h.m.mu.Unlock()
	if d != 1150*time.Millisecond {
		t.Fatalf("second delay %v, want 1.15s", d)
	}
	h.must(204, "DELETE", "/v2/queue/crash/delay", "")
	h.pass()
	if n := len(h.tasks("/crash")); n != 1 {
		t.Fatalf("after resetting the delay: %d tasks, want 1", n)
	}
	h.must(404, "DELETE", "/v2/queue/nope/delay", "")
}

func TestQueueExplainsUnplaced(t *testing.T) {
	h := newHarness(t, nil)
	h.agent("node-1", map[string]string{"rack": "r1"})
	h.must(201, "POST", "/v2/apps", `{"id":"/picky","cmd":"x","cpus":0.1,"mem":16,"constraints":[["rack","LIKE","r9"]]}`)
	h.pass()
	q := h.must(200, "GET", "/v2/queue", "").json(t)["queue"].([]any)
	if len(q) != 1 {
		t.Fatalf("queue = %s", h.must(200, "GET", "/v2/queue", "").body)
	}
	e := q[0].(map[string]any)
	if e["count"] != 1.0 || e["explanation"] != "unplaced 1 of 1: rack LIKE r9 not matched on 1 agent" {
		t.Fatalf("queue entry: count %v explanation %q", e["count"], e["explanation"])
	}
	rs := e["processedOffersSummary"].(map[string]any)["rejectSummaryLastOffers"].([]any)
	if len(rs) != 1 || rs[0].(map[string]any)["declined"] != 1.0 {
		t.Fatalf("reject summary = %v", rs)
	}
}

// TestFullReplacementWithSameDefinitionIsScale: a partialUpdate=false PUT
// that leaves servicePorts automatic keeps the app's ports, so only the
// instance count differs and nothing restarts.
func TestFullReplacementWithSameDefinitionIsScale(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	def := `{"id":"/same","cmd":"x","cpus":0.1,"mem":16,"instances":%d}`
	h.must(201, "POST", "/v2/apps", fmt.Sprintf(def, 1))
	h.converge(a)
	before := taskIDs(h.tasks("/same"))
	h.must(200, "PUT", "/v2/apps/same?partialUpdate=false", fmt.Sprintf(def, 2))
	h.converge(a)
	after := taskIDs(h.tasks("/same"))
	for id := range before {
		if !after[id] {
			t.Fatal("the unchanged definition restarted its task")
		}
	}
	if len(after) != 2 {
		t.Fatalf("%d tasks, want 2", len(after))
	}
}

func TestNewVersionResetsBackoff(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/bo","cmd":"false","cpus":0.1,"mem":16,"backoffSeconds":60}`)
	h.converge(a)
	tk := h.tasks("/bo")[0]
	delete(a.running, tk.ID)
	a.report(wire.TaskStatus{TaskID: tk.ID, State: wire.TaskFinished})
	h.pass()
	if n := len(h.tasks("/bo")); n != 0 {
		t.Fatal("TASK_FINISHED did not delay the relaunch")
	}
	h.must(200, "PUT", "/v2/apps/bo?force=true", `{"cmd":"true"}`)
	h.pass()
	if n := len(h.tasks("/bo")); n != 1 {
		t.Fatalf("new version did not reset the backoff: %d tasks", n)
	}
}

func TestDependenciesOrderTheDeployment(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	r := h.must(200, "PUT", "/v2/apps", `[{"id":"/app/web","cmd":"w","cpus":0.1,"mem":16,"dependencies":["db"]},
		{"id":"/app/db","cmd":"d","cpus":0.1,"mem":16}]`)
	dep := r.json(t)["deploymentId"].(string)
	var list []map[string]any
	_ = json.Unmarshal(h.must(200, "GET", "/v2/deployments", "").body, &list)
	steps, _ := json.Marshal(list[0]["steps"])
	want := `[{"actions":[{"action":"StartApplication","app":"/app/db"}]},{"actions":[{"action":"StartApplication","app":"/app/web"}]},` +
		`{"actions":[{"action":"ScaleApplication","app":"/app/db"}]},{"actions":[{"action":"ScaleApplication","app":"/app/web"}]}]`
	if list[0]["id"] != dep || string(steps) != want {
		t.Fatalf("steps = %s\nwant    %s", steps, want)
	}
	h.pass()
	if len(h.tasks("/app/db")) != 1 || len(h.tasks("/app/web")) != 0 {
		t.Fatal("web launched before db runs")
	}
	h.converge(a)
	if len(h.tasks("/app/web")) != 1 || h.deploymentCount() != 0 {
		t.Fatal("web not launched after db")
	}
	r = h.do("PUT", "/v2/apps", `[{"id":"/c/a","cmd":"x","dependencies":["/c/b"]},{"id":"/c/b","cmd":"x","dependencies":["/c/a"]}]`)
	if r.code != 422 || !strings.Contains(string(r.body), "cyclic") {
		t.Fatalf("cycle: %d %s", r.code, r.body)
	}
}
