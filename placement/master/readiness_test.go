package master

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/marathon"
)

// readyServer answers /ready with status (503 until set to 200) on a
// port of its own, which is also the only port of the agent it belongs to.
type readyServer struct {
	port   int
	status atomic.Int32
}

func startReadyServer(t *testing.T) *readyServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &readyServer{port: ln.Addr().(*net.TCPAddr).Port}
	s.status.Store(http.StatusServiceUnavailable)
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(int(s.status.Load()))
		_, _ = w.Write([]byte("status " + strconv.Itoa(int(s.status.Load()))))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// portAgent registers an agent whose only host port is port, so its task
// is reachable at 127.0.0.1:port.
func (h *harness) portAgent(hostname string, port int) *fakeAgent {
	h.t.Helper()
	a := &fakeAgent{h: h, hostname: hostname, running: map[string]string{}, health: map[string][]wire.HealthResult{}}
	reg := wire.Registration{Hostname: hostname, AdvertiseIP: "127.0.0.1", URL: "http://" + hostname,
		Resources: wire.Resources{CPUs: 4, Mem: 4096, Disk: 1000, Ports: []wire.PortRange{{Begin: port, End: port}}}}
	var out wire.Registered
	if code := a.post("/internal/v1/agents", reg, &out); code != 200 {
		h.t.Fatalf("register: %d", code)
	}
	a.id = out.ID
	return a
}

func (h *harness) probe() {
	h.t.Helper()
	h.m.probeReadiness(context.Background(), newReadinessClient())
}

func firstDeployment(t *testing.T, h *harness) map[string]any {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(h.must(200, "GET", "/v2/deployments", "").body, &list); err != nil || len(list) == 0 {
		t.Fatalf("deployments: %v %v", list, err)
	}
	return list[0]
}

const readyApp = `{"id":"/rc","cmd":"serve","cpus":0.1,"mem":16,
	"portDefinitions":[{"port":0,"name":"http-api"}],
	"readinessChecks":[{"path":"/ready","intervalSeconds":2,"timeoutSeconds":1,"preserveLastResponse":true}]}`

func TestReadinessGatesDeployment(t *testing.T) {
	h := newHarness(t, nil)
	srv := startReadyServer(t)
	a := h.portAgent("a1", srv.port)
	app := h.must(201, "POST", "/v2/apps", readyApp).json(t)
	rc := app["readinessChecks"].([]any)[0].(map[string]any)
	if rc["name"] != "readinessCheck" || rc["protocol"] != "HTTP" || rc["portName"] != "http-api" ||
		rc["httpStatusCodesForReady"].([]any)[0] != 200.0 {
		t.Fatalf("defaults not echoed: %v", rc)
	}
	h.converge(a)
	h.probe()
	h.converge(a)
	if n := h.deploymentCount(); n != 1 {
		t.Fatalf("deployment finished while the task is not ready (%d left)", n)
	}
	d := firstDeployment(t, h)
	res := d["currentActions"].([]any)[0].(map[string]any)["readinessCheckResults"].([]any)
	r0 := res[0].(map[string]any)
	if r0["ready"] != false || r0["name"] != "readinessCheck" ||
		r0["lastResponse"].(map[string]any)["status"] != 503.0 || r0["lastResponse"].(map[string]any)["body"] != "status 503" {
		t.Fatalf("readinessCheckResults = %v", res)
	}
	emb := h.must(200, "GET", "/v2/apps/rc?embed=app.readiness", "").json(t)["app"].(map[string]any)
	if rs := emb["readinessCheckResults"].([]any); len(rs) != 1 || rs[0].(map[string]any)["ready"] != false {
		t.Fatalf("embed=app.readiness: %v", emb["readinessCheckResults"])
	}
	srv.status.Store(200)
	h.probe() // not due yet: intervalSeconds 2 has not passed
	h.converge(a)
	if h.deploymentCount() != 1 {
		t.Fatal("a check ran before its interval")
	}
	h.clock.Advance(2 * time.Second)
	h.probe()
	h.converge(a)
	if n := h.deploymentCount(); n != 0 {
		t.Fatalf("deployment still running after the task became ready: %v", firstDeployment(t, h))
	}
	list := h.must(200, "GET", "/v2/apps?embed=apps.readiness", "").json(t)["apps"].([]any)
	if rs := list[0].(map[string]any)["readinessCheckResults"].([]any); rs[0].(map[string]any)["ready"] != true {
		t.Fatalf("embed=apps.readiness after ready: %v", rs)
	}
	root := h.must(200, "GET", "/v2/groups?embed=group.apps&embed=group.apps.readiness", "").json(t)
	ga := root["apps"].([]any)[0].(map[string]any)
	if rs, _ := ga["readinessCheckResults"].([]any); len(rs) != 1 || rs[0].(map[string]any)["ready"] != true {
		t.Fatalf("embed=group.apps.readiness: %v", ga)
	}
}

func TestReadinessHoldsOldTasksDuringRestart(t *testing.T) {
	h := newHarness(t, nil)
	s1, s2 := startReadyServer(t), startReadyServer(t)
	s1.status.Store(200)
	a1, a2 := h.portAgent("a1", s1.port), h.portAgent("a2", s2.port)
	h.must(201, "POST", "/v2/apps", readyApp)
	// Only a1 is synced, so the first task surely lands on it? Placement
	// picks either agent; find the one that got the task.
	h.converge(a1, a2)
	h.probe()
	h.converge(a1, a2)
	first := h.tasks("/rc")
	if len(first) != 1 {
		t.Fatalf("tasks = %d", len(first))
	}
	if h.deploymentCount() != 0 {
		// The first task landed on a2 (503): make it ready.
		s2.status.Store(200)
		h.clock.Advance(2 * time.Second)
		h.probe()
		h.converge(a1, a2)
	}
	// The replacement goes to the other agent; make that one answer 503.
	other := s2
	if first[0].AgentID == a2.id {
		other = s1
	}
	other.status.Store(503)
	h.must(200, "PUT", "/v2/apps/rc", `{"cmd":"serve --v2","upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":1}}`)
	h.converge(a1, a2)
	h.probe()
	h.converge(a1, a2)
	live := 0
	for _, tk := range h.tasks("/rc") {
		if !terminal(tk.State) && !tk.Killing {
			live++
		}
	}
	if live != 2 || h.deploymentCount() != 1 {
		t.Fatalf("old task killed before the new one was ready: live=%d deployments=%d", live, h.deploymentCount())
	}
	other.status.Store(200)
	h.clock.Advance(2 * time.Second)
	h.probe()
	h.converge(a1, a2)
	var left []*Task
	for _, tk := range h.tasks("/rc") {
		if !terminal(tk.State) {
			left = append(left, tk)
		}
	}
	if len(left) != 1 || left[0].ID == first[0].ID || h.deploymentCount() != 0 {
		t.Fatalf("after ready: tasks %v, deployments %d", left, h.deploymentCount())
	}
}

func TestReadinessTargetAndRule(t *testing.T) {
	c := marathon.ReadinessDefaults()
	c.Path, c.HTTPStatusCodesForReady = "/r", []int{200, 204}
	task := &Task{Spec: wire.TaskSpec{Ports: []wire.TaskPort{{Name: "admin", HostPort: 31001},
		{Name: "http-api", HostPort: 0, ContainerPort: 8080}}}, IPAddress: "172.17.0.5"}
	for _, tc := range []struct {
		name, portName, proto, want string
		wantErr                     bool
	}{
		{"container address when no host port", "http-api", "HTTP", "http://172.17.0.5:8080/r", false},
		{"host port on the agent", "admin", "HTTPS", "https://10.0.0.1:31001/r", false},
		{"unknown port name", "metrics", "HTTP", "", true},
	} {
		c.PortName, c.Protocol = tc.portName, tc.proto
		got, err := readinessTarget(c, task, "10.0.0.1")
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, got, err, tc.want)
		}
	}
	for status, want := range map[int]bool{200: true, 204: true, 503: false, 301: false} {
		if evaluateReadiness(c, status) != want {
			t.Errorf("status %d: ready = %v", status, !want)
		}
	}
}
