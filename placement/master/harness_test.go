package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/store"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// harness is a master over a bbolt store in a temp dir, served by
// httptest, driven by explicit reconcile passes (no background loop, no
// sleeps).
type harness struct {
	t     *testing.T
	dir   string
	st    store.Store
	m     *Master
	srv   *httptest.Server
	clock *fakeClock
	cfg   Config
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	h.cfg = Config{Now: h.clock.Now, AgentTimeout: 15 * time.Second, Seed: 1}
	if mod != nil {
		mod(&h.cfg)
	}
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	st, err := store.OpenBolt(store.BoltConfig{Dir: h.dir})
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	cfg := h.cfg
	cfg.Store = st
	m, err := New(context.Background(), cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.m = m
	h.srv = httptest.NewServer(m.Handler())
	srv := h.srv
	h.t.Cleanup(func() {
		srv.Close()
		_ = st.Close()
	})
}

// restart stops the master (server and store) and starts a new one on the
// same directory.
func (h *harness) restart() {
	h.t.Helper()
	h.srv.Close()
	if err := h.st.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.start()
}

// pass runs one full reconcile pass.
func (h *harness) pass() { h.m.reconcile(true) }

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response %d %s is not a JSON object: %v", r.code, r.body, err)
	}
	return v
}

func (h *harness) do(method, path, body string, hdr ...string) resp {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	oracleCheck(h.t, method, path, res.StatusCode, b) // Marathon's JSON Schemas (schema_test.go)
	return resp{code: res.StatusCode, header: res.Header, body: b}
}

func (h *harness) must(code int, method, path, body string) resp {
	h.t.Helper()
	r := h.do(method, path, body)
	if r.code != code {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.code, code, r.body)
	}
	return r
}

// app returns GET /v2/apps/{id}'s app object.
func (h *harness) app(id string) map[string]any {
	h.t.Helper()
	return h.must(200, "GET", "/v2/apps"+id, "").json(h.t)["app"].(map[string]any)
}

// tasks returns the app's tasks from the master's memory, sorted by id.
func (h *harness) tasks(id string) []*Task {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	as := h.m.apps[id]
	if as == nil {
		return nil
	}
	var out []*Task
	for _, t := range sortedTasks(as.tasks) {
		c := *t
		out = append(out, &c)
	}
	return out
}

func (h *harness) deploymentCount() int {
	var list []any
	if err := json.Unmarshal(h.must(200, "GET", "/v2/deployments", "").body, &list); err != nil {
		h.t.Fatal(err)
	}
	return len(list)
}

// fakeAgent speaks the agent side of internal/wire over HTTP.
type fakeAgent struct {
	h        *harness
	id       string
	hostname string
	seq      uint64
	index    uint64
	secret   string
	// running are the tasks this agent runs, by id, with their state.
	running map[string]string
	// health, when set for a task, is reported with its updates.
	health map[string][]wire.HealthResult
}

func (h *harness) agent(hostname string, attrs map[string]string) *fakeAgent {
	h.t.Helper()
	a := &fakeAgent{h: h, hostname: hostname, running: map[string]string{}, health: map[string][]wire.HealthResult{}}
	a.register(nil, attrs)
	return a
}

func (a *fakeAgent) post(path string, in, out any) int {
	a.h.t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", a.h.srv.URL+path, bytes.NewReader(b))
	if a.secret != "" {
		req.Header.Set("Authorization", "Bearer "+a.secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.h.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode == 200 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			a.h.t.Fatal(err)
		}
	}
	return res.StatusCode
}

func (a *fakeAgent) register(tasks []wire.TaskStatus, attrs map[string]string) {
	a.h.t.Helper()
	reg := wire.Registration{ID: a.id, Hostname: a.hostname, AdvertiseIP: "127.0.0.1", URL: "http://" + a.hostname,
		Attributes: attrs, Resources: wire.Resources{CPUs: 8, Mem: 8192, Disk: 10000,
			Ports: []wire.PortRange{{Begin: 31000, End: 31100}}}, Tasks: tasks}
	var out wire.Registered
	if code := a.post("/internal/v1/agents", reg, &out); code != 200 {
		a.h.t.Fatalf("register %s: status %d", a.hostname, code)
	}
	a.id = out.ID
}

// desired fetches the desired state without waiting.
func (a *fakeAgent) desired() wire.Desired {
	a.h.t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/internal/v1/agents/%s/desired?index=0&wait=0s", a.h.srv.URL, a.id), nil)
	if a.secret != "" {
		req.Header.Set("Authorization", "Bearer "+a.secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.h.t.Fatal(err)
	}
	defer res.Body.Close()
	var d wire.Desired
	if res.StatusCode != 200 {
		a.h.t.Fatalf("desired: status %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		a.h.t.Fatal(err)
	}
	a.index = d.Index
	return d
}

func (a *fakeAgent) report(updates ...wire.TaskStatus) {
	a.h.t.Helper()
	for i := range updates {
		a.seq++
		updates[i].Seq = a.seq
		if updates[i].Timestamp == "" {
			updates[i].Timestamp = ts(a.h.clock.Now())
		}
		if h, ok := a.health[updates[i].TaskID]; ok && updates[i].Health == nil {
			updates[i].Health = h
		}
	}
	var ack wire.Ack
	if code := a.post("/internal/v1/agents/"+a.id+"/status", wire.StatusBatch{Updates: updates}, &ack); code != 200 {
		a.h.t.Fatalf("status: code %d", code)
	}
	if len(ack.Acked) != len(updates) {
		a.h.t.Fatalf("acked %v for %d updates", ack.Acked, len(updates))
	}
}

// sync makes the agent converge on its desired state: new tasks start
// (RUNNING), killed ones report TASK_KILLED.
func (a *fakeAgent) sync() {
	a.h.t.Helper()
	d := a.desired()
	want := map[string]bool{}
	var ups []wire.TaskStatus
	for _, spec := range d.Tasks {
		want[spec.TaskID] = true
		if _, ok := a.running[spec.TaskID]; !ok {
			a.running[spec.TaskID] = wire.TaskRunning
			ups = append(ups, wire.TaskStatus{TaskID: spec.TaskID, AppID: spec.AppID, State: wire.TaskRunning})
		}
	}
	for id := range a.running {
		if !want[id] {
			delete(a.running, id)
			ups = append(ups, wire.TaskStatus{TaskID: id, State: wire.TaskKilled})
		}
	}
	if len(ups) > 0 {
		a.report(ups...)
	}
}

// converge alternates reconcile passes and agent syncs until nothing moves.
func (h *harness) converge(agents ...*fakeAgent) {
	h.t.Helper()
	for i := 0; i < 20; i++ {
		h.pass()
		before := h.fingerprint()
		for _, a := range agents {
			a.sync()
		}
		h.pass()
		if h.fingerprint() == before {
			return
		}
	}
	h.t.Fatal("did not converge in 20 rounds")
}

func (h *harness) fingerprint() string {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	var b strings.Builder
	for _, t := range sortedTasks(h.m.tasks) {
		fmt.Fprintf(&b, "%s %s %v;", t.ID, t.State, t.Killing)
	}
	fmt.Fprintf(&b, "deps=%d", len(h.m.deployments))
	return b.String()
}
