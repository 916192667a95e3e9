package ui

import (
	"strconv"

	"github.com/berth-platform/berth/internal/apiclient"
)

// queueJSON is one queue of GET /scheduler/queues (shares and capacities
// are percentages).
type queueJSON = apiclient.JobQueue

// QueuesPage is the capacity queues: configured against used share.
type QueuesPage struct {
	Page
	Missing string
	Queues  []JobQueueRow
	// Pending is the runs waiting in every leaf queue.
	Pending int
}

// JobQueueRow is one capacity queue, indented under its parent.
type JobQueueRow struct {
	Name, Parent, Capacity, MaxCapacity, Guaranteed, Used, Policy string
	Depth, Pending, Jobs                                          int
	Preemption, Leaf, Over                                        bool
	// GuarPct and UsedPct place the bar's marker and fill (0–100).
	GuarPct, UsedPct float64
}

func pct(f float64) string { return strconv.FormatFloat(round2(f), 'f', -1, 64) + " %" }

func clamp100(f float64) float64 { return min(max(f, 0), 100) }

// QueuesView lays the queues out as a tree (the API lists a parent before
// its children).
func QueuesView(queues []queueJSON) QueuesPage {
	p := QueuesPage{Page: Page{Title: "Job queues", Nav: "jobs"}}
	depth, children := map[string]int{}, map[string]int{}
	for _, q := range queues {
		children[q.Parent]++
	}
	for _, q := range queues {
		d := 0
		if q.Parent != "" {
			d = depth[q.Parent] + 1
		}
		depth[q.Name] = d
		r := JobQueueRow{Name: q.Name, Parent: q.Parent, Depth: d, Capacity: pct(q.Capacity), MaxCapacity: pct(q.MaxCapacity),
			Guaranteed: pct(q.Guaranteed), Used: pct(q.Used), Policy: q.Policy, Pending: q.Pending, Jobs: q.Jobs,
			Preemption: q.Preemption, Leaf: children[q.Name] == 0, Over: q.Used > q.Guaranteed+0.005,
			GuarPct: round2(clamp100(q.Guaranteed)), UsedPct: round2(clamp100(q.Used))}
		if r.Leaf {
			p.Pending += q.Pending
		}
		p.Queues = append(p.Queues, r)
	}
	return p
}
