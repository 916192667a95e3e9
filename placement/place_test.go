package placement

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestMixAtScale runs the benchmark's mix on 1,000 agents (with 400
// instances of existing load) and checks every invariant.
func TestMixAtScale(t *testing.T) {
	offers := benchOffers(1000)
	reqs := benchRequests(120, 80)
	reqs[5].Existing = []Task{{ID: "x", Agent: Agent{ID: "agent-00007"}, HostPorts: []int{31999}}}
	res := PlaceAll(offers, reqs, Options{Seed: 9})
	if err := checkInvariants(offers, reqs, res); err != nil {
		t.Fatal(err)
	}
	placed := 0
	for _, r := range res {
		placed += len(r.Placements)
	}
	if placed != 120*80 {
		t.Errorf("placed %d of %d", placed, 120*80)
	}
}

func TestDeterminism(t *testing.T) {
	offers := benchOffers(50)
	reqs := benchRequests(12, 7)
	a := PlaceAll(offers, reqs, Options{Seed: 3})
	b := PlaceAll(offers, reqs, Options{Rand: rand.NewPCG(3, 3^0x9e3779b97f4a7c15)})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Seed and the equivalent Rand differ")
	}
	differs := false
	for seed := uint64(4); seed < 10 && !differs; seed++ {
		differs = !reflect.DeepEqual(a, PlaceAll(offers, reqs, Options{Seed: seed}))
	}
	if !differs {
		t.Error("the seed never changes tie-breaks")
	}
}

func TestHandsOffInputs(t *testing.T) {
	offers := benchOffers(20)
	reqs := benchRequests(6, 5)
	before := PlaceAll(offers, reqs, Options{})
	// A second run on the same slices sees the same free resources: Place
	// never writes to its inputs.
	if after := PlaceAll(offers, reqs, Options{}); !reflect.DeepEqual(before, after) {
		t.Fatal("inputs were modified")
	}
}

func TestNothingToPlace(t *testing.T) {
	res := Place(benchOffers(3), Request{AppID: "/a", Instances: -1}, Options{})
	if len(res.Placements) != 0 || res.Unplaced != 0 || res.Explanation.String() != "placed 0 of 0" {
		t.Errorf("got %+v", res)
	}
	res = Place(benchOffers(3), Request{AppID: "/a", Instances: 2, HostPorts: []int{8080, 8080}}, Options{})
	if got := res.Explanation.String(); got != "unplaced 2 of 2: host port 8080 requested twice" {
		t.Errorf("got %q", got)
	}
}
