package placement

import (
	"slices"
	"strconv"
	"strings"
)

// prepared is a constraint bound to one request: its column, the per-value
// verdict of static operators, and the per-value task counts of set-aware
// ones (existing tasks plus what this request placed so far).
type prepared struct {
	Constraint
	col     *column
	static  bool    // LIKE, UNLIKE, IS, CLUSTER with a value
	pass    []bool  // static: verdict per value id
	counts  []int32 // set-aware: tasks per value id
	used    int     // values with a task
	cluster int32   // CLUSTER without value: the value tasks share, -1 none
	err     string  // a hand-built constraint that does not validate
}

func (p *prepared) staticOK(v int32) bool {
	if v < 0 {
		return p.Op == Unlike
	}
	return p.pass[v]
}

// rejectsForGood reports whether value v is out for the rest of the
// request (counts only grow).
func (p *prepared) rejectsForGood(v int32) bool {
	if v < 0 {
		return true
	}
	switch p.Op {
	case Unique:
		return p.counts[v] > 0
	case MaxPer:
		return int(p.counts[v]) >= p.Count
	case Cluster:
		return p.cluster >= 0 && v != p.cluster
	}
	return false
}

// balanced is Marathon's GROUP_BY rule: a value without tasks is always
// fine; otherwise at least Count values must have tasks and v must have
// the fewest.
func (p *prepared) balanced(v int32) bool {
	n := p.counts[v]
	if n == 0 {
		return true
	}
	if p.used < p.Count {
		return false
	}
	return n <= p.minUsed()
}

func (p *prepared) minUsed() int32 {
	m := int32(-1)
	for _, n := range p.counts {
		if n > 0 && (m < 0 || n < m) {
			m = n
		}
	}
	return m
}

func (p *prepared) add(v int32) {
	if v < 0 {
		return
	}
	if p.counts[v] == 0 {
		p.used++
	}
	p.counts[v]++
}

// session places the instances of one request, one at a time, against the
// shared cluster. Candidates sit in min-heaps (one per value of the first
// GROUP_BY field, else one); entries go stale when their agent changes and
// are refreshed from the cluster's change log.
type session struct {
	c        *cluster
	req      *Request
	sc       *scratch
	need     vec
	ports    []int
	nDyn     int
	cons     []prepared
	primary  int // index of the GROUP_BY constraint that partitions, -1
	binpack  bool
	salt     uint32
	logPos   int
	inActive []bool
	res      Result
	portSlab []int
	blocked  string
}

func (c *cluster) newSession(req *Request) *session {
	s := &session{
		c: c, req: req, sc: c.getScratch(), need: vecOf(req.Resources),
		ports: req.HostPorts, primary: -1, binpack: req.Strategy == BinPack,
		salt: uint32(c.rng.Uint64()),
	}
	for j, p := range req.HostPorts {
		switch {
		case p <= 0:
			s.nDyn++
		case p > 65535:
			s.blocked = "host port " + strconv.Itoa(p) + " out of range"
		case slices.Contains(req.HostPorts[:j], p):
			s.blocked = "host port " + strconv.Itoa(p) + " requested twice"
		}
	}
	s.res = Result{AppID: req.AppID, Placements: make([]Placement, 0, min(max(0, req.Instances), 1024))}
	s.prepareConstraints()
	s.countExisting()
	s.scan()
	return s
}

func (s *session) prepareConstraints() {
	s.cons = make([]prepared, len(s.req.Constraints))
	for k, con := range s.req.Constraints {
		p := &s.cons[k]
		p.Constraint = con
		p.Op = Operator(strings.ToUpper(string(con.Op)))
		p.cluster = -1
		p.col = s.c.column(con.Field)
		if p.err = s.validate(p); p.err != "" {
			continue
		}
		switch p.Op {
		case Like, Unlike, Is:
			p.static = true
		case Cluster:
			p.static = p.Value != ""
		case GroupBy:
			if s.primary < 0 {
				s.primary = k
			}
		}
		if p.static {
			s.staticVerdicts(p)
		}
	}
}

// validate fills what ParseConstraint would have for a hand-built
// constraint and returns the validation message, or "".
func (s *session) validate(p *prepared) string {
	switch p.Op {
	case Like, Unlike:
		if p.re != nil {
			return ""
		}
		if p.Value == "" {
			return "LIKE and UNLIKE require a non-empty, regular expression value"
		}
		re, err := s.c.regexp(p.Value)
		if err != nil {
			return "'" + p.Value + "' is not a valid regular expression"
		}
		p.re = re
		return ""
	case GroupBy, MaxPer:
		if p.Count != 0 || p.Value == "" && p.Op == GroupBy {
			return ""
		}
	}
	return p.Constraint.prepare(p.Value != "")
}

func (s *session) staticVerdicts(p *prepared) {
	names := p.col.names
	p.pass = s.sc.flags(len(names))
	var match func(string) bool
	switch p.Op {
	case Like:
		match = p.re.MatchString
	case Unlike:
		match = func(v string) bool { return !p.re.MatchString(v) }
	case Is:
		match = isMatcher(p.Value)
	default: // CLUSTER with a value
		match = func(v string) bool { return v == p.Value }
	}
	for id, name := range names {
		p.pass[id] = match(name)
	}
}

// countExisting counts the app's existing tasks per constraint value and
// per agent, and takes their host ports.
func (s *session) countExisting() {
	for t := range s.req.Existing {
		for k := range s.cons {
			s.taskValue(&s.req.Existing[t], &s.cons[k])
		}
	}
	for k := range s.cons {
		if p := &s.cons[k]; !p.static && p.err == "" {
			p.counts = s.sc.ints(len(p.col.names))
		}
	}
	for t := range s.req.Existing {
		task := &s.req.Existing[t]
		if i, ok := s.c.byID[task.Agent.ID]; ok {
			s.sc.appCnt[i]++
			for _, hp := range task.HostPorts {
				if s.c.take(i, hp) {
					s.c.changed(i)
				}
			}
		}
		for k := range s.cons {
			p := &s.cons[k]
			if p.static || p.err != "" {
				continue
			}
			v := s.taskValue(task, p)
			p.add(v)
			if p.Op == Cluster && p.cluster < 0 {
				p.cluster = v
			}
		}
	}
}

// taskValue is the value id of p's field for an existing task, interning
// values of agents that are not among the offers.
func (s *session) taskValue(t *Task, p *prepared) int32 {
	if i, ok := s.c.byID[t.Agent.ID]; ok {
		return p.col.vals[i]
	}
	v, ok := fieldValue(&t.Agent, canonicalField(p.Field))
	if !ok {
		return -1
	}
	return p.col.intern(v)
}

// permitted runs the constraint checks that can change during a request.
func (s *session) permitted(i int32) bool {
	for k := range s.cons {
		p := &s.cons[k]
		if p.err != "" {
			return false
		}
		if !p.static && p.rejectsForGood(p.col.vals[i]) {
			return false
		}
	}
	return true
}

func (s *session) eligible(i int32) bool {
	for k := range s.cons {
		p := &s.cons[k]
		if p.static && !p.staticOK(p.col.vals[i]) {
			return false
		}
	}
	return s.permitted(i) && s.c.fits(i, &s.need, s.ports, s.nDyn)
}
