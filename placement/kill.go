package placement

import (
	"sort"
	"strings"
)

// KillSelection orders tasks of the same state on scale-down.
type KillSelection string

// Kill selections; the empty KillSelection means YoungestFirst.
const (
	YoungestFirst KillSelection = "YOUNGEST_FIRST"
	OldestFirst   KillSelection = "OLDEST_FIRST"
)

// SelectKills chooses n tasks to kill when an app scales down, in kill
// order. Each victim is taken from the most crowded value of the first
// GROUP_BY constraint (then of the next one, and so on), so the spread is
// restored first; among those, unreachable tasks go first, then staging,
// starting, running and the rest; within a state killSelection decides
// (YOUNGEST_FIRST: latest StartedAt first), then the task ID. Tasks in
// TaskUnreachableInactive are never chosen. Values come from each task's
// Agent (fieldValue rules); a task without the attribute forms its own
// group.
func SelectKills(tasks []Task, n int, sel KillSelection, constraints []Constraint) []Task {
	order := make([]int, 0, len(tasks))
	for k := range tasks {
		if tasks[k].State != TaskUnreachableInactive {
			order = append(order, k)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		return killsBefore(&tasks[order[a]], &tasks[order[b]], sel)
	})
	var groupBy []string
	for _, c := range constraints {
		if Operator(strings.ToUpper(string(c.Op))) == GroupBy {
			groupBy = append(groupBy, canonicalField(c.Field))
		}
	}
	victims := make([]Task, 0, min(max(n, 0), len(order)))
	for len(victims) < n && len(order) > 0 {
		k := pickVictim(tasks, order, groupBy)
		victims = append(victims, tasks[order[k]])
		order = append(order[:k], order[k+1:]...)
	}
	return victims
}

func killsBefore(a, b *Task, sel KillSelection) bool {
	if a.State != b.State {
		return a.State < b.State
	}
	if !a.StartedAt.Equal(b.StartedAt) {
		if sel == OldestFirst {
			return a.StartedAt.Before(b.StartedAt)
		}
		return a.StartedAt.After(b.StartedAt)
	}
	return a.ID < b.ID
}

// pickVictim returns the position in order (already in kill order) of the
// next victim: narrowed to the most crowded group of each GROUP_BY field in
// turn, then the first in kill order.
func pickVictim(tasks []Task, order []int, groupBy []string) int {
	cands := order
	for _, field := range groupBy {
		counts := make(map[string]int)
		for _, k := range order {
			v, _ := fieldValue(&tasks[k].Agent, field)
			counts[v]++
		}
		most := 0
		for _, k := range cands {
			v, _ := fieldValue(&tasks[k].Agent, field)
			most = max(most, counts[v])
		}
		var next []int
		for _, k := range cands {
			if v, _ := fieldValue(&tasks[k].Agent, field); counts[v] == most {
				next = append(next, k)
			}
		}
		cands = next
	}
	first := cands[0]
	for pos, k := range order {
		if k == first {
			return pos
		}
	}
	return 0
}
