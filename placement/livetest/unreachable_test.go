package livetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestUnreachableStrategy kills the agent of four apps' tasks with
// SIGKILL (the tasks keep running, as on a partitioned machine), lets the
// master lose it (--agent-timeout 2s), and brings it back:
//   - the default {0,0}: replaced on the other agent at once;
//   - {3,600}: TASK_UNREACHABLE, replaced after 3 s, still listed;
//   - {1,4}: replaced after 1 s, expunged after 4 s;
//   - "disabled": TASK_UNREACHABLE and never replaced.
//
// When the agent returns, every replaced task is killed (the app keeps
// exactly its instances) and the "disabled" app's task runs on.
func TestUnreachableStrategy(t *testing.T) {
	s := newStack(t, "--agent-timeout", "2s")
	a := s.agent("node-a")
	apps := map[string]string{
		"/un/default":  ``,
		"/un/inactive": `,"unreachableStrategy":{"inactiveAfterSeconds":3,"expungeAfterSeconds":600}`,
		"/un/expunge":  `,"unreachableStrategy":{"inactiveAfterSeconds":1,"expungeAfterSeconds":4}`,
		"/un/disabled": `,"unreachableStrategy":"disabled"`,
	}
	first := map[string]string{}
	for id, extra := range apps {
		s.must("POST", "/v2/apps", fmt.Sprintf(`{"id":%q,"cmd":"sleep 600","cpus":0.01,"mem":8%s}`, id, extra), 201)
		first[id] = s.waitTasks(id, "running", 30*time.Second, running(1))[0].ID
	}
	s.agent("node-b")
	a.kill()
	oneOn := func(host string) func([]task) error {
		return func(ts []task) error {
			if len(ts) != 1 || ts[0].Host != host || ts[0].State != "TASK_RUNNING" {
				return fmt.Errorf("want one running task on %s", host)
			}
			return nil
		}
	}
	s.waitTasks("/un/default", "replaced at once", 20*time.Second, oneOn("node-b"))
	s.waitTasks("/un/disabled", "unreachable", 20*time.Second, func(ts []task) error {
		if len(ts) != 1 || ts[0].ID != first["/un/disabled"] || ts[0].State != "TASK_UNREACHABLE" {
			return fmt.Errorf("want the first task, TASK_UNREACHABLE")
		}
		return nil
	})
	s.waitTasks("/un/inactive", "replaced, the old task still listed", 30*time.Second, func(ts []task) error {
		states := map[string]string{}
		for _, tk := range ts {
			states[tk.Host] = tk.State
		}
		if len(ts) != 2 || states["node-a"] != "TASK_UNREACHABLE" || states["node-b"] != "TASK_RUNNING" {
			return fmt.Errorf("want the old task unreachable and a running replacement")
		}
		return nil
	})
	s.waitTasks("/un/expunge", "replaced, the old task expunged", 30*time.Second, oneOn("node-b"))
	if ts, _ := s.tasks("/un/disabled"); len(ts) != 1 || ts[0].State != "TASK_UNREACHABLE" {
		t.Fatalf("disabled: %+v, want the one task still unreachable", ts)
	}
	a.start()
	for _, id := range []string{"/un/default", "/un/inactive", "/un/expunge"} {
		s.waitTasks(id, "the replacement only", 30*time.Second, oneOn("node-b"))
	}
	s.waitTasks("/un/disabled", "the task runs on", 30*time.Second, oneOn("node-a"))
	testenv.WaitFor(t, 30*time.Second, "node-a runs only the disabled app's task", func() error {
		live := a.live()
		if _, ok := live[first["/un/disabled"]]; !ok || len(live) != 1 {
			return fmt.Errorf("node-a runs %v", keys(live))
		}
		return nil
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
