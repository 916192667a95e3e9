package ui

import "sort"

// Graph is the jobs' dependency graph laid out for SVG: one column per
// depth (a job sits right of its deepest parent), one row per job in its
// column.
type Graph struct {
	Width, Height int
	Nodes         []GraphNode
	Edges         []GraphEdge
}

// GraphNode is one job's box: Class is its last result (or disabled),
// State the API's state; Current marks the job whose page this is.
type GraphNode struct {
	Name, Label, Href, Class, State string
	X, Y, W, H, TX, TY              int
	Current                         bool
}

// GraphEdge is one parent → child arrow.
type GraphEdge struct {
	X1, Y1, X2, Y2 int
}

const (
	graphW, graphH       = 150, 34
	graphGapX, graphGapY = 60, 18
	graphPad             = 10
)

// graphDepths is each job's depth: one more than its deepest known
// parent's (cycles cut).
func graphDepths(jobs []JobRow, byName map[string]JobRow) map[string]int {
	depth := map[string]int{}
	var depthOf func(name string, seen map[string]bool) int
	depthOf = func(name string, seen map[string]bool) int {
		if d, ok := depth[name]; ok {
			return d
		}
		if seen[name] {
			return 0
		}
		seen[name] = true
		d := 0
		for _, p := range byName[name].Parents {
			if _, ok := byName[p]; ok {
				d = max(d, depthOf(p, seen)+1)
			}
		}
		depth[name] = d
		return d
	}
	for _, j := range jobs {
		depthOf(j.Name, map[string]bool{})
	}
	return depth
}

// JobGraph lays the jobs out by depth; a job whose parent is unknown
// sits at depth 0. Cycles (the API refuses them) are cut. The job named
// current (if any) is marked.
func JobGraph(jobs []JobRow, current string) Graph {
	byName := map[string]JobRow{}
	for _, j := range jobs {
		byName[j.Name] = j
	}
	depth := graphDepths(jobs, byName)
	cols := map[int][]string{}
	maxDepth := 0
	for _, j := range jobs {
		d := depth[j.Name]
		cols[d] = append(cols[d], j.Name)
		maxDepth = max(maxDepth, d)
	}
	var g Graph
	pos := map[string]GraphNode{}
	rows := 0
	for d := 0; d <= maxDepth; d++ {
		sort.Strings(cols[d])
		for i, name := range cols[d] {
			j := byName[name]
			n := GraphNode{Name: name, Label: name, Href: jobHref(name), Class: j.Result, State: j.State, Current: name == current,
				X: graphPad + d*(graphW+graphGapX), Y: graphPad + i*(graphH+graphGapY), W: graphW, H: graphH}
			if j.Disabled {
				n.Class = "disabled"
			}
			if len(n.Label) > 18 {
				n.Label = n.Label[:17] + "…"
			}
			n.TX, n.TY = n.X+8, n.Y+graphH/2+5
			pos[name] = n
			g.Nodes = append(g.Nodes, n)
		}
		rows = max(rows, len(cols[d]))
	}
	for _, j := range jobs {
		c := pos[j.Name]
		for _, p := range j.Parents {
			if pn, ok := pos[p]; ok && depth[p] < depth[j.Name] {
				g.Edges = append(g.Edges, GraphEdge{X1: pn.X + pn.W, Y1: pn.Y + pn.H/2, X2: c.X - 2, Y2: c.Y + c.H/2})
			}
		}
	}
	if len(jobs) > 0 {
		g.Width = 2*graphPad + (maxDepth+1)*graphW + maxDepth*graphGapX
		g.Height = 2*graphPad + rows*graphH + (rows-1)*graphGapY
	}
	return g
}
