package lbsync

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// slowHAProxy is a fake HAProxy whose every change takes 10 ms on the
// fake clock, so routedAt is visibly after inConsulAt.
type slowHAProxy struct {
	*fakeHAProxy
	clk *fakeClock
}

func (s slowHAProxy) Start(ctx context.Context) (bool, error) {
	s.clk.Advance(10 * time.Millisecond)
	return s.fakeHAProxy.Start(ctx)
}

func (s slowHAProxy) Runtime(ctx context.Context, cmds []string) error {
	s.clk.Advance(10 * time.Millisecond)
	return s.fakeHAProxy.Runtime(ctx, cmds)
}

// TestBackendTimes: a new instance gets inConsulAt (the snapshot that
// brought it) and routedAt (when HAProxy's start or Runtime API call
// returned ok), both stay across later snapshots, an instance that is not
// passing has none, and one removed and added again gets new times.
func TestBackendTimes(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}
	t0 := clk.Now()
	dir := t.TempDir()
	f := &fakeHAProxy{}
	tgt := NewHAProxyTarget(HAProxyTargetConfig{HAProxy: slowHAProxy{f, clk}, ConfigPath: dir + "/haproxy.cfg",
		Settings: HAProxySettings{StatsSocket: dir + "/s", StateFile: dir + "/state"}})
	src := &fakeSource{ch: make(chan Snapshot)}
	s, err := New(Config{Source: src, Rules: Rules{HTTPPort: 80}, Targets: []Target{tgt}, Clock: clk,
		WaitMin: time.Hour, WaitMax: time.Hour}) // only the first apply and the Runtime API path run
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	a, b := inst("/a", 10001, "10.0.0.1", 1), inst("/a", 10001, "10.0.0.2", 2)
	c := inst("/a", 10001, "10.0.0.3", 3)
	c.Status = StatusCritical
	type times struct{ in, routed time.Time }
	// want waits until the status has exactly these backends and times.
	want := func(step string, w map[string]times) {
		t.Helper()
		testenv.WaitFor(t, 5*time.Second, step, func() error {
			st := s.Status()
			got := map[string]times{}
			for _, svc := range st.Services {
				for _, be := range svc.Backends {
					got[be.ID] = times{be.InConsulAt, be.RoutedAt}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(w) {
				return fmt.Errorf("backend times %v, want %v", got, w)
			}
			return nil
		})
	}
	ms := time.Millisecond
	src.ch <- Snapshot{Instances: []Instance{a, c}}
	want("a started", map[string]times{a.ID: {t0, t0.Add(10 * ms)}})

	clk.Advance(time.Second)
	t1 := clk.Now()
	src.ch <- Snapshot{Instances: []Instance{a, b, c}}
	want("b added", map[string]times{a.ID: {t0, t0.Add(10 * ms)}, b.ID: {t1, t1.Add(10 * ms)}})

	clk.Advance(time.Second)
	b2 := b
	b2.Weight = 3 // a later snapshot with b changed: its times stay
	src.ch <- Snapshot{Instances: []Instance{a, b2, c}}
	want("b reweighted", map[string]times{a.ID: {t0, t0.Add(10 * ms)}, b.ID: {t1, t1.Add(10 * ms)}})

	clk.Advance(time.Second)
	src.ch <- Snapshot{Instances: []Instance{a, c}}
	want("b removed", map[string]times{a.ID: {t0, t0.Add(10 * ms)}})

	clk.Advance(time.Second)
	t4 := clk.Now()
	src.ch <- Snapshot{Instances: []Instance{a, b, c}}
	want("b back", map[string]times{a.ID: {t0, t0.Add(10 * ms)}, b.ID: {t4, t4.Add(10 * ms)}})
	if n := len(f.runtime); n != 4 {
		t.Errorf("%d Runtime API calls, want 4 (b added, reweighted, removed, added again)", n)
	}
}

// TestBackendTimesRules: only passing instances are timed; routed needs
// a time in Consul; a failed apply (not live) gives no routed time.
func TestBackendTimesRules(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	bt := newBackendTimes()
	a, w := inst("/a", 1, "10.0.0.1", 1), inst("/a", 1, "10.0.0.2", 2)
	w.Status = StatusWarning
	bt.seen(Snapshot{Instances: []Instance{a, w}}, at(1))
	bt.applied(map[string]bool{}, at(2)) // the apply failed: nothing live
	bt.applied(map[string]bool{a.ID: true, w.ID: true, "other": true}, at(3))
	if len(bt.inConsul) != 1 || !bt.inConsul[a.ID].Equal(at(1)) || len(bt.routed) != 1 || !bt.routed[a.ID].Equal(at(3)) {
		t.Errorf("in Consul %v, routed %v", bt.inConsul, bt.routed)
	}
	a.Status = StatusCritical
	bt.seen(Snapshot{Instances: []Instance{a}}, at(4))
	if len(bt.inConsul)+len(bt.routed) != 0 {
		t.Errorf("a failing instance is kept: %v %v", bt.inConsul, bt.routed)
	}
}
