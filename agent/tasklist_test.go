package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/wire"
)

func getTasks(t *testing.T, url string, index uint64, wait string) wire.AgentTasks {
	t.Helper()
	u := url + "/v1/tasks"
	if index > 0 {
		u += fmt.Sprintf("?index=%d&wait=%s", index, wait)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out wire.AgentTasks
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return out
}

// The task list shows a process task with its cluster id and labels,
// and a long poll returns when the task's state changes.
func TestTaskListLongPoll(t *testing.T) {
	m := agenttest.NewMaster(t)
	m.SetClusterID("cluster-1")
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: processRuntimes(t)})
	spec := processSpec("tl.1", "exec sleep 60")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	var l wire.AgentTasks
	waitFor(t, 5*time.Second, "the running task listed", func() error {
		l = getTasks(t, h.url, 0, "")
		if len(l.Tasks) != 1 || l.Tasks[0].State != wire.TaskRunning {
			return fmt.Errorf("list %+v", l)
		}
		return nil
	})
	tk := l.Tasks[0]
	if l.ClusterID != "cluster-1" || tk.ClusterID != "cluster-1" || tk.Labels[LabelClusterID] != "cluster-1" ||
		tk.Runtime != RuntimeProcess || tk.Labels["berth.port.0.service"] != "10001" || tk.HostPorts[0] != 31777 {
		t.Fatalf("list %+v", l)
	}
	got := make(chan wire.AgentTasks, 1)
	go func() { got <- getTasks(t, h.url, l.Index, "20s") }()
	m.SetDesired(h.a.ID(), nil)
	select {
	case n := <-got:
		if n.Index <= l.Index {
			t.Fatalf("index %d after %d", n.Index, l.Index)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll did not return after the task was killed")
	}
}

// A process of another cluster (the master's store was recreated) is left
// alone: not killed after the orphan grace, not reported.
func TestForeignClusterTaskUntouched(t *testing.T) {
	m := agenttest.NewMaster(t)
	m.SetClusterID("old")
	dir := t.TempDir()
	opts := harnessOpts{runtimes: processRuntimes(t), mutate: func(c *Config) { c.OrphanGrace = 100 * time.Millisecond }}
	h := startAgent(t, m, dir, opts)
	spec := processSpec("fc.1", "exec sleep 60")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	pid := pidOf(t, h.a.observedID(spec.TaskID))
	t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) }) //nolint:errcheck
	h.stop()

	m.SetClusterID("new")
	h2 := startAgent(t, m, dir, opts)
	m.SetDesired(h2.a.ID(), nil)
	waitFor(t, 10*time.Second, "the old cluster's process seen as foreign", func() error {
		if n := h2.a.ForeignTasks(); n != 1 {
			return fmt.Errorf("%d foreign tasks", n)
		}
		return nil
	})
	waitFor(t, 10*time.Second, "the orphan grace over", func() error {
		h2.a.mu.Lock()
		defer h2.a.mu.Unlock()
		if h2.a.orphanDeadline.IsZero() || time.Now().Before(h2.a.orphanDeadline) {
			return fmt.Errorf("deadline %v", h2.a.orphanDeadline)
		}
		return nil
	})
	waitFor(t, 10*time.Second, "passes after the orphan grace", passesFrom(h2.a, 3))
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the foreign process was stopped: %v", err)
	}
}

// TestTaskHealthy: the task list's healthy is known once every check has
// a result, true only when all are alive.
func TestTaskHealthy(t *testing.T) {
	ok := wire.HealthResult{Alive: true, LastSuccess: "t1"}
	bad := wire.HealthResult{LastFailure: "t1"}
	none := wire.HealthResult{}
	for _, tc := range []struct {
		name string
		in   []wire.HealthResult
		want string
	}{
		{"no checks", nil, "unknown"}, {"not run yet", []wire.HealthResult{none}, "unknown"},
		{"one of two not run", []wire.HealthResult{ok, none}, "unknown"}, {"alive", []wire.HealthResult{ok}, "true"},
		{"one failing", []wire.HealthResult{ok, bad}, "false"},
	} {
		got := "unknown"
		if h := taskHealthy(tc.in); h != nil {
			got = strconv.FormatBool(*h)
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestCheckFastProbeBeforeFirstSuccess: within the grace period and
// before the first success the check is retried after 50 ms, doubling up
// to the interval; once alive, or after the grace period, the interval.
func TestCheckFastProbeBeforeFirstSuccess(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &checkState{graceUntil: now.Add(10 * time.Second)}
	var got []time.Duration
	for range 7 {
		got = append(got, s.nextWait(now, time.Second))
	}
	want := "[50ms 100ms 200ms 400ms 800ms 1s 1s]"
	if fmt.Sprint(got) != want {
		t.Errorf("waits %v, want %s", got, want)
	}
	s.record(now, nil)
	if w := s.nextWait(now, time.Second); w != time.Second {
		t.Errorf("alive: %v, want the interval", w)
	}
	late := &checkState{graceUntil: now}
	if w := late.nextWait(now, 2*time.Second); w != 2*time.Second {
		t.Errorf("after the grace period: %v, want the interval", w)
	}
}
