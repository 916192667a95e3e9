package placement

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchOffers builds n agents: 8 cpus, 32 GiB, ports 31000-32000, 50
// racks, 3 zones.
func benchOffers(n int) []Offer {
	offers := make([]Offer, n)
	for i := range offers {
		offers[i] = Offer{
			Agent: Agent{
				ID:       fmt.Sprintf("agent-%05d", i),
				Hostname: fmt.Sprintf("node-%05d.dc1", i),
				Attributes: map[string]Value{
					"rack": Text(fmt.Sprintf("r%d", i%50)),
					"zone": Text(fmt.Sprintf("z%d", i%3)),
				},
			},
			Resources: Resources{CPUs: 8, Mem: 32768, Disk: 100000, Ports: DefaultPorts()},
		}
	}
	return offers
}

// benchRequests builds apps×perApp instances: 1/3 no constraint, 1/3
// hostname UNIQUE, 1/6 rack GROUP_BY, 1/6 zone LIKE; two roles.
func benchRequests(apps, perApp int) []Request {
	mix := [6][][]string{
		nil, nil,
		{{"hostname", "UNIQUE"}}, {{"hostname", "UNIQUE"}},
		{{"rack", "GROUP_BY"}},
		{{"zone", "LIKE", "z[0-1]"}},
	}
	reqs := make([]Request, apps)
	for k := range reqs {
		cs, err := ParseConstraints(mix[k%6])
		if err != nil {
			panic(err)
		}
		reqs[k] = Request{
			AppID:       fmt.Sprintf("/team%d/app%d", k%7, k),
			Role:        []string{"apps", "jobs"}[k%2],
			Resources:   Resources{CPUs: 0.1 * float64(1+k%5), Mem: 128 * float64(1+k%8), Disk: 256},
			Instances:   perApp,
			Constraints: cs,
			HostPorts:   []int{0},
		}
		if k%10 == 9 {
			reqs[k].Strategy = BinPack
		}
	}
	return reqs
}

// BenchmarkPlace places 100,000 instances of 1,000 apps (two roles, fair
// share) on 10,000 agents per iteration, index building included.
func BenchmarkPlace(b *testing.B) {
	offers := benchOffers(10000)
	reqs := benchRequests(1000, 100)
	var placed int
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		res := PlaceAll(offers, reqs, Options{Seed: uint64(i)})
		n := 0
		for _, r := range res {
			n += len(r.Placements)
		}
		if n != 100000 {
			b.Fatalf("placed %d of 100000", n)
		}
		placed += n
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms1)
	if placed == 0 {
		b.Fatal("nothing placed")
	}
	b.ReportMetric(float64(placed)/elapsed.Seconds(), "placements/s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(placed), "B/placement")
}

// BenchmarkExplain is a request that fits nowhere on 10,000 agents: one
// Place call including the cluster index and the explanation.
func BenchmarkExplain(b *testing.B) {
	offers := benchOffers(10000)
	cs, err := ParseConstraints([][]string{{"hostname", "UNIQUE"}, {"rack", "LIKE", "r[1-2]"}})
	if err != nil {
		b.Fatal(err)
	}
	req := Request{AppID: "/big", Resources: Resources{CPUs: 6, Mem: 40000}, Instances: 5,
		Constraints: cs, HostPorts: []int{8080}}
	for b.Loop() {
		r := Place(offers, req, Options{})
		if r.Unplaced != 5 || len(r.Explanation.String()) == 0 {
			b.Fatal(r.Explanation.String())
		}
	}
}

// BenchmarkServicePorts allocates 10,000 servicePorts (one per app, the
// pool's next free port) and releases them all again.
func BenchmarkServicePorts(b *testing.B) {
	apps := make([]string, 10000)
	for k := range apps {
		apps[k] = fmt.Sprintf("/app%d", k)
	}
	req := []int{0}
	for b.Loop() {
		sp, err := NewServicePorts(0, 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, app := range apps {
			if _, err := sp.Allocate(app, req); err != nil {
				b.Fatal(err)
			}
		}
		for _, app := range apps {
			sp.Release(app)
		}
	}
}
