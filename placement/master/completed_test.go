package master

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

func TestCompletedRing(t *testing.T) {
	ids := func(cs []completedTask) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		cap, n int
		want   string
	}{
		{3, 0, ""}, {3, 2, "2,1"}, {3, 3, "3,2,1"}, {3, 4, "4,3,2"}, {3, 7, "7,6,5"}, {1, 5, "5"},
		{0, 1002, "1002,1001"}, // the zero value keeps maxCompleted: checked by length below
	} {
		r := completedRing{cap: tc.cap}
		for i := 1; i <= tc.n; i++ {
			r.add(completedTask{ID: fmt.Sprint(i)})
		}
		got := r.newestFirst()
		if tc.cap == 0 {
			if len(got) != maxCompleted || got[0].ID != "1002" || got[maxCompleted-1].ID != "3" {
				t.Fatalf("zero ring after %d: %d kept, %s … %s", tc.n, len(got), got[0].ID, got[len(got)-1].ID)
			}
			continue
		}
		if ids(got) != tc.want {
			t.Errorf("cap %d after %d: %s, want %s", tc.cap, tc.n, ids(got), tc.want)
		}
	}
}

// TestMasterStateCompletedTasks: a killed task, the tasks of a scale-down
// and a failed one appear in /master/state's completed_tasks with their
// final state, newest first, and only the last ones are kept.
func TestMasterStateCompletedTasks(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Advertise = "127.0.0.1:8080" })
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/web","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":3}`)
	h.converge(a)
	tasks := h.tasks("/web")
	if len(tasks) != 3 {
		t.Fatalf("%d tasks", len(tasks))
	}
	h.clock.Advance(time.Second)
	killed := tasks[0].ID
	h.must(200, "DELETE", "/v2/apps/web/tasks/"+killed, "")
	h.converge(a)
	h.clock.Advance(time.Second)
	h.must(200, "PUT", "/v2/apps/web", `{"instances":1}`)
	h.converge(a)
	left := h.tasks("/web")
	if len(left) != 1 {
		t.Fatalf("%d tasks after scaling to 1", len(left))
	}
	h.clock.Advance(time.Second)
	failed := left[0].ID
	delete(a.running, failed)
	a.report(wire.TaskStatus{TaskID: failed, State: wire.TaskFailed, Message: "exit status 3"})

	completed := func() []any {
		st := h.must(200, "GET", "/master/state", "").json(t)
		return st["frameworks"].([]any)[0].(map[string]any)["completed_tasks"].([]any)
	}
	got := completed()
	var states []string
	for _, c := range got {
		c := c.(map[string]any)
		statuses := c["statuses"].([]any)
		last := statuses[len(statuses)-1].(map[string]any)
		if c["framework_id"] != "berth" || c["slave_id"] != a.id || c["name"] != "/web" || last["state"] != c["state"] ||
			statuses[0].(map[string]any)["state"] != wire.TaskRunning {
			t.Fatalf("completed task %v", c)
		}
		states = append(states, fmt.Sprintf("%s@%v", c["state"], last["timestamp"]))
	}
	end := func(d int) float64 { return float64(h.clock.Now().Add(time.Duration(d) * time.Second).Unix()) }
	want := []string{fmt.Sprintf("TASK_FAILED@%v", end(0)), fmt.Sprintf("TASK_KILLED@%v", end(-1)),
		fmt.Sprintf("TASK_KILLED@%v", end(-1)), fmt.Sprintf("TASK_KILLED@%v", end(-2))}
	if strings.Join(states, " ") != strings.Join(want, " ") {
		t.Fatalf("completed_tasks states\n got  %v\n want %v", states, want)
	}
	if got[0].(map[string]any)["id"] != failed || got[3].(map[string]any)["id"] != killed {
		t.Fatalf("completed_tasks order: %v", got)
	}
	if msg := got[0].(map[string]any)["statuses"].([]any)[1].(map[string]any)["message"]; msg != "exit status 3" {
		t.Fatalf("failed task's message %v", msg)
	}

	h.m.mu.Lock()
	h.m.completed = completedRing{cap: 2}
	h.m.mu.Unlock()
	h.must(201, "POST", "/v2/apps", `{"id":"/three","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":3}`)
	h.converge(a)
	three := h.tasks("/three")
	if len(three) != 3 {
		t.Fatalf("%d tasks of /three", len(three))
	}
	for _, tk := range three {
		h.clock.Advance(time.Second)
		h.must(200, "DELETE", "/v2/apps/three/tasks/"+tk.ID+"?scale=true", "")
		h.converge(a)
	}
	got = completed()
	if len(got) != 2 || got[0].(map[string]any)["id"] != three[2].ID || got[1].(map[string]any)["id"] != three[1].ID {
		t.Fatalf("a ring of 2 after three more ended tasks (%s %s %s): %v", three[0].ID, three[1].ID, three[2].ID, got)
	}
}
