package jobs

import "sort"

// Pending is a run waiting for capacity. Demand is its share of the whole
// job capacity (its dominant resource share, 0–1).
type Pending struct {
	ID       string
	Queue    string
	Demand   float64
	Priority bool
	Seq      int64 // enqueue order
}

// Running is a run holding capacity.
type Running struct {
	ID     string
	Queue  string
	Demand float64
	Seq    int64 // start order
}

// Allocation is what Allocate decided.
type Allocation struct {
	// Launch is the runs to start, in order.
	Launch []Pending
	// Preempt is the running runs to kill to return lent capacity.
	Preempt []string
	// Used is each queue's absolute use after the decision (leaves and
	// inner queues).
	Used map[string]float64
}

// Allocate decides which pending runs start, given what runs and how much
// capacity is free (free ≤ 1 − Σ running when apps use part of the
// cluster). It repeatedly serves the leaf reached by walking from the root
// through the child with the lowest used/guarantee ratio that has a run
// which fits under every maximum; inside a leaf the order is FIFO, or
// highPriority first under "priority". A sibling's idle capacity is thus
// lent, and given back as the lender's runs finish. When preemption is
// allowed on a queue above its guarantee and a sibling with pending runs is
// below its own, the youngest of the lender's surplus runs are preempted.
func Allocate(t *Tree, running []Running, pending []Pending, free float64) Allocation {
	used := map[string]float64{}
	for _, r := range running {
		addUse(t, used, r.Queue, r.Demand)
	}
	queues := map[string][]Pending{}
	for _, p := range pending {
		if _, ok := t.Leaves[p.Queue]; ok {
			queues[p.Queue] = append(queues[p.Queue], p)
		}
	}
	for name, ps := range queues {
		order(ps, t.Leaves[name].Policy)
	}
	a := Allocation{Used: used}
	for {
		leaf := pick(t.Root, used, queues, free)
		if leaf == nil {
			break
		}
		p := queues[leaf.Name][0]
		queues[leaf.Name] = queues[leaf.Name][1:]
		a.Launch = append(a.Launch, p)
		addUse(t, used, p.Queue, p.Demand)
		free -= p.Demand
	}
	a.Preempt = preempt(t, running, used, queues, free)
	return a
}

func order(ps []Pending, policy string) {
	sort.SliceStable(ps, func(i, j int) bool {
		if policy == "priority" && ps[i].Priority != ps[j].Priority {
			return ps[i].Priority
		}
		return ps[i].Seq < ps[j].Seq
	})
}

func addUse(t *Tree, used map[string]float64, leaf string, d float64) {
	for q := t.Leaves[leaf]; q != nil; q = q.Parent {
		used[q.Name] += d
	}
}

const eps = 1e-9

// pick walks from q to the leaf to serve next, or nil when nothing fits.
func pick(q *Queue, used map[string]float64, queues map[string][]Pending, free float64) *Queue {
	if len(q.Children) == 0 {
		ps := queues[q.Name]
		if len(ps) == 0 || ps[0].Demand > free+eps || used[q.Name]+ps[0].Demand > q.Max+eps {
			return nil
		}
		return q
	}
	kids := append([]*Queue(nil), q.Children...)
	sort.SliceStable(kids, func(i, j int) bool {
		ri, rj := used[kids[i].Name]/kids[i].Guarantee, used[kids[j].Name]/kids[j].Guarantee
		if ri != rj {
			return ri < rj
		}
		return kids[i].Name < kids[j].Name
	})
	for _, c := range kids {
		if leaf := pick(c, used, queues, free); leaf != nil && used[c.Name]+queues[leaf.Name][0].Demand <= c.Max+eps {
			return leaf
		}
	}
	return nil
}

// preempt returns runs to kill so that starving leaves (pending head that
// does not fit, used below guarantee) can reach their guarantee, taken from
// queues that allow preemption and run above their guarantee, youngest
// first, never taking a lender below its own guarantee.
func preempt(t *Tree, running []Running, used map[string]float64, queues map[string][]Pending, free float64) []string {
	need := 0.0
	for name, ps := range queues {
		q := t.Leaves[name]
		if len(ps) > 0 && used[name] < q.Guarantee-eps {
			need += min(q.Guarantee-used[name], demandOf(ps))
		}
	}
	need -= free
	if need <= eps {
		return nil
	}
	rs := append([]Running(nil), running...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Seq > rs[j].Seq })
	var out []string
	for _, r := range rs {
		if need <= eps {
			break
		}
		q := t.Leaves[r.Queue]
		if q == nil || !q.Preemption || used[q.Name]-r.Demand < q.Guarantee-eps {
			continue
		}
		out = append(out, r.ID)
		addUse(t, used, r.Queue, -r.Demand)
		need -= r.Demand
	}
	return out
}

func demandOf(ps []Pending) float64 {
	s := 0.0
	for _, p := range ps {
		s += p.Demand
	}
	return s
}
