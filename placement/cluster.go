package placement

import (
	"math/rand/v2"
	"regexp"
	"sort"
)

// Resource dimensions, in the order explanations list them.
const (
	dimCPUs = iota
	dimMem
	dimDisk
	dimGPUs
	numDims
)

func dimName(d int) string {
	switch d {
	case dimCPUs:
		return "cpus"
	case dimMem:
		return "mem"
	case dimDisk:
		return "disk"
	}
	return "gpus"
}

// vec is an amount per dimension.
type vec [numDims]float64

func vecOf(r Resources) vec { return vec{r.CPUs, r.Mem, r.Disk, r.GPUs} }

// epsilon absorbs float rounding when fractional amounts are subtracted.
const epsilon = 1e-9

// agentState is the mutable part of one agent during a run.
type agentState struct {
	free   vec
	cap    vec
	ranges []PortRange // as offered, not copied
	nports int         // ports in ranges
	taken  []int32     // sorted in-range ports handed out during this run
}

// column is one constraint field resolved for every agent: a value id per
// agent (-1 = absent) into a dictionary of distinct values.
type column struct {
	vals  []int32
	names []string
	index map[string]int32
}

func (col *column) intern(s string) int32 {
	if id, ok := col.index[s]; ok {
		return id
	}
	id := int32(len(col.names))
	col.names = append(col.names, s)
	col.index[s] = id
	return id
}

// cluster is the working state of one run over a set of offers: remaining
// resources and ports, per-field value indices, and a change log that lets
// interleaved requests (PlaceAll) refresh their candidate heaps.
type cluster struct {
	offers  []Offer
	agents  []agentState
	byID    map[string]int32
	ver     []uint32 // bumped whenever an agent's free resources change
	tie     []uint32 // seeded tie-break per agent
	log     []int32  // agents changed, in order
	cols    map[string]*column
	regexps map[string]*regexp.Regexp
	rng     rand.Source
	total   vec
	pool    []*scratch
}

func newCluster(offers []Offer, opts Options) *cluster {
	rng := opts.Rand
	if rng == nil {
		rng = rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)
	}
	n := len(offers)
	c := &cluster{
		offers:  offers,
		agents:  make([]agentState, n),
		byID:    make(map[string]int32, n),
		ver:     make([]uint32, n),
		tie:     make([]uint32, n),
		cols:    make(map[string]*column),
		regexps: make(map[string]*regexp.Regexp),
		rng:     rng,
	}
	for i := range offers {
		o := &offers[i]
		a := &c.agents[i]
		a.free = vecOf(o.Resources)
		a.cap = vecOf(o.Capacity)
		if a.cap == (vec{}) {
			a.cap = a.free
		}
		a.ranges = o.Resources.Ports
		for _, r := range a.ranges {
			if r.End >= r.Begin {
				a.nports += r.End - r.Begin + 1
			}
		}
		if _, dup := c.byID[o.ID]; !dup {
			c.byID[o.ID] = int32(i)
		}
		c.tie[i] = uint32(rng.Uint64())
		for d := range numDims {
			c.total[d] += a.free[d]
		}
	}
	return c
}

// column returns the value index of a field, building it on first use.
func (c *cluster) column(field string) *column {
	key := canonicalField(field)
	if col, ok := c.cols[key]; ok {
		return col
	}
	col := &column{vals: make([]int32, len(c.offers)), index: make(map[string]int32)}
	for i := range c.offers {
		v, ok := fieldValue(&c.offers[i].Agent, key)
		if !ok {
			col.vals[i] = -1
			continue
		}
		col.vals[i] = col.intern(v)
	}
	c.cols[key] = col
	return col
}

// fits reports whether agent i has need and the host ports (fixed ones
// free, and enough free ports for the dynamic ones).
func (c *cluster) fits(i int32, need *vec, ports []int, nDyn int) bool {
	a := &c.agents[i]
	for d := range numDims {
		if need[d] > 0 && a.free[d]+epsilon < need[d] {
			return false
		}
	}
	if len(ports) == 0 {
		return true
	}
	if a.nports-len(a.taken) < len(ports) {
		return false
	}
	if nDyn == len(ports) {
		return true
	}
	for _, p := range ports {
		if p > 0 && !c.portFree(i, p) {
			return false
		}
	}
	return true
}

func (c *cluster) portFree(i int32, p int) bool {
	a := &c.agents[i]
	if !inRanges(a.ranges, p) {
		return false
	}
	k := sort.Search(len(a.taken), func(j int) bool { return int(a.taken[j]) >= p })
	return k == len(a.taken) || int(a.taken[k]) != p
}

func inRanges(rs []PortRange, p int) bool {
	for _, r := range rs {
		if p >= r.Begin && p <= r.End {
			return true
		}
	}
	return false
}

// take marks port p of agent i as handed out; false if it was not free.
func (c *cluster) take(i int32, p int) bool {
	a := &c.agents[i]
	if !inRanges(a.ranges, p) {
		return false
	}
	k := sort.Search(len(a.taken), func(j int) bool { return int(a.taken[j]) >= p })
	if k < len(a.taken) && int(a.taken[k]) == p {
		return false
	}
	a.taken = append(a.taken, 0)
	copy(a.taken[k+1:], a.taken[k:])
	a.taken[k] = int32(p)
	return true
}

// firstFreePort is the lowest free port of agent i, or 0.
func (c *cluster) firstFreePort(i int32) int {
	a := &c.agents[i]
	for _, r := range a.ranges {
		k := sort.Search(len(a.taken), func(j int) bool { return int(a.taken[j]) >= r.Begin })
		for p := r.Begin; p <= r.End; p++ {
			if k < len(a.taken) && int(a.taken[k]) == p {
				k++
				continue
			}
			return p
		}
	}
	return 0
}

// changed records that agent i's free resources changed.
func (c *cluster) changed(i int32) {
	c.ver[i]++
	c.log = append(c.log, i)
}

// regexp compiles a full-match regexp once per run.
func (c *cluster) regexp(expr string) (*regexp.Regexp, error) {
	if re, ok := c.regexps[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, err
	}
	c.regexps[expr] = re
	return re, nil
}

// getScratch returns per-request buffers, reused across requests of a run.
func (c *cluster) getScratch() *scratch {
	if k := len(c.pool); k > 0 {
		s := c.pool[k-1]
		c.pool = c.pool[:k-1]
		return s
	}
	n := len(c.offers)
	return &scratch{cand: make([]bool, n), appCnt: make([]int32, n)}
}

func (c *cluster) putScratch(s *scratch) {
	clear(s.cand)
	clear(s.appCnt)
	s.i32 = s.i32[:0]
	s.bools = s.bools[:0]
	for k := range s.heaps {
		s.heaps[k] = s.heaps[k][:0]
	}
	s.active = s.active[:0]
	s.deferred = s.deferred[:0]
	c.pool = append(c.pool, s)
}
