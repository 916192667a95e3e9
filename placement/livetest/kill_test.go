package livetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestKillSelection scales two apps 1→2→3 (one instance at a time, so
// their tasks start at distinct times) and back to 1: YOUNGEST_FIRST keeps
// the oldest task, OLDEST_FIRST the youngest, and the agent stops the
// others' processes.
func TestKillSelection(t *testing.T) {
	s := newStack(t)
	a := s.agent("node-a")
	order := map[string][]string{} // app -> task ids in start order
	for _, sel := range []string{"YOUNGEST_FIRST", "OLDEST_FIRST"} {
		id := "/ks/" + strings.ToLower(strings.ReplaceAll(sel, "_", "-"))
		s.must("POST", "/v2/apps", fmt.Sprintf(`{"id":%q,"cmd":"sleep 600","cpus":0.01,"mem":8,"instances":1,"killSelection":%q}`, id, sel), 201)
		for n := 1; n <= 3; n++ {
			if n > 1 {
				s.must("PUT", "/v2/apps"+id, fmt.Sprintf(`{"instances":%d}`, n), 200)
			}
			ts := s.waitTasks(id, fmt.Sprintf("%d running", n), 30*time.Second, running(n))
			for _, tk := range ts {
				if !contains(order[id], tk.ID) {
					order[id] = append(order[id], tk.ID)
				}
			}
			s.noDeployments()
		}
	}
	for id, ids := range order {
		s.must("PUT", "/v2/apps"+id, `{"instances":1}`, 200)
		want := ids[0] // YOUNGEST_FIRST keeps the oldest
		if strings.HasSuffix(id, "oldest-first") {
			want = ids[2]
		}
		ts := s.waitTasks(id, "scaled to 1", 30*time.Second, running(1))
		if ts[0].ID != want {
			t.Errorf("%s: kept %s, want %s (start order %v)", id, ts[0].ID, want, ids)
		}
		testenv.WaitFor(t, 30*time.Second, id+": the killed tasks' processes are gone", func() error {
			live := a.live()
			for _, tid := range ids {
				if _, ok := live[tid]; ok != (tid == want) {
					return fmt.Errorf("task %s: process alive=%v", tid, ok)
				}
			}
			return nil
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// graceCmd writes the time SIGTERM arrived into ./term and a heartbeat
// into ./beat every 50 ms while it lives: it ignores SIGTERM, so the gap
// between the two is the agent's SIGTERM→SIGKILL period.
const graceCmd = `trap 'date +%s%N > term' TERM; while true; do date +%s%N > beat.tmp; mv beat.tmp beat; sleep 0.05; done`

// TestTaskKillGracePeriod kills process tasks that ignore SIGTERM: with
// taskKillGracePeriodSeconds 5 the task lives on for the whole 5 s after
// SIGTERM (longer than the 3 s default), with 1 the agent logs SIGKILL
// after 1 s — the period the master sends is the one the agent uses.
func TestTaskKillGracePeriod(t *testing.T) {
	s := newStack(t)
	a := s.agent("node-a")
	ids := map[int]string{}
	for _, g := range []int{1, 5} {
		id := "/grace/g" + strconv.Itoa(g)
		s.must("POST", "/v2/apps", fmt.Sprintf(`{"id":%q,"cmd":%q,"cpus":0.01,"mem":8,"taskKillGracePeriodSeconds":%d}`, id, graceCmd, g), 201)
		ids[g] = s.waitTasks(id, "running", 30*time.Second, running(1))[0].ID
	}
	for _, g := range []int{1, 5} {
		s.must("DELETE", "/v2/apps/grace/g"+strconv.Itoa(g), "", 200)
	}
	for _, g := range []int{1, 5} {
		tid := ids[g]
		testenv.WaitFor(t, 30*time.Second, tid+" is gone", func() error {
			if _, ok := a.live()[tid]; ok {
				return fmt.Errorf("still running")
			}
			return nil
		})
		term, beat := readNanos(t, filepath.Join(a.sandbox(tid), "term")), readNanos(t, filepath.Join(a.sandbox(tid), "beat"))
		gap := time.Duration(beat - term)
		t.Logf("taskKillGracePeriodSeconds %d: the task lived %v after SIGTERM", g, gap)
		if gap < time.Duration(g)*time.Second-300*time.Millisecond {
			t.Errorf("grace %d s: SIGKILL came %v after SIGTERM", g, gap)
		}
		if want := fmt.Sprintf(`task=%s grace=%ds`, tid, g); !strings.Contains(a.log(), want) {
			t.Errorf("agent log has no %q", want)
		}
	}
}

func readNanos(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}
