package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/wire"
)

func fakeRuntimes(f *fakeRuntime) func(string) map[string]Runtime {
	return func(string) map[string]Runtime { return map[string]Runtime{RuntimeProcess: f} }
}

func TestListFailureTakesNoActionAndReportsNothing(t *testing.T) {
	f := newFakeRuntime()
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: fakeRuntimes(f)})
	spec := processSpec("a.1", "x")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 5*time.Second)
	n := len(m.Updates(""))

	// The engine goes away: listing fails. Nothing is launched, killed or
	// declared lost while the agent cannot see.
	f.set(func(f *fakeRuntime) { f.listErr = errors.New("engine down") })
	failedLists := func(want int) func() error {
		return func() error {
			n := 0
			f.get(func(f *fakeRuntime) { n = f.listFailures })
			if n < want {
				h.a.runtimeChanged() // as a dropped event stream does
				return fmt.Errorf("%d failed lists", n)
			}
			return nil
		}
	}
	waitFor(t, 5*time.Second, "a failed list", failedLists(1))
	m.SetDesired(h.a.ID(), []wire.TaskSpec{processSpec("b.1", "x")})
	waitFor(t, 5*time.Second, "more failed passes", failedLists(4))
	var launches int
	var stops []string
	f.get(func(f *fakeRuntime) { launches, stops = f.launches, f.stops })
	if launches != 1 || len(stops) != 0 || len(m.Updates("")) != n {
		t.Fatalf("while blind: %d launches, stops %v, %d new updates", launches, stops, len(m.Updates(""))-n)
	}
	// The engine is back: the agent reconciles.
	f.set(func(f *fakeRuntime) { f.listErr = nil })
	m.WaitState(t, "b.1", wire.TaskRunning, 5*time.Second)
	m.WaitState(t, "a.1", wire.TaskKilled, 5*time.Second)
}

func TestVanishedTaskIsLost(t *testing.T) {
	f := newFakeRuntime()
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: fakeRuntimes(f)})
	spec := processSpec("gone.1", "x")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 5*time.Second)
	f.set(func(f *fakeRuntime) { delete(f.tasks, spec.TaskID) }) // e.g. docker rm -f by hand
	lost := m.WaitState(t, spec.TaskID, wire.TaskLost, 5*time.Second)
	if !strings.Contains(lost.Message, "disappeared") {
		t.Errorf("lost message %q", lost.Message)
	}
	var launches int
	f.get(func(f *fakeRuntime) { launches = f.launches })
	if launches != 1 {
		t.Errorf("a lost task was relaunched under the same id (%d launches)", launches)
	}
}

func TestInterruptedLaunchIsRemovedAndRelaunched(t *testing.T) {
	f := newFakeRuntime()
	m := agenttest.NewMaster(t)
	dir := t.TempDir()
	h := startAgent(t, m, dir, harnessOpts{runtimes: fakeRuntimes(f)})
	// A launch in flight when the agent stops: the task stays STARTING,
	// not FAILED.
	f.set(func(f *fakeRuntime) { f.launchGate = make(chan struct{}) })
	spec := processSpec("slow.1", "x")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskStarting, 5*time.Second)
	h.stop()
	// What a crash between create and start leaves behind.
	f.set(func(f *fakeRuntime) {
		f.launchGate = nil
		f.tasks[spec.TaskID] = &Observed{TaskID: spec.TaskID, Runtime: "process", RuntimeID: "half"}
	})
	startAgent(t, m, dir, harnessOpts{runtimes: fakeRuntimes(f)})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 5*time.Second)
	for _, u := range m.Updates(spec.TaskID) {
		if terminal(u.State) {
			t.Errorf("interrupted launch reported %s", u.State)
		}
	}
}

func TestCancelNeverKills(t *testing.T) {
	f := newFakeRuntime()
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: fakeRuntimes(f), mutate: func(c *Config) { c.Drainer = slowDrainer{} }})
	spec := processSpec("keep.1", "x")
	spec.DrainSeconds = 60
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 5*time.Second)
	m.SetDesired(h.a.ID(), nil)
	m.WaitState(t, spec.TaskID, wire.TaskKilling, 5*time.Second) // in its 60 s drain
	h.stop()
	var stops []string
	f.get(func(f *fakeRuntime) { stops = f.stops })
	if len(stops) != 0 {
		t.Fatalf("cancelling the agent stopped tasks: %v", stops)
	}
}

type slowDrainer struct{}

func (slowDrainer) Drain(context.Context, string) (int, error) { return 1, nil }

func TestExitedUndesiredRemovedAfterRetention(t *testing.T) {
	f := newFakeRuntime()
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: fakeRuntimes(f), mutate: func(c *Config) { c.RetainExited = 300 * time.Millisecond }})
	spec := processSpec("ret.1", "x")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 5*time.Second)
	m.SetDesired(h.a.ID(), nil)
	m.WaitState(t, spec.TaskID, wire.TaskKilled, 5*time.Second)
	waitFor(t, 5*time.Second, "removal and forgetting", func() error {
		n := 0
		f.get(func(f *fakeRuntime) { n = len(f.tasks) })
		h.a.mu.Lock()
		_, rec := h.a.tasks[spec.TaskID]
		h.a.mu.Unlock()
		if n != 0 || rec {
			return fmt.Errorf("%d runtime tasks, record kept %t", n, rec)
		}
		return nil
	})
}

func TestStatusRetriedUntilAcked(t *testing.T) {
	f := newFakeRuntime()
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: fakeRuntimes(f)})
	m.FailStatus(3)
	spec := processSpec("retry.2", "x")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	var states []string
	for _, u := range m.Updates(spec.TaskID) {
		states = append(states, u.State)
	}
	if got := strings.Join(states, ","); got != "TASK_STAGING,TASK_STARTING,TASK_RUNNING" {
		t.Errorf("posted updates after 3 failed posts = %s", got)
	}
	waitFor(t, 5*time.Second, "an empty journal", func() error {
		if p := h.a.journal.Pending(0); len(p) > 0 {
			return fmt.Errorf("pending %+v", p)
		}
		return nil
	})
}
