package placement

import (
	"fmt"
	"strings"
	"testing"
)

// TestDRFTwoRoles is the classic Dominant Resource Fairness example
// (Ghodsi et al., NSDI 2011): 9 cpus and 18 GiB; role "jobs" runs
// cpu-light, mem-heavy tasks <1 cpu, 4 GiB>, role "apps" cpu-heavy ones
// <3 cpus, 1 GiB>. DRF equalises dominant shares: jobs gets 3 tasks
// (mem share 12/18), apps 2 (cpu share 6/9).
func TestDRFTwoRoles(t *testing.T) {
	offers := []Offer{{Agent: Agent{ID: "n1", Hostname: "n1"}, Resources: Resources{CPUs: 9, Mem: 18432}}}
	reqs := []Request{
		{AppID: "/apps/web", Role: "apps", Resources: Resources{CPUs: 3, Mem: 1024}, Instances: 10},
		{AppID: "/jobs/etl", Role: "jobs", Resources: Resources{CPUs: 1, Mem: 4096}, Instances: 10},
	}
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		in := []Request{reqs[order[0]], reqs[order[1]]}
		res := PlaceAll(offers, in, Options{Seed: 1})
		got := map[string]int{}
		for _, r := range res {
			got[r.AppID] = len(r.Placements)
		}
		if got["/apps/web"] != 2 || got["/jobs/etl"] != 3 {
			t.Errorf("order %v: got %v, want apps 2 and jobs 3", order, got)
		}
	}
}

// TestDRFInterleaves checks that a role with a big request does not starve
// a role that comes later in the request list.
func TestDRFInterleaves(t *testing.T) {
	offers := []Offer{{Agent: Agent{ID: "n1", Hostname: "n1"}, Resources: Resources{CPUs: 10, Mem: 10240}}}
	reqs := []Request{
		{AppID: "/greedy", Role: "a", Resources: Resources{CPUs: 1, Mem: 1024}, Instances: 10},
		{AppID: "/late", Role: "b", Resources: Resources{CPUs: 1, Mem: 1024}, Instances: 10},
	}
	res := PlaceAll(offers, reqs, Options{})
	if len(res[0].Placements) != 5 || len(res[1].Placements) != 5 {
		t.Errorf("got %d and %d, want 5 and 5", len(res[0].Placements), len(res[1].Placements))
	}
	// Within one role, requests go in order.
	reqs[1].Role = "a"
	res = PlaceAll(offers, reqs, Options{})
	if len(res[0].Placements) != 10 || len(res[1].Placements) != 0 {
		t.Errorf("same role: got %d and %d, want 10 and 0", len(res[0].Placements), len(res[1].Placements))
	}
}

func TestQuotaBlocks(t *testing.T) {
	offers := []Offer{{Agent: Agent{ID: "n1", Hostname: "n1"}, Resources: Resources{CPUs: 10, Mem: 10240}}}
	req := Request{AppID: "/a", Role: "jobs", Resources: Resources{CPUs: 1, Mem: 1024}, Instances: 5}
	res := Place(offers, req, Options{Roles: map[string]Role{"jobs": {Quota: Resources{Mem: 3072}}}})
	want := "unplaced 2 of 5: role jobs quota of mem 3072 reached"
	if len(res.Placements) != 3 || res.Explanation.String() != want {
		t.Errorf("got %d placed, %q; want 3, %q", len(res.Placements), res.Explanation, want)
	}
}

func TestExplanationString(t *testing.T) {
	e := Explanation{Requested: 5, Placed: 3, Agents: 1002, Reasons: []Reason{
		{"hostname UNIQUE already used", 3}, {"insufficient mem", 40},
		{"rack LIKE r[1-2] not matched", 957}, {"port 8080 not free", 2},
	}}
	want := "unplaced 2 of 5: hostname UNIQUE already used on 3 agents; insufficient mem on 40 agents; " +
		"rack LIKE r[1-2] not matched on 957 agents; port 8080 not free on 2 agents"
	if got := e.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := (Explanation{Requested: 2, Placed: 2}).String(); got != "placed 2 of 2" {
		t.Errorf("got %q", got)
	}
}

// TestExplainAtScale builds the example on 1,002 agents.
func TestExplainAtScale(t *testing.T) {
	var offers []Offer
	for i := range 1002 {
		o := Offer{
			Agent: Agent{ID: fmt.Sprintf("a%04d", i), Hostname: fmt.Sprintf("h%04d", i),
				Attributes: map[string]Value{"rack": Text(fmt.Sprintf("r%d", 3+i%5))}},
			Resources: Resources{CPUs: 8, Mem: 8192, Ports: []PortRange{{8080, 8080}, {31000, 32000}}},
		}
		switch {
		case i < 45:
			o.Attributes["rack"] = Text(fmt.Sprintf("r%d", 1+i%2))
			if i >= 5 {
				o.Resources.Mem = 100
			}
			if i >= 3 && i < 5 {
				o.Resources.Ports = DefaultPorts()
			}
		}
		offers = append(offers, o)
	}
	cs, _ := ParseConstraints([][]string{{"hostname", "UNIQUE"}, {"rack", "LIKE", "r[1-2]"}})
	res := Place(offers, Request{AppID: "/web", Resources: Resources{CPUs: 1, Mem: 512}, Instances: 5,
		Constraints: cs, HostPorts: []int{8080}}, Options{})
	want := "unplaced 2 of 5: hostname UNIQUE already used on 3 agents; rack LIKE r[1-2] not matched on 957 agents; " +
		"insufficient mem on 40 agents; port 8080 not free on 2 agents"
	if got := res.Explanation.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if !strings.HasPrefix(res.Placements[0].AgentID, "a000") {
		t.Errorf("placed on %s", res.Placements[0].AgentID)
	}
}
