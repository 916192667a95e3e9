package placement

// mix32 scrambles a tie-break seed (a 32-bit integer hash).
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// key scores agent i for one more instance; lower is better. Spread:
// tasks of this app on the agent, then its dominant load after placing.
// Bin-pack: the highest load after placing.
func (s *session) key(i int32) float64 {
	a := &s.c.agents[i]
	load := 0.0
	for d := range numDims {
		if a.cap[d] > 0 {
			if x := (a.cap[d] - a.free[d] + s.need[d]) / a.cap[d]; x > load {
				load = x
			}
		}
	}
	if s.binpack {
		return -load
	}
	return float64(s.sc.appCnt[i]) + load
}

func (s *session) entry(i int32) entry {
	return entry{key: s.key(i), tie: mix32(s.c.tie[i] ^ s.salt), idx: i, ver: s.c.ver[i]}
}

func (s *session) slot(i int32) int32 {
	if s.primary < 0 {
		return 0
	}
	return s.cons[s.primary].col.vals[i]
}

// scan evaluates every agent once and heaps up the candidates.
func (s *session) scan() {
	s.logPos = len(s.c.log)
	if s.req.Instances <= 0 || s.blocked != "" {
		return
	}
	nslots := 1
	if s.primary >= 0 {
		nslots = len(s.cons[s.primary].col.names)
	}
	sc := s.sc
	sc.slots(nslots)
	s.inActive = sc.flags(nslots)
	for i := range int32(len(s.c.offers)) {
		if !s.eligible(i) {
			continue
		}
		sc.cand[i] = true
		k := s.slot(i)
		sc.heaps[k] = append(sc.heaps[k], s.entry(i))
	}
	for k := range int32(nslots) {
		if len(sc.heaps[k]) > 0 {
			heapInit(sc.heaps[k])
			sc.active = append(sc.active, k)
			s.inActive[k] = true
		}
	}
}

func (s *session) push(e entry) {
	k := s.slot(e.idx)
	s.sc.heaps[k] = heapPush(s.sc.heaps[k], e)
	if !s.inActive[k] {
		s.inActive[k] = true
		s.sc.active = append(s.sc.active, k)
	}
}

// sync re-heaps candidates that other requests changed since last time.
func (s *session) sync() {
	log := s.c.log
	for _, i := range log[s.logPos:] {
		if s.sc.cand[i] && s.permitted(i) && s.c.fits(i, &s.need, s.ports, s.nDyn) {
			s.push(s.entry(i))
		}
	}
	s.logPos = len(log)
}

// pickSlot returns the heap to take from: the GROUP_BY value with the
// fewest tasks (ties: best top entry), or -1 when all are empty.
func (s *session) pickSlot() int32 {
	sc := s.sc
	if s.primary < 0 {
		if len(sc.heaps[0]) > 0 {
			return 0
		}
		return -1
	}
	counts := s.cons[s.primary].counts
	best := int32(-1)
	for j := 0; j < len(sc.active); {
		k := sc.active[j]
		if len(sc.heaps[k]) == 0 {
			s.inActive[k] = false
			last := len(sc.active) - 1
			sc.active[j] = sc.active[last]
			sc.active = sc.active[:last]
			continue
		}
		j++
		if best < 0 || counts[k] < counts[best] ||
			counts[k] == counts[best] && sc.heaps[k][0].less(&sc.heaps[best][0]) {
			best = k
		}
	}
	return best
}

// placeOne places one more instance; false when none fits.
func (s *session) placeOne() bool {
	if s.req.Instances <= 0 || s.blocked != "" {
		return false
	}
	s.sync()
	sc := s.sc
	defer s.restoreDeferred()
	for {
		k := s.pickSlot()
		if k < 0 {
			return false
		}
		var e entry
		e, sc.heaps[k] = heapPop(sc.heaps[k])
		if e.ver != s.c.ver[e.idx] || !s.permitted(e.idx) {
			continue // stale, or out for good
		}
		if s.primary >= 0 && !s.cons[s.primary].balanced(k) {
			s.push(e) // the emptiest group is refused, so are all others
			return false
		}
		if !s.secondaryBalanced(e.idx) {
			sc.deferred = append(sc.deferred, e)
			continue
		}
		s.commit(e.idx)
		return true
	}
}

func (s *session) secondaryBalanced(i int32) bool {
	for k := range s.cons {
		p := &s.cons[k]
		if p.Op == GroupBy && k != s.primary && p.err == "" && !p.balanced(p.col.vals[i]) {
			return false
		}
	}
	return true
}

func (s *session) restoreDeferred() {
	for _, e := range s.sc.deferred {
		s.push(e)
	}
	s.sc.deferred = s.sc.deferred[:0]
}

// commit places the next instance on agent i.
func (s *session) commit(i int32) {
	c := s.c
	a := &c.agents[i]
	for d := range numDims {
		if s.need[d] > 0 {
			a.free[d] -= s.need[d]
		}
	}
	n := len(s.res.Placements)
	var hp []int
	if w := len(s.ports); w > 0 {
		if len(s.portSlab) < w {
			s.portSlab = make([]int, w*min(s.req.Instances-n, 1024))
		}
		hp, s.portSlab = s.portSlab[:w:w], s.portSlab[w:]
		for j, p := range s.ports {
			if p > 0 {
				c.take(i, p)
				hp[j] = p
			}
		}
		for j, p := range s.ports {
			if p <= 0 {
				hp[j] = c.firstFreePort(i)
				c.take(i, hp[j])
			}
		}
	}
	c.changed(i)
	s.logPos = len(c.log)
	s.sc.appCnt[i]++
	for k := range s.cons {
		p := &s.cons[k]
		if p.static || p.err != "" {
			continue
		}
		v := p.col.vals[i]
		p.add(v)
		if p.Op == Cluster && p.cluster < 0 {
			p.cluster = v
		}
	}
	o := &c.offers[i]
	s.res.Placements = append(s.res.Placements, Placement{
		Instance: n, AgentID: o.ID, Hostname: o.Hostname, HostPorts: hp,
	})
	if s.permitted(i) && c.fits(i, &s.need, s.ports, s.nDyn) {
		s.push(s.entry(i))
	}
}

// finish completes the request's Result and returns the buffers.
func (s *session) finish() Result {
	r := s.res
	placed := len(r.Placements)
	r.Unplaced = max(0, s.req.Instances-placed)
	r.Explanation = Explanation{
		Requested: max(0, s.req.Instances), Placed: placed,
		Agents: len(s.c.offers), Blocked: s.blocked,
	}
	if r.Unplaced > 0 && s.blocked == "" {
		r.Explanation.Reasons = s.explain()
	}
	s.c.putScratch(s.sc)
	s.sc = nil
	return r
}
