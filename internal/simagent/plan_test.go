package simagent

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func specs(ids ...string) []wire.TaskSpec {
	out := make([]wire.TaskSpec, len(ids))
	for i, id := range ids {
		out[i] = wire.TaskSpec{TaskID: id}
	}
	return out
}

func ids(ts []wire.TaskSpec) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.TaskID)
	}
	return out
}

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name      string
		running   map[string]bool
		desired   wire.Desired
		wantStart []string
		wantStop  []string
	}{
		{"nothing", set(), wire.Desired{}, nil, nil},
		{"all new", set(), wire.Desired{Tasks: specs("b", "a")}, []string{"b", "a"}, nil},
		{"steady", set("a", "b"), wire.Desired{Tasks: specs("a", "b")}, nil, nil},
		{"one gone", set("a", "b", "c"), wire.Desired{Tasks: specs("b")}, nil, []string{"a", "c"}},
		{"kill listed", set("a", "b"), wire.Desired{Tasks: specs("a", "b"), Kill: []string{"b"}}, nil, []string{"b"}},
		{"kill of a task not started is not started", set(), wire.Desired{Tasks: specs("a"), Kill: []string{"a"}}, nil, nil},
		{"mixed", set("x", "a"), wire.Desired{Tasks: specs("a", "n")}, []string{"n"}, []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, stop := Plan(tc.running, tc.desired)
			if got := ids(start); !reflect.DeepEqual(got, tc.wantStart) {
				t.Errorf("start = %v, want %v", got, tc.wantStart)
			}
			if !reflect.DeepEqual(stop, tc.wantStop) {
				t.Errorf("stop = %v, want %v", stop, tc.wantStop)
			}
		})
	}
}

// TestPlanConverges: applying the plan to any running set leaves exactly
// the desired tasks not listed in Kill, and a second plan is empty.
func TestPlanConverges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		running := map[string]bool{}
		for j := r.IntN(20); j > 0; j-- {
			running["t"+strconv.Itoa(r.IntN(30))] = true
		}
		var d wire.Desired
		seen := map[string]bool{}
		for j := r.IntN(20); j > 0; j-- {
			id := "t" + strconv.Itoa(r.IntN(30))
			if !seen[id] {
				seen[id] = true
				d.Tasks = append(d.Tasks, wire.TaskSpec{TaskID: id})
			}
		}
		for j := r.IntN(3); j > 0; j-- {
			d.Kill = append(d.Kill, "t"+strconv.Itoa(r.IntN(30)))
		}
		start, stop := Plan(running, d)
		for _, s := range start {
			running[s.TaskID] = true
		}
		for _, id := range stop {
			delete(running, id)
		}
		want := map[string]bool{}
		for _, s := range d.Tasks {
			want[s.TaskID] = true
		}
		for _, id := range d.Kill {
			delete(want, id)
		}
		if !reflect.DeepEqual(running, want) {
			t.Fatalf("case %d: running %v, want %v", i, running, want)
		}
		if s2, k2 := Plan(running, d); len(s2)+len(k2) != 0 {
			t.Fatalf("case %d: second plan not empty: %v %v", i, ids(s2), k2)
		}
	}
}
