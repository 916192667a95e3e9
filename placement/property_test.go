package placement

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// genScenario makes a small random cluster and one to three requests.
func genScenario(r *rand.Rand) ([]Offer, []Request) {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	offers := make([]Offer, 1+r.IntN(8))
	for i := range offers {
		a := Agent{ID: fmt.Sprintf("a%d", i), Hostname: fmt.Sprintf("h%d", i), Attributes: map[string]Value{}}
		if r.IntN(6) == 0 {
			a.Hostname = "shared"
		}
		if r.IntN(5) > 0 {
			a.Attributes["rack"] = Text(pick("r1", "r2", "r3"))
		}
		if r.IntN(3) > 0 {
			a.Attributes["zone"] = Text(pick("z1", "z2"))
		}
		if r.IntN(2) > 0 {
			a.Attributes["gen"] = Scalar([]float64{0.5, 0.8, 0.8001, 1}[r.IntN(4)])
		}
		if r.IntN(3) == 0 {
			a.Zone = pick("za", "zb")
		}
		res := Resources{
			CPUs: []float64{0, 1, 2, 4, 8}[r.IntN(5)], Mem: []float64{256, 1024, 4096}[r.IntN(3)],
			Disk: []float64{0, 100, 100}[r.IntN(3)], GPUs: []float64{0, 0, 1}[r.IntN(3)],
		}
		switch r.IntN(6) {
		case 0:
		case 1:
			res.Ports = []PortRange{{31000, 31000 + r.IntN(4)}, {8080, 8081}}
		default:
			res.Ports = []PortRange{{31000, 31000 + r.IntN(5)}}
		}
		offers[i] = Offer{Agent: a, Resources: res}
	}
	reqs := make([]Request, 1+r.IntN(3))
	for k := range reqs {
		reqs[k] = genRequest(r, k, offers, len(reqs) == 1)
	}
	return offers, reqs
}

func genRequest(r *rand.Rand, k int, offers []Offer, withPorts bool) Request {
	pool := [][]string{
		{"hostname", "UNIQUE"}, {"rack", "UNIQUE"}, {"hostname", "CLUSTER"}, {"rack", "CLUSTER"},
		{"rack", "CLUSTER", "r2"}, {"rack", "GROUP_BY"}, {"zone", "GROUP_BY", "2"}, {"rack", "GROUP_BY", "3"},
		{"rack", "LIKE", "r[12]"}, {"zone", "UNLIKE", "z1"}, {"rack", "MAX_PER", "2"},
		{"hostname", "MAX_PER", "1"}, {"gen", "IS", "0.8"}, {"@zone", "IS", "za"}, {"rack", "UNLIKE", "r.*"},
	}
	var raw [][]string
	for range r.IntN(3) {
		raw = append(raw, pool[r.IntN(len(pool))])
	}
	cs, err := ParseConstraints(raw)
	if err != nil {
		panic(err)
	}
	req := Request{
		AppID: fmt.Sprintf("/app%d", k), Role: []string{"a", "b"}[r.IntN(2)],
		Resources: Resources{CPUs: []float64{0.5, 1, 2}[r.IntN(3)], Mem: []float64{128, 512}[r.IntN(2)],
			Disk: []float64{0, 0, 50}[r.IntN(3)], GPUs: []float64{0, 0, 0, 0, 0, 0, 0, 1}[r.IntN(8)]},
		Instances: r.IntN(9), Constraints: cs, Strategy: []Strategy{"", Spread, BinPack}[r.IntN(3)],
	}
	for range r.IntN(3) {
		req.HostPorts = append(req.HostPorts, []int{0, 0, 31000, 31001, 8080}[r.IntN(5)])
	}
	for t := range r.IntN(4) {
		task := Task{ID: fmt.Sprintf("t%d", t)}
		if r.IntN(4) == 0 {
			task.Agent = Agent{ID: "gone", Hostname: "gone", Attributes: map[string]Value{"rack": Text("r3"), "zone": Text("z2")}}
		} else {
			task.Agent = Agent{ID: offers[r.IntN(len(offers))].ID}
			if withPorts && r.IntN(2) == 0 {
				task.HostPorts = []int{31000 + r.IntN(3)}
			}
		}
		req.Existing = append(req.Existing, task)
	}
	return req
}

func TestPropertiesRandomScenarios(t *testing.T) {
	const n = 10000
	rng := rand.New(rand.NewPCG(1, 2))
	var placed, unplaced, constrained int
	defer func() {
		t.Logf("%d scenarios: %d placements, %d instances unplaced, %d placements under constraints",
			n, placed, unplaced, constrained)
		if placed < n || unplaced < n || constrained < n/2 {
			t.Errorf("random scenarios too one-sided")
		}
	}()
	for s := range n {
		offers, reqs := genScenario(rng)
		seed := rng.Uint64()
		opts := Options{Seed: seed, Roles: genRoles(rng)}
		res := PlaceAll(offers, reqs, opts)
		again := PlaceAll(offers, reqs, opts)
		if !reflect.DeepEqual(res, again) {
			t.Fatalf("scenario %d: same seed, different result", s)
		}
		for k, r := range res {
			placed += len(r.Placements)
			unplaced += r.Unplaced
			if len(reqs[k].Constraints) > 0 {
				constrained += len(r.Placements)
			}
		}
		if err := checkQuotas(reqs, res, opts.Roles); err != nil {
			t.Fatalf("scenario %d: %v", s, err)
		}
		if err := checkInvariants(offers, reqs, res); err != nil {
			t.Fatalf("scenario %d (seed %d): %v\noffers: %+v\nrequests: %+v\nresults: %+v", s, seed, err, offers, reqs, res)
		}
	}
}

func genRoles(r *rand.Rand) map[string]Role {
	roles := map[string]Role{}
	for _, name := range []string{"a", "b"} {
		if r.IntN(3) == 0 {
			roles[name] = Role{
				Weight: []float64{0, 1, 2}[r.IntN(3)],
				Quota:  Resources{CPUs: []float64{0, 2, 4}[r.IntN(3)], Mem: []float64{0, 1024}[r.IntN(2)]},
				Used:   Resources{CPUs: []float64{0, 1}[r.IntN(2)]},
			}
		}
	}
	return roles
}

// checkQuotas: what a role used before plus what it got stays within its
// quota, dimension by dimension.
func checkQuotas(reqs []Request, res []Result, roles map[string]Role) error {
	held := map[string]vec{}
	for k, r := range res {
		h := held[reqs[k].Role]
		for d, x := range vecOf(reqs[k].Resources) {
			h[d] += x * float64(len(r.Placements))
		}
		held[reqs[k].Role] = h
	}
	for name, role := range roles {
		q, u := vecOf(role.Quota), vecOf(role.Used)
		for d := range numDims {
			if q[d] > 0 && held[name][d] > 0 && u[d]+held[name][d] > q[d]+1e-6 {
				return fmt.Errorf("role %s holds %v + %v %s, quota %v", name, u[d], held[name][d], dimName(d), q[d])
			}
		}
	}
	return nil
}

func checkInvariants(offers []Offer, reqs []Request, res []Result) error {
	byID := map[string]*Offer{}
	for i := range offers {
		byID[offers[i].ID] = &offers[i]
	}
	used := map[string]*vec{}
	ports := map[string]map[int]bool{}
	for k, r := range res {
		req := reqs[k]
		if len(r.Placements)+r.Unplaced != max(0, req.Instances) {
			return fmt.Errorf("%s: placed %d + unplaced %d != %d", req.AppID, len(r.Placements), r.Unplaced, req.Instances)
		}
		if err := checkExplanation(r, len(offers)); err != nil {
			return fmt.Errorf("%s: %v", req.AppID, err)
		}
		for _, t := range req.Existing {
			for _, p := range t.HostPorts {
				if ports[t.Agent.ID] == nil {
					ports[t.Agent.ID] = map[int]bool{}
				}
				ports[t.Agent.ID][p] = true
			}
		}
		for j, p := range r.Placements {
			o := byID[p.AgentID]
			if p.Instance != j || o == nil {
				return fmt.Errorf("%s: bad placement %+v", req.AppID, p)
			}
			if used[o.ID] == nil {
				used[o.ID] = &vec{}
			}
			u := used[o.ID]
			for d, x := range vecOf(req.Resources) {
				u[d] += x
				if u[d] > vecOf(o.Resources)[d]+1e-6 {
					return fmt.Errorf("%s: %s over-committed on %s", req.AppID, dimName(d), o.ID)
				}
			}
			if err := checkPorts(req, p, o, ports); err != nil {
				return err
			}
		}
		if err := checkConstraints(req, r, byID); err != nil {
			return fmt.Errorf("%s: %v", req.AppID, err)
		}
	}
	return nil
}

func checkExplanation(r Result, agents int) error {
	e := r.Explanation
	if r.Unplaced == 0 || e.Blocked != "" || agents == 0 {
		return nil
	}
	sum := 0
	for _, reason := range e.Reasons {
		sum += reason.Agents
		if reason.Text == "eligible but not chosen" {
			return fmt.Errorf("unplaced although an agent was eligible: %s", e)
		}
	}
	if sum != agents || !strings.HasPrefix(e.String(), "unplaced "+strconv.Itoa(r.Unplaced)+" of ") {
		return fmt.Errorf("explanation counts %d of %d agents: %s", sum, agents, e)
	}
	return nil
}

func checkPorts(req Request, p Placement, o *Offer, ports map[string]map[int]bool) error {
	if len(p.HostPorts) != len(req.HostPorts) {
		return fmt.Errorf("%s: got ports %v for %v", req.AppID, p.HostPorts, req.HostPorts)
	}
	if ports[o.ID] == nil {
		ports[o.ID] = map[int]bool{}
	}
	for j, hp := range p.HostPorts {
		if ports[o.ID][hp] || !inRanges(o.Resources.Ports, hp) || req.HostPorts[j] > 0 && hp != req.HostPorts[j] {
			return fmt.Errorf("%s: host port %d on %s reused, not offered or not the fixed one", req.AppID, hp, o.ID)
		}
		ports[o.ID][hp] = true
	}
	return nil
}

// checkConstraints re-checks every constraint independently of the
// implementation, on the existing tasks plus the new placements.
func checkConstraints(req Request, r Result, byID map[string]*Offer) error {
	for _, c := range req.Constraints {
		value := func(a *Agent) (string, bool) { return fieldValue(a, canonicalField(c.Field)) }
		var existing []string
		for _, t := range req.Existing {
			a := &t.Agent
			if o := byID[a.ID]; o != nil {
				a = &o.Agent
			}
			if v, ok := value(a); ok {
				existing = append(existing, v)
			}
		}
		counts := map[string]int{}
		for _, v := range existing {
			counts[v]++
		}
		placed := map[string]int{}
		for _, p := range r.Placements {
			v, ok := value(&byID[p.AgentID].Agent)
			if !ok && c.Op != Unlike {
				return fmt.Errorf("%s: placed on %s without the field", c, p.AgentID)
			}
			if err := checkStatic(c, v, ok); err != nil {
				return fmt.Errorf("%s on %s: %v", c, p.AgentID, err)
			}
			counts[v]++
			placed[v]++
		}
		if err := checkSetAware(c, existing, counts, placed); err != nil {
			return fmt.Errorf("%s: %v (existing %v, counts %v)", c, err, existing, counts)
		}
	}
	return nil
}

func checkStatic(c Constraint, v string, ok bool) error {
	switch c.Op {
	case Like, Unlike:
		m := ok && regexp.MustCompile("^(?:"+c.Value+")$").MatchString(v)
		if m != (c.Op == Like) {
			return fmt.Errorf("value %q", v)
		}
	case Is:
		want, _ := strconv.ParseFloat(c.Value, 64)
		got, err := strconv.ParseFloat(v, 64)
		if v != c.Value && (err != nil || FormatScalar(got) != FormatScalar(want)) {
			return fmt.Errorf("value %q", v)
		}
	case Cluster:
		if c.Value != "" && v != c.Value {
			return fmt.Errorf("value %q", v)
		}
	}
	return nil
}

func checkSetAware(c Constraint, existing []string, counts, placed map[string]int) error {
	switch c.Op {
	case Unique:
		for v, n := range placed {
			if counts[v] > 1 {
				return fmt.Errorf("value %q used %d times (%d new)", v, counts[v], n)
			}
		}
	case MaxPer:
		for v := range placed {
			if counts[v] > c.Count {
				return fmt.Errorf("value %q used %d times", v, counts[v])
			}
		}
	case Cluster:
		if c.Value == "" && len(placed) > 0 && (len(placed) > 1 || len(existing) > 0 && placed[existing[0]] == 0) {
			return fmt.Errorf("not clustered: %v", placed)
		}
	case GroupBy:
		if len(existing) > 0 || len(placed) == 0 {
			return nil
		}
		lo, hi := 1<<30, 0
		for _, n := range counts {
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi-lo > 1 {
			return fmt.Errorf("spread %d..%d", lo, hi)
		}
	}
	return nil
}
