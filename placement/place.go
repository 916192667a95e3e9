package placement

import (
	"sort"
)

// Place places req.Instances new instances of one app on the offers. It is
// PlaceAll with a single request (so a quota in opts.Roles still applies).
func Place(offers []Offer, req Request, opts Options) Result {
	return PlaceAll(offers, []Request{req}, opts)[0]
}

// PlaceAll places many requests against one offer set that shrinks as
// instances land. Roles take turns in Dominant Resource Fairness order:
// each turn goes to the role with the smallest dominant share (held
// resources over the cluster total, the most-used dimension) divided by
// its weight, ties by role name; the role places one instance of its first
// unfinished request (requests of a role go in input order). A role at its
// quota stops. Results come back in request order.
func PlaceAll(offers []Offer, reqs []Request, opts Options) []Result {
	c := newCluster(offers, opts)
	f := newFairShare(c, reqs, opts.Roles)
	for {
		r := f.pick()
		if r == nil {
			break
		}
		f.step(r)
	}
	return f.results
}

// roleQueue is one role's turn state.
type roleQueue struct {
	name   string
	weight float64
	quota  vec
	used   vec
	reqs   []int // request indices, in order
	next   int
	cur    *session
}

type fairShare struct {
	c       *cluster
	reqs    []Request
	roles   []*roleQueue
	total   vec
	results []Result
}

func newFairShare(c *cluster, reqs []Request, cfg map[string]Role) *fairShare {
	f := &fairShare{c: c, reqs: reqs, total: c.total, results: make([]Result, len(reqs))}
	byName := make(map[string]*roleQueue)
	for k := range reqs {
		name := reqs[k].Role
		if name == "" {
			name = "*"
		}
		r := byName[name]
		if r == nil {
			r = &roleQueue{name: name, weight: 1}
			if rc, ok := cfg[name]; ok {
				if rc.Weight > 0 {
					r.weight = rc.Weight
				}
				r.quota, r.used = vecOf(rc.Quota), vecOf(rc.Used)
			}
			byName[name] = r
			f.roles = append(f.roles, r)
		}
		r.reqs = append(r.reqs, k)
	}
	sort.Slice(f.roles, func(a, b int) bool { return f.roles[a].name < f.roles[b].name })
	names := make([]string, 0, len(cfg))
	for name := range cfg {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for d, x := range vecOf(cfg[name].Used) {
			f.total[d] += x
		}
	}
	return f
}

func (f *fairShare) share(r *roleQueue) float64 {
	s := 0.0
	for d := range numDims {
		if f.total[d] > 0 {
			s = max(s, r.used[d]/f.total[d])
		}
	}
	return s / r.weight
}

// pick returns the role whose turn it is, or nil when all are done.
func (f *fairShare) pick() *roleQueue {
	var best *roleQueue
	bestShare := 0.0
	for _, r := range f.roles {
		if r.next >= len(r.reqs) {
			continue
		}
		if s := f.share(r); best == nil || s < bestShare {
			best, bestShare = r, s
		}
	}
	return best
}

// step places one instance for role r, or finishes its current request.
func (f *fairShare) step(r *roleQueue) {
	if r.cur == nil {
		k := r.reqs[r.next]
		if f.reqs[k].Instances <= 0 {
			f.results[k] = Result{AppID: f.reqs[k].AppID, Explanation: Explanation{Agents: len(f.c.offers)}}
			r.next++
			return
		}
		r.cur = f.c.newSession(&f.reqs[k])
	}
	s := r.cur
	if over := r.quotaReached(&s.need); over != "" {
		s.blocked = over
		f.finish(r)
		return
	}
	if !s.placeOne() {
		f.finish(r)
		return
	}
	for d := range numDims {
		r.used[d] += max(0, s.need[d])
	}
	if len(s.res.Placements) >= s.req.Instances {
		f.finish(r)
	}
}

func (f *fairShare) finish(r *roleQueue) {
	f.results[r.reqs[r.next]] = r.cur.finish()
	r.cur = nil
	r.next++
}

// quotaReached names the quota one more instance would exceed, or "".
func (r *roleQueue) quotaReached(need *vec) string {
	for d := range numDims {
		if r.quota[d] > 0 && r.used[d]+need[d] > r.quota[d]+epsilon {
			return "role " + r.name + " quota of " + dimName(d) + " " + FormatScalar(r.quota[d]) + " reached"
		}
	}
	return ""
}
