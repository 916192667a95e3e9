package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

func TestTaskSpecFromApp(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/shop/web","cpus":0.5,"mem":64,"env":{"A":"1"},"labels":{"HAPROXY_0_VHOST":"web.example"},
		"container":{"docker":{"image":"berth/hello","network":"BRIDGE","portMappings":[{"containerPort":80,"name":"http"}]}},
		"healthChecks":[{"protocol":"HTTP","path":"/health","portIndex":0,"maxConsecutiveFailures":2}],"taskKillGracePeriodSeconds":7}`)
	h.pass()
	d := a.desired()
	if len(d.Tasks) != 1 {
		t.Fatalf("desired = %+v", d)
	}
	s := d.Tasks[0]
	if !strings.HasPrefix(s.TaskID, "shop_web.") || s.AppID != "/shop/web" || s.Env["A"] != "1" || s.Labels["HAPROXY_0_VHOST"] != "web.example" {
		t.Fatalf("spec ids/env/labels: %+v", s)
	}
	if s.Container == nil || s.Container.Image != "berth/hello" || s.Container.Network != "BRIDGE" {
		t.Fatalf("container: %+v", s.Container)
	}
	if len(s.Ports) != 1 || s.Ports[0].HostPort != 31000 || s.Ports[0].ContainerPort != 80 || s.Ports[0].ServicePort != 10000 || s.Ports[0].Name != "http" {
		t.Fatalf("ports: %+v", s.Ports)
	}
	if len(s.HealthChecks) != 1 || s.HealthChecks[0].Path != "/health" || s.HealthChecks[0].MaxConsecutiveFailures != 2 || s.HealthChecks[0].IntervalSeconds != 60 {
		t.Fatalf("health: %+v", s.HealthChecks)
	}
	if s.KillGracePeriodSeconds != 7 || s.DrainSeconds != DefaultDrainSeconds || s.Resources.CPUs != 0.5 {
		t.Fatalf("grace/drain/resources: %+v", s)
	}
	// The long poll returns at once when the index is behind and waits
	// (bounded) when it is current.
	start := time.Now()
	res, err := http.Get(fmt.Sprintf("%s/internal/v1/agents/%s/desired?index=%d&wait=200ms", h.srv.URL, a.id, d.Index))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("long poll at the current index returned immediately")
	}
}

func TestHealthFailuresKillAndReplace(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/h","cmd":"x","cpus":0.1,"mem":16,
		"healthChecks":[{"protocol":"TCP","maxConsecutiveFailures":3}]}`)
	h.converge(a)
	tk := h.tasks("/h")[0]
	a.report(wire.TaskStatus{TaskID: tk.ID, State: wire.TaskRunning, Health: []wire.HealthResult{{Alive: true}}})
	if app := h.app("/h"); app["tasksHealthy"] != 1.0 {
		t.Fatalf("tasksHealthy = %v", app["tasksHealthy"])
	}
	a.report(wire.TaskStatus{TaskID: tk.ID, State: wire.TaskRunning, Health: []wire.HealthResult{{Alive: false, ConsecutiveFailures: 2}}})
	app := h.app("/h")
	if app["tasksUnhealthy"] != 1.0 {
		t.Fatalf("tasksUnhealthy = %v", app["tasksUnhealthy"])
	}
	hcr := app["tasks"].([]any)[0].(map[string]any)["healthCheckResults"].([]any)[0].(map[string]any)
	if hcr["alive"] != false || hcr["consecutiveFailures"] != 2.0 {
		t.Fatalf("healthCheckResults = %v", hcr)
	}
	if d := a.desired(); len(d.Kill) != 0 {
		t.Fatal("killed before maxConsecutiveFailures")
	}
	a.report(wire.TaskStatus{TaskID: tk.ID, State: wire.TaskRunning, Health: []wire.HealthResult{{Alive: false, ConsecutiveFailures: 3}}})
	if d := a.desired(); len(d.Kill) != 1 || d.Kill[0] != tk.ID || len(d.Tasks) != 0 {
		t.Fatalf("after 3 failures desired = %+v", d)
	}
	a.sync() // reports TASK_KILLED
	h.pass()
	if n := len(h.tasks("/h")); n != 0 {
		t.Fatalf("replaced without backoff: %d tasks", n)
	}
	h.clock.Advance(1100 * time.Millisecond)
	h.converge(a)
	if ts := h.tasks("/h"); len(ts) != 1 || ts[0].ID == tk.ID {
		t.Fatalf("unhealthy task not replaced: %v", ts)
	}
}

func TestAgentLostTasksRescheduled(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AgentTimeout = 10 * time.Second })
	a := h.agent("node-a", map[string]string{"rack": "r1"})
	h.must(201, "POST", "/v2/apps", `{"id":"/l","cmd":"x","cpus":0.1,"mem":16,"constraints":[["rack","LIKE","r1|r2"]]}`)
	h.converge(a)
	old := h.tasks("/l")[0]
	b := h.agent("node-b", map[string]string{"rack": "r2"})
	h.clock.Advance(11 * time.Second)
	b.desired() // b heartbeats, a stays silent
	h.pass()
	ts := h.tasks("/l")
	if len(ts) != 1 || ts[0].ID == old.ID || ts[0].AgentID != b.id {
		t.Fatalf("after losing node-a: %+v", ts)
	}
	if ltf := h.app("/l")["lastTaskFailure"].(map[string]any); ltf["state"] != "TASK_LOST" || ltf["taskId"] != old.ID {
		t.Fatalf("lastTaskFailure = %v", ltf)
	}
	slaves := h.must(200, "GET", "/master/slaves", "").json(t)["slaves"].([]any)
	for _, s := range slaves {
		s := s.(map[string]any)
		if s["hostname"] == "node-a" && s["active"] != false {
			t.Fatal("node-a still active")
		}
	}
	// When node-a comes back still running the old task, it is told to kill it.
	a.register([]wire.TaskStatus{{TaskID: old.ID, AppID: "/l", State: wire.TaskRunning}}, map[string]string{"rack": "r1"})
	if d := a.desired(); len(d.Kill) != 1 || d.Kill[0] != old.ID {
		t.Fatalf("returning agent's desired = %+v", d)
	}
}

func TestAgentReregistrationReconciles(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/rr","cmd":"x","instances":2,"cpus":0.1,"mem":16}`)
	h.converge(a)
	ts := h.tasks("/rr")
	// The agent restarts having lost ts[1] and running a stranger.
	a.register([]wire.TaskStatus{{TaskID: ts[0].ID, State: wire.TaskRunning}, {TaskID: "stranger.1", State: wire.TaskRunning}}, nil)
	d := a.desired()
	if len(d.Kill) != 1 || d.Kill[0] != "stranger.1" {
		t.Fatalf("unknown task not killed: %+v", d.Kill)
	}
	for _, tk := range h.tasks("/rr") {
		if tk.ID == ts[1].ID {
			t.Fatal("task missing on its agent was not marked lost")
		}
	}
	delete(a.running, ts[1].ID)
	a.running["stranger.1"] = wire.TaskRunning
	h.converge(a)
	if got := h.tasks("/rr"); len(got) != 2 {
		t.Fatalf("lost task not replaced: %d tasks", len(got))
	}
	if _, ok := a.running["stranger.1"]; ok {
		t.Fatal("stranger still running")
	}
	if d := a.desired(); len(d.Kill) != 0 {
		t.Fatalf("kill list not cleared: %v", d.Kill)
	}
}

func TestAgentSecret(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AgentSecret = "s3cret" })
	res, err := http.Post(h.srv.URL+"/internal/v1/agents", "application/json", strings.NewReader(`{"hostname":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("registration without secret: %d", res.StatusCode)
	}
	a := &fakeAgent{h: h, hostname: "x", secret: "s3cret", running: map[string]string{}}
	a.register(nil, nil)
	if a.id == "" {
		t.Fatal("registration with the secret failed")
	}
}

// TestRunLoopWakesLongPoll runs the real loop: a POST kicks a reconcile
// pass, the placed task wakes the agent's pending long poll.
func TestRunLoopWakesLongPoll(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	index := a.desired().Index
	got := make(chan wire.Desired, 1)
	go func() {
		res, err := http.Get(fmt.Sprintf("%s/internal/v1/agents/%s/desired?index=%d&wait=20s", h.srv.URL, a.id, index))
		if err != nil {
			got <- wire.Desired{}
			return
		}
		defer res.Body.Close()
		var d wire.Desired
		_ = json.NewDecoder(res.Body).Decode(&d)
		got <- d
	}()
	testenv.WaitFor(t, 5*time.Second, "long poll pending", func() error {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		if h.m.agents[a.id].polling == 0 {
			return fmt.Errorf("agent not polling yet")
		}
		return nil
	})
	h.must(201, "POST", "/v2/apps", `{"id":"/wake","cmd":"x","cpus":0.1,"mem":16}`)
	select {
	case d := <-got:
		if len(d.Tasks) != 1 || d.Tasks[0].AppID != "/wake" || d.Index <= index {
			t.Fatalf("long poll answered %+v", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll not woken by the launch")
	}
}

func TestUnreportedTasks(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/u","cmd":"x","cpus":0.1,"mem":16}`)
	h.pass()
	first := h.tasks("/u")
	if len(first) != 1 || first[0].Reported {
		t.Fatalf("tasks = %+v", first)
	}
	// Killing a task the agent never reported drops it at once.
	h.must(200, "PUT", "/v2/apps/u?force=true", `{"instances":0}`)
	h.pass()
	if n := len(h.tasks("/u")); n != 0 || h.deploymentCount() != 0 {
		t.Fatalf("after scaling to 0: %d tasks, %d deployments", n, h.deploymentCount())
	}
	// A task its agent never reports is lost after the launch timeout.
	h.must(200, "PUT", "/v2/apps/u", `{"instances":1}`)
	h.pass()
	staged := h.tasks("/u")[0]
	h.clock.Advance(LaunchTimeout + time.Second)
	a.desired() // the agent is alive, it just never reports the task
	h.pass()
	ts := h.tasks("/u")
	if len(ts) != 1 || ts[0].ID == staged.ID {
		t.Fatalf("unreported task not replaced: %+v", ts)
	}
	if ltf := h.app("/u")["lastTaskFailure"].(map[string]any); ltf["state"] != "TASK_LOST" {
		t.Fatalf("lastTaskFailure = %v", ltf)
	}
}

func TestDeleteAppWithUnreportedTasks(t *testing.T) {
	h := newHarness(t, nil)
	h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/gone","cmd":"x","instances":2,"cpus":0.1,"mem":16}`)
	h.pass()
	h.must(200, "DELETE", "/v2/apps/gone", "")
	h.pass()
	if h.deploymentCount() != 0 {
		t.Fatal("StopApplication waits for tasks the agent never had")
	}
	h.m.mu.Lock()
	n := len(h.m.tasks)
	h.m.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d tasks left", n)
	}
}

func TestUnreachableStrategy(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AgentTimeout = 5 * time.Second })
	a := h.agent("node-a", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/un","cmd":"x","cpus":0.1,"mem":16,"constraints":[["hostname","UNIQUE"]],
		"unreachableStrategy":{"inactiveAfterSeconds":10,"expungeAfterSeconds":20}}`)
	h.converge(a)
	first := h.tasks("/un")[0]
	b := h.agent("node-b", nil)
	step := func(d time.Duration) {
		h.clock.Advance(d)
		b.desired()
		h.pass()
	}
	step(6 * time.Second) // node-a lost
	if ts := h.tasks("/un"); len(ts) != 1 || ts[0].State != wire.TaskUnreachable {
		t.Fatalf("after losing node-a: %+v", ts)
	}
	step(11 * time.Second) // inactive: a replacement starts on node-b
	ts := h.tasks("/un")
	if len(ts) != 2 {
		t.Fatalf("no replacement after inactiveAfterSeconds: %+v", ts)
	}
	step(10 * time.Second) // expunged
	ts = h.tasks("/un")
	if len(ts) != 1 || ts[0].ID == first.ID || ts[0].AgentID != b.id {
		t.Fatalf("after expungeAfterSeconds: %+v", ts)
	}
	// A lost agent polling again is told to register.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/internal/v1/agents/%s/desired?wait=0s", h.srv.URL, a.id), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("lost agent's poll: %d, want 404", res.StatusCode)
	}
}
