package master

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// hasCycle is Kahn's algorithm over the in-graph, non-self edges: an
// independent oracle for DependencyOrder's cycle answer.
func hasCycle(deps map[string][]string) bool {
	indeg := map[string]int{}
	users := map[string][]string{}
	for id, ds := range deps {
		indeg[id] += 0
		seen := map[string]bool{}
		for _, d := range ds {
			if _, in := deps[d]; in && d != id && !seen[d] {
				seen[d] = true
				indeg[id]++
				users[d] = append(users[d], id)
			}
		}
	}
	var queue []string
	for id, n := range indeg {
		if n == 0 {
			queue = append(queue, id)
		}
	}
	done := 0
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		done++
		for _, u := range users[id] {
			if indeg[u]--; indeg[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	return done != len(deps)
}

// TestDependencyOrderProperties: on random graphs, a cycle is reported
// exactly when there is one; otherwise every node's level is one more
// than its deepest in-graph dependency (0 without any), so starting by
// ascending level (stopping by descending level) never runs a node
// before (after) what it depends on.
func TestDependencyOrderProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2026))
	for iter := 0; iter < 2000; iter++ {
		n := 1 + rng.IntN(10)
		p := rng.Float64() * 0.4
		deps := map[string][]string{}
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("/g/a%d", i)
			deps[id] = []string{}
			for j := 0; j < n+2; j++ { // j ≥ n: outside the graph
				if rng.Float64() < p {
					deps[id] = append(deps[id], fmt.Sprintf("/g/a%d", j))
				}
			}
		}
		level, err := DependencyOrder(deps)
		if cyc := hasCycle(deps); cyc != (err != nil) {
			t.Fatalf("graph %v: cycle %v, DependencyOrder error %v", deps, cyc, err)
		}
		if err != nil {
			continue
		}
		for id, ds := range deps {
			want := 0
			for _, d := range ds {
				if _, in := deps[d]; in && d != id {
					if level[d] >= level[id] {
						t.Fatalf("graph %v: %s (level %d) depends on %s (level %d)", deps, id, level[id], d, level[d])
					}
					want = max(want, level[d]+1)
				}
			}
			if level[id] != want {
				t.Fatalf("graph %v: level of %s = %d, want %d", deps, id, level[id], want)
			}
		}
	}
}
