package placement

import (
	"strconv"
	"strings"
)

// Explanation says how much of a request was placed and, for the rest,
// why: every agent is counted once, under the first check it fails, in
// this order: the constraints as declared, then cpus, mem, disk, gpus, then
// host ports. It is computed only when something stays unplaced.
type Explanation struct {
	Requested int
	Placed    int
	Agents    int // agents evaluated
	// Blocked is a reason that holds the request back as a whole (a role
	// quota, the same fixed host port twice); agents were not evaluated then.
	Blocked string
	Reasons []Reason
}

// Reason is one rejection reason and the number of agents it applied to.
type Reason struct {
	Text   string
	Agents int
}

// String renders the explanation for people, e.g.
// "unplaced 2 of 5: hostname UNIQUE already used on 3 agents; insufficient mem on 40 agents".
func (e Explanation) String() string {
	if e.Placed >= e.Requested {
		return "placed " + strconv.Itoa(e.Placed) + " of " + strconv.Itoa(e.Requested)
	}
	var b strings.Builder
	b.WriteString("unplaced ")
	b.WriteString(strconv.Itoa(e.Requested - e.Placed))
	b.WriteString(" of ")
	b.WriteString(strconv.Itoa(e.Requested))
	b.WriteString(": ")
	switch {
	case e.Blocked != "":
		b.WriteString(e.Blocked)
	case e.Agents == 0:
		b.WriteString("no offers")
	case len(e.Reasons) == 0:
		b.WriteString("no reason recorded")
	}
	for k, r := range e.Reasons {
		if k > 0 || e.Blocked != "" {
			b.WriteString("; ")
		}
		b.WriteString(r.Text)
		b.WriteString(" on ")
		b.WriteString(strconv.Itoa(r.Agents))
		if r.Agents == 1 {
			b.WriteString(" agent")
		} else {
			b.WriteString(" agents")
		}
	}
	return b.String()
}

// Reason slots: two per constraint (rejected, attribute missing), one per
// resource dimension, one for the number of ports, one per fixed port, and
// a last one that should stay empty.
func (s *session) slotDim(d int) int       { return 2*len(s.cons) + d }
func (s *session) slotPortCount() int      { return 2*len(s.cons) + numDims }
func (s *session) slotFixedPort(j int) int { return s.slotPortCount() + 1 + j }
func (s *session) slotOther() int          { return s.slotFixedPort(len(s.ports)) }

// explain counts every agent under the first check it fails now.
func (s *session) explain() []Reason {
	counts := make([]int, s.slotOther()+1)
	for i := range int32(len(s.c.offers)) {
		counts[s.firstFailure(i)]++
	}
	var out []Reason
	for slot, n := range counts {
		if n == 0 {
			continue
		}
		text := s.reasonText(slot)
		merged := false
		for k := range out {
			if out[k].Text == text {
				out[k].Agents += n
				merged = true
			}
		}
		if !merged {
			out = append(out, Reason{Text: text, Agents: n})
		}
	}
	return out
}

func (s *session) firstFailure(i int32) int {
	for k := range s.cons {
		p := &s.cons[k]
		if p.err != "" {
			return 2 * k
		}
		v := p.col.vals[i]
		switch {
		case p.static:
			if !p.staticOK(v) {
				return 2 * k
			}
		case v < 0:
			return 2*k + 1
		case p.rejectsForGood(v), p.Op == GroupBy && !p.balanced(v):
			return 2 * k
		}
	}
	a := &s.c.agents[i]
	for d := range numDims {
		if s.need[d] > 0 && a.free[d]+epsilon < s.need[d] {
			return s.slotDim(d)
		}
	}
	if len(s.ports) > 0 && a.nports-len(a.taken) < len(s.ports) {
		return s.slotPortCount()
	}
	for j, p := range s.ports {
		if p > 0 && !s.c.portFree(i, p) {
			return s.slotFixedPort(j)
		}
	}
	return s.slotOther()
}

func (s *session) reasonText(slot int) string {
	if k := slot / 2; k < len(s.cons) {
		p := &s.cons[k]
		if slot%2 == 1 {
			return "no " + p.Field + " attribute"
		}
		return p.failText()
	}
	switch slot -= 2 * len(s.cons); {
	case slot < numDims:
		return "insufficient " + dimName(slot)
	case slot == numDims:
		return "insufficient ports (" + strconv.Itoa(len(s.ports)) + " needed)"
	case slot-numDims-1 < len(s.ports):
		return "port " + strconv.Itoa(s.ports[slot-numDims-1]) + " not free"
	}
	return "eligible but not chosen"
}

func (p *prepared) failText() string {
	if p.err != "" {
		return p.Constraint.String() + " invalid: " + p.err
	}
	switch p.Op {
	case Unique:
		return p.Field + " UNIQUE already used"
	case MaxPer:
		return p.Constraint.String() + " reached"
	case Unlike:
		return p.Constraint.String() + " matched"
	case GroupBy:
		if p.used < p.Count {
			return p.Constraint.String() + " not balanced (" + strconv.Itoa(p.used) + " of " +
				strconv.Itoa(p.Count) + " values used)"
		}
		return p.Constraint.String() + " not balanced"
	case Cluster:
		if p.Value == "" && p.cluster >= 0 {
			return p.Field + " CLUSTER " + p.col.names[p.cluster] + " not matched"
		}
	}
	return p.Constraint.String() + " not matched"
}
