package placement

// entry is a candidate agent in a request's heap. It is valid while ver
// equals the agent's current version; stale entries are dropped on pop.
type entry struct {
	key float64 // lower is better
	tie uint32  // seeded tie-break
	idx int32
	ver uint32
}

func (a *entry) less(b *entry) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	if a.tie != b.tie {
		return a.tie < b.tie
	}
	return a.idx < b.idx
}

func heapInit(h []entry) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		heapDown(h, i)
	}
}

func heapPush(h []entry, e entry) []entry {
	h = append(h, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []entry) (entry, []entry) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	heapDown(h, 0)
	return top, h
}

func heapDown(h []entry, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].less(&h[l]) {
			m = r
		}
		if !h[m].less(&h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// scratch holds one request's per-agent buffers; a run reuses them.
type scratch struct {
	cand     []bool  // agent passed every check when the request started
	appCnt   []int32 // tasks of this app per agent
	heaps    [][]entry
	active   []int32 // heap slots that may be non-empty
	deferred []entry
	i32      []int32
	bools    []bool
}

// ints returns n zeroed int32s from the slab.
func (s *scratch) ints(n int) []int32 {
	if cap(s.i32)-len(s.i32) < n {
		s.i32 = make([]int32, 0, max(2*cap(s.i32), n, 1024))
	}
	k := len(s.i32)
	s.i32 = s.i32[:k+n]
	out := s.i32[k : k+n : k+n]
	clear(out)
	return out
}

// flags returns n false bools from the slab.
func (s *scratch) flags(n int) []bool {
	if cap(s.bools)-len(s.bools) < n {
		s.bools = make([]bool, 0, max(2*cap(s.bools), n, 1024))
	}
	k := len(s.bools)
	s.bools = s.bools[:k+n]
	out := s.bools[k : k+n : k+n]
	clear(out)
	return out
}

// slots makes sure heaps has n empty slots.
func (s *scratch) slots(n int) {
	for len(s.heaps) < n {
		s.heaps = append(s.heaps, nil)
	}
}
