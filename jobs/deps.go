package jobs

import (
	"fmt"
	"sort"
	"strings"
)

// Edge is one parent → child dependency.
type Edge struct{ Parent, Child string }

// Graph is the dependency graph of the dependent jobs: each child's
// parents, and the reverse index.
type Graph struct {
	parents  map[string][]string
	children map[string][]string
}

// NewGraph builds and checks a graph from each job's parents (jobs holds
// every job name, scheduled or dependent). An unknown parent, a job that is
// its own parent or a cycle is an error naming the field.
func NewGraph(jobs map[string][]string) (*Graph, error) {
	g := &Graph{parents: map[string][]string{}, children: map[string][]string{}}
	names := make([]string, 0, len(jobs))
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, c := range names {
		for _, p := range jobs[c] {
			if _, ok := jobs[p]; !ok {
				return nil, fmt.Errorf("parents: %s: unknown job %q", c, p)
			}
			if p == c {
				return nil, fmt.Errorf("parents: %s: a job cannot be its own parent", c)
			}
			g.parents[c] = append(g.parents[c], p)
			g.children[p] = append(g.children[p], c)
		}
	}
	if cyc := g.cycle(names); cyc != nil {
		return nil, fmt.Errorf("parents: dependency cycle %s", strings.Join(cyc, " → "))
	}
	return g, nil
}

// cycle returns one cycle as a path (first = last), or nil.
func (g *Graph) cycle(names []string) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, c := range g.children[n] {
			switch color[c] {
			case grey:
				i := len(stack) - 1
				for stack[i] != c {
					i--
				}
				found = append(append([]string(nil), stack[i:]...), c)
				return true
			case white:
				if visit(c) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range names {
		if color[n] == white && visit(n) {
			return found
		}
	}
	return nil
}

// Parents returns the parents of child.
func (g *Graph) Parents(child string) []string { return g.parents[child] }

// Children returns the children of parent.
func (g *Graph) Children(parent string) []string { return g.children[parent] }

// DepState records, per edge, whether the parent has succeeded since the
// child last started. It is what the store keeps (Chronos keeps it in memory
// and loses it on failover).
type DepState map[Edge]bool

// ParentFinished applies a parent's final result (after its retries; a
// softError parent counts as succeeded) and returns the children that are
// now ready — every one of their parents has succeeded since the child last
// started — and the edge changes to store. A failed parent clears its edges:
// its children wait for it to succeed again, they never run after a failure.
func (g *Graph) ParentFinished(st DepState, parent string, ok bool) (ready []string, changes map[Edge]bool) {
	changes = make(map[Edge]bool, len(g.children[parent]))
	for _, c := range g.children[parent] {
		e := Edge{parent, c}
		changes[e] = ok
		if !ok {
			continue
		}
		all := true
		for _, p := range g.parents[c] {
			if p != parent && !st[Edge{p, c}] {
				all = false
				break
			}
		}
		if all {
			ready = append(ready, c)
		}
	}
	return ready, changes
}

// ChildStarted returns the edge changes for child starting a run: every
// parent must succeed again before the next one.
func (g *Graph) ChildStarted(child string) map[Edge]bool {
	changes := make(map[Edge]bool, len(g.parents[child]))
	for _, p := range g.parents[child] {
		changes[Edge{p, child}] = false
	}
	return changes
}

// Apply merges changes into st.
func (st DepState) Apply(changes map[Edge]bool) {
	for e, v := range changes {
		if v {
			st[e] = true
		} else {
			delete(st, e)
		}
	}
}

// Set replaces child's parents in place, after the same checks as
// NewGraph (exists says which job names exist, child included): an
// unknown parent, child as its own parent, or a cycle through the new
// edges is an error naming the field, and leaves g unchanged. It costs
// child's descendants, not the whole graph.
func (g *Graph) Set(child string, parents []string, exists func(string) bool) error {
	for _, p := range parents {
		if p == child {
			return fmt.Errorf("parents: %s: a job cannot be its own parent", child)
		}
		if !exists(p) {
			return fmt.Errorf("parents: %s: unknown job %q", child, p)
		}
	}
	if path := g.pathToAny(child, parents); path != nil {
		return fmt.Errorf("parents: dependency cycle %s", strings.Join(append(path, child), " → "))
	}
	g.Remove(child, false)
	for _, p := range parents {
		g.parents[child] = append(g.parents[child], p)
		g.children[p] = append(g.children[p], child)
	}
	return nil
}

// pathToAny returns a path from start down its children to one of
// targets, or nil.
func (g *Graph) pathToAny(start string, targets []string) []string {
	want := make(map[string]bool, len(targets))
	for _, t := range targets {
		want[t] = true
	}
	from := map[string]string{start: ""}
	queue := []string{start}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if want[n] {
			var path []string
			for ; n != ""; n = from[n] {
				path = append([]string{n}, path...)
			}
			return path
		}
		for _, c := range g.children[n] {
			if _, seen := from[c]; !seen {
				from[c] = n
				queue = append(queue, c)
			}
		}
	}
	return nil
}

// Remove drops name's parent edges and, with children, its child edges.
func (g *Graph) Remove(name string, children bool) {
	for _, p := range g.parents[name] {
		g.children[p] = without(g.children[p], name)
		if len(g.children[p]) == 0 {
			delete(g.children, p)
		}
	}
	delete(g.parents, name)
	if children {
		for _, c := range g.children[name] {
			g.parents[c] = without(g.parents[c], name)
			if len(g.parents[c]) == 0 {
				delete(g.parents, c)
			}
		}
		delete(g.children, name)
	}
}

func without(xs []string, x string) []string {
	out := xs[:0:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}
