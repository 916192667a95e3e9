package lbsync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeHAProxy records what the target asked of HAProxy.
type fakeHAProxy struct {
	running     bool
	validateErr error
	rejectText  string // validation fails for configs containing it
	reloadErr   error
	runtimeErr  error
	calls       []string
	runtime     [][]string
}

func (f *fakeHAProxy) Validate(_ context.Context, path string) error {
	f.calls = append(f.calls, "validate")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if f.rejectText != "" && strings.Contains(string(b), f.rejectText) {
		return errors.New("rejected " + f.rejectText)
	}
	return f.validateErr
}

func (f *fakeHAProxy) Start(context.Context) (bool, error) {
	if f.running {
		return false, nil
	}
	f.running = true
	f.calls = append(f.calls, "start")
	return true, nil
}

func (f *fakeHAProxy) Reload(context.Context) error {
	f.calls = append(f.calls, "reload")
	return f.reloadErr
}

func (f *fakeHAProxy) Runtime(_ context.Context, cmds []string) error {
	f.calls = append(f.calls, "runtime")
	f.runtime = append(f.runtime, cmds)
	return f.runtimeErr
}

func (f *fakeHAProxy) ServersState(context.Context) ([]byte, error) {
	f.calls = append(f.calls, "state")
	return []byte("1\n"), nil
}

func newFakeTarget(t *testing.T) (*HAProxyTarget, *fakeHAProxy, string) {
	dir := t.TempDir()
	f := &fakeHAProxy{}
	cfg := filepath.Join(dir, "haproxy.cfg")
	return NewHAProxyTarget(HAProxyTargetConfig{HAProxy: f, ConfigPath: cfg,
		Settings: HAProxySettings{StatsSocket: filepath.Join(dir, "s"), StateFile: filepath.Join(dir, "state")}}), f, cfg
}

func model(t *testing.T, insts ...Instance) Model {
	m, w := BuildModel(Snapshot{Instances: insts}, Rules{HTTPPort: 80})
	if len(w) > 0 {
		t.Fatalf("warnings: %v", w)
	}
	return m
}

func TestHAProxyTargetDecisions(t *testing.T) {
	ctx := context.Background()
	h, f, cfg := newFakeTarget(t)
	a, b := inst("/a", 10001, "10.0.0.1", 1), inst("/a", 10001, "10.0.0.2", 2)

	out, err := h.Apply(ctx, model(t, a))
	if err != nil || out.Action != ActionStart {
		t.Fatalf("first apply: %+v, %v", out, err)
	}
	// Same model: nothing.
	if out, _ := h.Apply(ctx, model(t, a)); out.Action != ActionNone {
		t.Errorf("unchanged model: %s", out.Action)
	}
	// A new backend: runtime API, no reload.
	f.calls = nil
	out, err = h.Apply(ctx, model(t, a, b))
	if err != nil || out.Action != ActionRuntime || slices.Contains(f.calls, "reload") {
		t.Fatalf("scale up: %+v, %v, calls %v", out, err, f.calls)
	}
	want := []string{"set server a_10001/s2 addr 10.0.0.2 port 2", "set server a_10001/s2 state ready"}
	if !slices.Equal(f.runtime[len(f.runtime)-1], want) {
		t.Errorf("runtime commands %q, want %q", f.runtime[len(f.runtime)-1], want)
	}
	if live, _ := os.ReadFile(cfg); !strings.Contains(string(live), "server s2 10.0.0.2:2") {
		t.Errorf("runtime change not persisted:\n%s", live)
	}
	// Removing a: maint, still no reload.
	f.calls = nil
	out, _ = h.Apply(ctx, model(t, b))
	if out.Action != ActionRuntime || !slices.Equal(f.runtime[len(f.runtime)-1], []string{"set server a_10001/s1 state maint", "set server a_10001/s1 addr 127.0.0.1 port 1"}) {
		t.Errorf("scale down: %+v, %q", out, f.runtime[len(f.runtime)-1])
	}
	// A new servicePort: validate, state saved, reload.
	f.calls = nil
	out, err = h.Apply(ctx, model(t, b, inst("/c", 10002, "10.0.0.3", 3)))
	if err != nil || out.Action != ActionReload {
		t.Fatalf("new port: %+v, %v", out, err)
	}
	if i, j := slices.Index(f.calls, "state"), slices.Index(f.calls, "reload"); i < 0 || j < i {
		t.Errorf("server state not saved before the reload: %v", f.calls)
	}

	// The fast path changes membership without writing the file; the
	// debounced Apply then persists it without a reload.
	m := model(t, b, inst("/c", 10002, "10.0.0.3", 3), inst("/c", 10002, "10.0.0.4", 4))
	if out, handled, err := h.ApplyMembership(ctx, m); err != nil || !handled || out.Action != ActionRuntime {
		t.Fatalf("fast path: %+v %v %v", out, handled, err)
	}
	if live, _ := os.ReadFile(cfg); strings.Contains(string(live), "10.0.0.4") {
		t.Error("fast path wrote the file")
	}
	f.calls = nil
	if out, err := h.Apply(ctx, m); err != nil || out.Action != ActionPersist || slices.Contains(f.calls, "reload") {
		t.Errorf("persist: %+v, %v, %v", out, err, f.calls)
	}
	// A new servicePort is not membership: the fast path declines.
	if _, handled, _ := h.ApplyMembership(ctx, model(t, b)); handled {
		t.Error("fast path handled a structural change")
	}

	// HAProxy died after a runtime change that was not persisted yet:
	// the restarted one runs the old file, so Apply must reload.
	m2 := model(t, b, inst("/c", 10002, "10.0.0.3", 3))
	h.ApplyMembership(ctx, m2)
	f.running, f.calls = false, nil
	if out, err := h.Apply(ctx, m2); err != nil || out.Action != ActionReload {
		t.Errorf("after a restart: %+v, %v, calls %v", out, err, f.calls)
	}
}

func TestHAProxyTargetValidationFailureNeverReloads(t *testing.T) {
	ctx := context.Background()
	h, f, cfg := newFakeTarget(t)
	if _, err := h.Apply(ctx, model(t, inst("/a", 10001, "10.0.0.1", 1))); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(cfg)
	f.validateErr = errors.New("bad config")
	f.calls = nil
	_, err := h.Apply(ctx, model(t, inst("/a", 10001, "10.0.0.1", 1), inst("/b", 10002, "10.0.0.2", 2)))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want ValidationError", err)
	}
	if slices.Contains(f.calls, "reload") || slices.Contains(f.calls, "runtime") {
		t.Errorf("acted on an invalid config: %v", f.calls)
	}
	if after, _ := os.ReadFile(cfg); string(after) != string(before) {
		t.Error("live config replaced by an invalid one")
	}
	entries, _ := os.ReadDir(filepath.Dir(cfg))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".haproxy-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

func TestHAProxyTargetFailedReloadRestoresFile(t *testing.T) {
	ctx := context.Background()
	h, f, cfg := newFakeTarget(t)
	h.Apply(ctx, model(t, inst("/a", 10001, "10.0.0.1", 1)))
	before, _ := os.ReadFile(cfg)
	f.reloadErr = errors.New("reload failed")
	if _, err := h.Apply(ctx, model(t, inst("/b", 10002, "10.0.0.2", 2))); err == nil {
		t.Fatal("failed reload not reported")
	}
	if after, _ := os.ReadFile(cfg); string(after) != string(before) {
		t.Error("live file is not the running config after a failed reload")
	}
	if st := h.HAProxyStatus(); st.LastReloadAction != ActionReload || st.LastReloadError != "reload failed" ||
		st.LastReload.IsZero() {
		t.Errorf("status after a failed reload %+v", st)
	}
	// The next apply retries the reload.
	f.reloadErr, f.calls = nil, nil
	if out, err := h.Apply(ctx, model(t, inst("/b", 10002, "10.0.0.2", 2))); err != nil || out.Action != ActionReload {
		t.Errorf("retry: %+v, %v", out, err)
	}
	if st := h.HAProxyStatus(); st.LastReloadAction != ActionReload || st.LastReloadError != "" {
		t.Errorf("status after the retried reload %+v", st)
	}
}

func TestAssignSlotsKeepsPlaces(t *testing.T) {
	b := func(ip string, port int) Instance { return inst("/a", 10001, ip, port) }
	m1 := model(t, b("10.0.0.1", 1), b("10.0.0.2", 2), b("10.0.0.3", 3))
	s1 := AssignSlots(nil, m1)
	if len(s1["a_10001"]) != MinSlots {
		t.Fatalf("capacity %d", len(s1["a_10001"]))
	}
	// Remove the first, add a fourth: it takes the freed slot 1, the
	// others stay where they were.
	m2 := model(t, b("10.0.0.2", 2), b("10.0.0.3", 3), b("10.0.0.4", 4))
	s2 := AssignSlots(s1, m2)
	got := []string{s2["a_10001"][0].Address, s2["a_10001"][1].Address, s2["a_10001"][2].Address}
	if !slices.Equal(got, []string{"10.0.0.4", "10.0.0.2", "10.0.0.3"}) {
		t.Errorf("slots %v", got)
	}
	cmds := RuntimeCommands(s1, s2)
	if !slices.Equal(cmds, []string{"set server a_10001/s1 addr 10.0.0.4 port 4", "set server a_10001/s1 state ready"}) {
		t.Errorf("commands %q", cmds)
	}
	// Growing past the capacity doubles the next power of two.
	var many []Instance
	for i := range 9 {
		many = append(many, b("10.0.1.1", 100+i))
	}
	if s3 := AssignSlots(s2, model(t, many...)); len(s3["a_10001"]) != 32 {
		t.Errorf("capacity after growth %d", len(s3["a_10001"]))
	}
}

// fakeSource hands the test's snapshots to the Syncer.
type fakeSource struct{ ch chan Snapshot }

func (f *fakeSource) Watch(ctx context.Context, out chan<- Snapshot) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-f.ch:
			select {
			case out <- s:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// countingTarget counts applies.
type countingTarget struct{ applies chan Model }

func (c *countingTarget) Name() string { return "count" }
func (c *countingTarget) Apply(_ context.Context, m Model) (Outcome, error) {
	c.applies <- m
	return Outcome{Action: ActionReload}, nil
}

// TestSyncerDebounces: the first snapshot applies at once; a burst of
// later ones costs one apply, after min quiescence on the fake clock.
func TestSyncerDebounces(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	src := &fakeSource{ch: make(chan Snapshot)}
	tgt := &countingTarget{applies: make(chan Model, 10)}
	s, err := New(Config{Source: src, Rules: Rules{HTTPPort: 80}, Targets: []Target{tgt}, Clock: clk,
		WaitMin: 50 * time.Millisecond, WaitMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	src.ch <- Snapshot{Instances: []Instance{inst("/a", 10001, "10.0.0.1", 1)}}
	if m := <-tgt.applies; len(m.Services) != 1 {
		t.Fatalf("first apply %+v", m)
	}
	for i := range 5 {
		src.ch <- Snapshot{Instances: []Instance{inst("/a", 10001, "10.0.0.1", 1), inst("/a", 10001, "10.0.0.2", 2+i)}}
	}
	select {
	case <-tgt.applies:
		t.Fatal("applied before quiescence")
	default:
	}
	// Each of the 5 snapshots re-armed the timer; once the 5th exists,
	// let time pass.
	waitTimers(t, clk, 5)
	clk.Advance(50 * time.Millisecond)
	m := <-tgt.applies
	if p := m.Services[0].Backends[1].Port; p != 6 {
		t.Errorf("applied backend port %d, want the newest (6)", p)
	}
	select {
	case <-tgt.applies:
		t.Error("a burst cost more than one apply")
	case <-time.After(50 * time.Millisecond):
	}
	<-s.Notify()
	if st := s.Status(); len(st.Events) != 1 || st.Events[0].Target != "count" {
		t.Errorf("status events %+v", st.Events)
	}
}

// waitTimers waits until n timers were created on clk.
func waitTimers(t *testing.T, clk *fakeClock, n int) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		clk.mu.Lock()
		got := len(clk.timers)
		clk.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("fewer than %d timers armed", n)
}

// TestHAProxyTargetQuarantinesInvalidChanges: a servicePort whose new
// config fails validation is held back; everything else still applies.
func TestHAProxyTargetQuarantinesInvalidChanges(t *testing.T) {
	ctx := context.Background()
	h, f, cfg := newFakeTarget(t)
	a1, a2 := inst("/a", 10001, "10.0.0.1", 1), inst("/a", 10001, "10.0.0.2", 2)
	if _, err := h.Apply(ctx, model(t, a1)); err != nil {
		t.Fatal(err)
	}
	f.rejectText = "/bad/cert.pem"
	bad := inst("/b", 10002, "10.0.0.3", 3, "HAPROXY_0_SSL_CERT", "/bad/cert.pem")
	out, err := h.Apply(ctx, model(t, a1, a2, bad))
	var verr *ValidationError
	if !errors.As(err, &verr) || !strings.Contains(err.Error(), "[10002] held back") {
		t.Fatalf("err = %v, want a ValidationError naming servicePort 10002", err)
	}
	if out.Action != ActionRuntime {
		t.Errorf("fallback action %q, want runtime (a's new backend)", out.Action)
	}
	live, _ := os.ReadFile(cfg)
	if !strings.Contains(string(live), "10.0.0.2:2") || strings.Contains(string(live), "b_10002") {
		t.Errorf("live config:\n%s", live)
	}
	// Once the label is fixed, b goes in.
	f.rejectText = ""
	if out, err := h.Apply(ctx, model(t, a1, a2, inst("/b", 10002, "10.0.0.3", 3))); err != nil || out.Action != ActionReload {
		t.Errorf("after the fix: %+v, %v", out, err)
	}
}

func TestQuarantine(t *testing.T) {
	prev := model(t, inst("/a", 10001, "10.0.0.1", 1), inst("/c", 10003, "10.0.0.5", 5, "HAPROXY_0_MODE", "http"))
	next := model(t, inst("/a", 10001, "10.0.0.2", 2), inst("/b", 10002, "10.0.0.3", 3),
		inst("/c", 10003, "10.0.0.6", 6, "HAPROXY_0_VHOST", "c.example.com"))
	fb, held := Quarantine(prev, next)
	if !slices.Equal(held, []int{10002, 10003}) {
		t.Errorf("held %v", held)
	}
	if len(fb.Services) != 2 || fb.Services[0].Backends[0].Port != 2 {
		t.Fatalf("fallback %+v", fb.Services)
	}
	c := fb.Services[1]
	if len(c.VHosts) != 0 || c.Backends[0].Port != 6 || len(fb.Routes) != 0 {
		t.Errorf("held-back service should keep its old shape with new backends: %+v, routes %+v", c, fb.Routes)
	}
}

// TestHAProxyTargetFirstConfigQuarantined: even the very first config
// starts HAProxy without the servicePort that breaks it.
func TestHAProxyTargetFirstConfigQuarantined(t *testing.T) {
	ctx := context.Background()
	h, f, cfg := newFakeTarget(t)
	f.rejectText = "/bad/cert.pem"
	out, err := h.Apply(ctx, model(t, inst("/a", 10001, "10.0.0.1", 1),
		inst("/b", 10002, "10.0.0.3", 3, "HAPROXY_0_SSL_CERT", "/bad/cert.pem")))
	if err == nil || out.Action != ActionStart {
		t.Fatalf("first apply: %+v, %v", out, err)
	}
	live, _ := os.ReadFile(cfg)
	if !strings.Contains(string(live), "a_10001") || strings.Contains(string(live), "b_10002") {
		t.Errorf("live config:\n%s", live)
	}
}
