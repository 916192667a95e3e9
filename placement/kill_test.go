package placement

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestSelectKills(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	task := func(id, rack string, state TaskState, started int) Task {
		a := Agent{ID: "agent-" + id, Hostname: "host-" + id, Attributes: map[string]Value{}}
		if rack != "" {
			a.Attributes["rack"] = Text(rack)
		}
		return Task{ID: id, Agent: a, State: state, StartedAt: at(started)}
	}
	groupBy, _ := ParseConstraints([][]string{{"rack", "GROUP_BY"}})
	tests := []struct {
		name  string
		tasks []Task
		n     int
		sel   KillSelection
		cons  []Constraint
		want  []string
	}{
		{"youngest first", []Task{task("a", "", TaskRunning, 1), task("b", "", TaskRunning, 3),
			task("c", "", TaskRunning, 2)}, 2, "", nil, []string{"b", "c"}},
		{"oldest first", []Task{task("a", "", TaskRunning, 1), task("b", "", TaskRunning, 3),
			task("c", "", TaskRunning, 2)}, 2, OldestFirst, nil, []string{"a", "c"}},
		{"state order", []Task{task("run", "", TaskRunning, 9), task("start", "", TaskStarting, 1),
			task("stage", "", TaskStaging, 1), task("unr", "", TaskUnreachable, 1), task("other", "", TaskOther, 9)},
			5, "", nil, []string{"unr", "stage", "start", "run", "other"}},
		{"inactive never", []Task{task("gone", "", TaskUnreachableInactive, 1), task("a", "", TaskRunning, 1)},
			2, "", nil, []string{"a"}},
		{"group by first", []Task{task("r1a", "r1", TaskRunning, 1), task("r1b", "r1", TaskRunning, 2),
			task("r2a", "r2", TaskStaging, 3), task("r1c", "r1", TaskRunning, 4)},
			3, "", groupBy, []string{"r1c", "r1b", "r2a"}},
		{"zero", []Task{task("a", "", TaskRunning, 1)}, 0, "", nil, nil},
		{"id breaks ties", []Task{task("b", "", TaskRunning, 1), task("a", "", TaskRunning, 1)}, 1, "", nil, []string{"a"}},
	}
	for _, tt := range tests {
		var got []string
		for _, v := range SelectKills(tt.tasks, tt.n, tt.sel, tt.cons) {
			got = append(got, v.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSelectKillsKeepsGroupByBalanced scales 3 racks of uneven size down
// step by step: after every kill the spread is within one where possible.
func TestSelectKillsKeepsGroupByBalanced(t *testing.T) {
	groupBy, _ := ParseConstraints([][]string{{"rack", "GROUP_BY"}})
	var tasks []Task
	for i, rack := range []string{"r1", "r1", "r1", "r1", "r1", "r2", "r2", "r3"} {
		tasks = append(tasks, Task{ID: fmt.Sprint(i), State: TaskRunning, StartedAt: time.Unix(int64(i), 0),
			Agent: Agent{ID: fmt.Sprint(i), Attributes: map[string]Value{"rack": Text(rack)}}})
	}
	victims := SelectKills(tasks, 5, "", groupBy)
	left := map[string]int{"r1": 5, "r2": 2, "r3": 1}
	for k, v := range victims {
		left[v.Agent.Attributes["rack"].Text]--
		if k >= 3 { // from 3 kills on the racks are 1/1/1 at most apart by one
			lo, hi := 99, 0
			for _, n := range left {
				lo, hi = min(lo, n), max(hi, n)
			}
			if hi-lo > 1 {
				t.Fatalf("after %d kills: %v", k+1, left)
			}
		}
	}
}
