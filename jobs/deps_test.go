package jobs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestGraphErrors(t *testing.T) {
	for _, tc := range []struct {
		jobs map[string][]string
		want string
	}{
		{map[string][]string{"a": nil, "b": {"x"}}, `parents: b: unknown job "x"`},
		{map[string][]string{"a": {"a"}}, "own parent"},
		{map[string][]string{"a": {"c"}, "b": {"a"}, "c": {"b"}}, "dependency cycle"},
	} {
		_, err := NewGraph(tc.jobs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewGraph(%v) = %v, want %q", tc.jobs, err, tc.want)
		}
	}
	if _, err := NewGraph(map[string][]string{"a": nil, "b": {"a"}, "c": {"a", "b"}}); err != nil {
		t.Errorf("diamond rejected: %v", err)
	}
}

// TestDependencyRule walks a two-parent child through the cases.
func TestDependencyRule(t *testing.T) {
	g, err := NewGraph(map[string][]string{"a": nil, "b": nil, "c": {"a", "b"}, "d": {"c"}})
	if err != nil {
		t.Fatal(err)
	}
	st := DepState{}
	step := func(parent string, ok bool) []string {
		ready, ch := g.ParentFinished(st, parent, ok)
		st.Apply(ch)
		for _, c := range ready {
			st.Apply(g.ChildStarted(c))
		}
		return ready
	}
	for i, tc := range []struct {
		parent string
		ok     bool
		want   []string
	}{
		{"a", true, nil},           // b has not succeeded yet
		{"b", true, []string{"c"}}, // both have: c runs
		{"a", true, nil},           // counters reset when c started
		{"a", true, nil},           // a twice is still one side
		{"b", false, nil},          // b failed: never run after a failed parent
		{"a", true, nil},           // …and a alone is not enough
		{"b", true, []string{"c"}},
		{"c", true, []string{"d"}}, // single parent: every success
		{"c", true, []string{"d"}},
		{"c", false, nil},
	} {
		if got := step(tc.parent, tc.ok); !slices.Equal(got, tc.want) {
			t.Errorf("step %d: %s ok=%v → %v, want %v", i, tc.parent, tc.ok, got, tc.want)
		}
	}
}

// TestDependencyProperty: with random parent results, a child is ready
// exactly when each of its parents' last result since the child's start is
// a success.
func TestDependencyProperty(t *testing.T) {
	r := newRand(5)
	for round := 0; round < 200; round++ {
		jobs := map[string][]string{}
		n := 2 + r.Intn(8)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("j%d", i)
			jobs[name] = nil
			for k := 0; k < i; k++ {
				if r.Intn(3) == 0 {
					jobs[name] = append(jobs[name], fmt.Sprintf("j%d", k))
				}
			}
		}
		g, err := NewGraph(jobs)
		if err != nil {
			t.Fatal(err)
		}
		st := DepState{}
		// model: for each child, the last result of each parent since the child started.
		last := map[Edge]bool{}
		for s := 0; s < 100; s++ {
			p := fmt.Sprintf("j%d", r.Intn(n))
			ok := r.Intn(3) > 0
			ready, ch := g.ParentFinished(st, p, ok)
			st.Apply(ch)
			for _, c := range g.Children(p) {
				last[Edge{p, c}] = ok
				want := true
				for _, pp := range g.Parents(c) {
					want = want && last[Edge{pp, c}]
				}
				if got := slices.Contains(ready, c); got != want {
					t.Fatalf("round %d: %s ok=%v: child %s ready=%v, model %v", round, p, ok, c, got, want)
				}
				if want {
					st.Apply(g.ChildStarted(c))
					for _, pp := range g.Parents(c) {
						delete(last, Edge{pp, c})
					}
				}
			}
		}
	}
}

// BenchmarkFanOut1000: a parent with 1,000 children succeeds.
func BenchmarkFanOut1000(b *testing.B) {
	jobs := map[string][]string{"root": nil, "other": nil}
	for i := 0; i < 1000; i++ {
		jobs[fmt.Sprintf("child-%04d", i)] = []string{"root", "other"}
	}
	g, err := NewGraph(jobs)
	if err != nil {
		b.Fatal(err)
	}
	st := DepState{}
	_, ch := g.ParentFinished(st, "other", true)
	st.Apply(ch)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ready, _ := g.ParentFinished(st, "root", true)
		if len(ready) != 1000 {
			b.Fatal(len(ready))
		}
	}
}

// TestSetMatchesNewGraph: random graphs changed one job at a time give
// the same verdicts and edges as building the graph again.
func TestSetMatchesNewGraph(t *testing.T) {
	rnd := newRand(7)
	for round := 0; round < 300; round++ {
		n := 2 + rnd.Intn(8)
		names := make([]string, n)
		for i := range names {
			names[i] = string(rune('a' + i))
		}
		parents := map[string][]string{}
		for _, nm := range names {
			parents[nm] = nil
		}
		g, _ := NewGraph(parents)
		for step := 0; step < 10; step++ {
			c := names[rnd.Intn(n)]
			var ps []string
			for _, p := range names {
				if rnd.Intn(4) == 0 {
					ps = append(ps, p)
				}
			}
			next := map[string][]string{}
			for k, v := range parents {
				next[k] = v
			}
			next[c] = ps
			_, wantErr := NewGraph(next)
			err := g.Set(c, ps, func(s string) bool { _, ok := parents[s]; return ok })
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("Set(%s, %v) on %v: %v, NewGraph: %v", c, ps, parents, err, wantErr)
			}
			if err == nil {
				parents = next
			}
			for _, nm := range names {
				if fmt.Sprint(g.Parents(nm)) != fmt.Sprint(parents[nm]) && !(len(g.Parents(nm)) == 0 && len(parents[nm]) == 0) {
					t.Fatalf("parents of %s: %v, want %v", nm, g.Parents(nm), parents[nm])
				}
			}
		}
	}
}
