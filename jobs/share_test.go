package jobs

import (
	"math"
	"strings"
	"testing"
)

func TestShareTurn(t *testing.T) {
	total := Usage{CPUs: 10, Mem: 1000, Disk: 100}
	for _, c := range []struct {
		name       string
		apps, jobs Consumer
		w          ShareWeights
		hold       string
		why        []string
	}{
		{name: "nobody waits", apps: Consumer{Used: Usage{CPUs: 9}}, jobs: Consumer{Used: Usage{CPUs: 1}}},
		{name: "apps wait alone: they take what is free, even above jobs",
			apps: Consumer{Used: Usage{CPUs: 8}, Waiting: true}, jobs: Consumer{Used: Usage{CPUs: 1}}},
		{name: "jobs wait alone", apps: Consumer{Used: Usage{CPUs: 1}}, jobs: Consumer{Used: Usage{CPUs: 8}, Waiting: true}},
		{name: "both wait, jobs above: jobs held",
			apps: Consumer{Used: Usage{CPUs: 3}, Waiting: true}, jobs: Consumer{Used: Usage{CPUs: 6}, Waiting: true},
			hold: ConsumerJobs, why: []string{"jobs hold a dominant share of 60.0% (cpus) against apps' 30.0% (cpus)", "weights 1:1", "apps waiting"}},
		{name: "both wait, apps above on mem: apps held",
			apps: Consumer{Used: Usage{CPUs: 1, Mem: 700}, Waiting: true}, jobs: Consumer{Used: Usage{CPUs: 5, Mem: 100}, Waiting: true},
			hold: ConsumerApps, why: []string{"apps hold a dominant share of 70.0% (mem) against jobs' 50.0% (cpus)"}},
		{name: "disk can be the dominant resource",
			apps: Consumer{Used: Usage{CPUs: 1, Disk: 90}, Waiting: true}, jobs: Consumer{Used: Usage{CPUs: 5}, Waiting: true},
			hold: ConsumerApps, why: []string{"90.0% (disk)"}},
		{name: "weights 2:1: apps at 60% weigh 30%, below jobs' 35%",
			apps: Consumer{Used: Usage{CPUs: 6}, Waiting: true}, jobs: Consumer{Used: Usage{CPUs: 3.5}, Waiting: true},
			w: ShareWeights{Apps: 2, Jobs: 1}, hold: ConsumerJobs, why: []string{"jobs hold a dominant share of 35.0% (cpus) against apps' 60.0% (cpus) (weights 1:2)"}},
		{name: "equal weighted shares hold neither",
			apps: Consumer{Used: Usage{CPUs: 4}, Waiting: true}, jobs: Consumer{Used: Usage{Mem: 400}, Waiting: true}},
		{name: "from nothing, both waiting: neither held",
			apps: Consumer{Waiting: true}, jobs: Consumer{Waiting: true}},
		{name: "nothing held by jobs: apps held", apps: Consumer{Used: Usage{CPUs: 1}, Waiting: true}, jobs: Consumer{Waiting: true},
			hold: ConsumerApps, why: []string{"against jobs' 0.0% (weights"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ShareTurn(c.apps, c.jobs, total, 0, c.w)
			if got.Hold != c.hold {
				t.Fatalf("hold %q, want %q (%+v)", got.Hold, c.hold, got)
			}
			if (got.Why == "") != (c.hold == "") {
				t.Fatalf("why %q with hold %q", got.Why, got.Hold)
			}
			for _, w := range c.why {
				if !strings.Contains(got.Why, w) {
					t.Errorf("why %q lacks %q", got.Why, w)
				}
			}
		})
	}
	if got := ShareTurn(Consumer{Used: Usage{CPUs: 1}, Waiting: true}, Consumer{Waiting: true}, Usage{}, 0, ShareWeights{}); got.Hold != "" {
		t.Errorf("an empty cluster holds %q", got.Hold)
	}
}

// TestShareTurnConverges: on random clusters saturated by both consumers
// (tasks of random size, random lengths, random weights), placing as
// ShareTurn says brings the time-averaged weighted dominant shares within
// one task's weighted share (+2 points) of each other, and keeps the
// cluster busy.
// TestShareRooms: free resources go first to the lower side up to the
// other's weighted share, the rest is split by the weights; a side alone
// is not limited; Fit counts the tasks a room takes (at least one).
func TestShareRooms(t *testing.T) {
	total := Usage{CPUs: 10, Mem: 1000}
	apps, jobs := Consumer{Used: Usage{CPUs: 3}, Waiting: true}, Consumer{Used: Usage{CPUs: 6}, Waiting: true}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	for _, c := range []struct {
		free, apps, jobs float64
		w                ShareWeights
		hold             string
	}{
		{free: 0.3, apps: 0.3, jobs: 0, hold: ConsumerJobs},
		{free: 0.1, apps: 0.1, jobs: 0, hold: ConsumerJobs},
		{free: 0.5, apps: 0.4, jobs: 0.1},
		{free: 0.5, apps: 0.5, jobs: 0, w: ShareWeights{Apps: 2, Jobs: 1}, hold: ConsumerJobs}, // apps weigh 0.15 against 0.6
		{free: 0.5, apps: 0.5 / 3, jobs: 0.5 * 2 / 3, w: ShareWeights{Apps: 1, Jobs: 2}},       // both weigh 0.3: split 1:2
	} {
		got := ShareTurn(apps, jobs, total, c.free, c.w)
		if !near(got.AppsRoom, c.apps) || !near(got.JobsRoom, c.jobs) || got.Hold != c.hold {
			t.Errorf("free %v weights %v: rooms apps %v jobs %v hold %q, want %v %v %q", c.free, c.w, got.AppsRoom, got.JobsRoom, got.Hold, c.apps, c.jobs, c.hold)
		}
	}
	if got := ShareTurn(apps, Consumer{Used: Usage{CPUs: 6}}, total, 0.1, ShareWeights{}); !math.IsInf(got.AppsRoom, 1) || got.Hold != "" {
		t.Errorf("apps alone: %+v", got)
	}
	if got := FreeShare(Usage{CPUs: 5, Mem: 100}, total); !near(got, 0.1) {
		t.Errorf("FreeShare %v, want 0.1 (mem)", got)
	}
	for _, c := range []struct {
		room, each float64
		n, want    int
	}{{0, 0.1, 5, 0}, {0.25, 0.1, 5, 2}, {0.2, 0.1, 5, 2}, {1e-9, 0.5, 5, 1}, {math.Inf(1), 0.1, 5, 5}, {0.5, 0, 5, 5}, {0.9, 0.1, 5, 5}} {
		if got := Fit(c.room, c.each, c.n); got != c.want {
			t.Errorf("Fit(%v, %v, %d) = %d, want %d", c.room, c.each, c.n, got, c.want)
		}
	}
}

func TestShareTurnConverges(t *testing.T) {
	rnd := newRand(7)
	for trial := range 200 {
		total := Usage{CPUs: float64(8 + rnd.Intn(25)), Mem: float64(16 + rnd.Intn(49)), Disk: 100}
		w := ShareWeights{Apps: float64(1 + rnd.Intn(3)), Jobs: float64(1 + rnd.Intn(3))}
		size := [2]Usage{
			{CPUs: total.CPUs * (0.01 + 0.04*rnd.Float64()), Mem: total.Mem * (0.01 + 0.04*rnd.Float64())},
			{CPUs: total.CPUs * (0.01 + 0.04*rnd.Float64()), Mem: total.Mem * (0.01 + 0.04*rnd.Float64())},
		}
		type task struct {
			who, end int
		}
		var running []task
		var used [2]Usage
		var sum [2]float64
		steps, warm := 400, 100
		for k := range steps {
			kept := running[:0]
			for _, tk := range running {
				if tk.end > k {
					kept = append(kept, tk)
					continue
				}
				used[tk.who] = sub(used[tk.who], size[tk.who])
			}
			running = kept
			for {
				free := FreeShare(sub(total, add(used[0], used[1])), total)
				turn := ShareTurn(Consumer{Used: used[0], Waiting: true}, Consumer{Used: used[1], Waiting: true}, total, free, w)
				order := []int{0, 1}
				switch {
				case turn.Hold == ConsumerApps:
					order = []int{1}
				case turn.Hold == ConsumerJobs:
					order = []int{0}
				case rnd.Intn(2) == 1:
					order = []int{1, 0}
				}
				placed := false
				for _, who := range order {
					if fits(add(add(used[0], used[1]), size[who]), total) {
						used[who] = add(used[who], size[who])
						running = append(running, task{who: who, end: k + 1 + rnd.Intn(10)})
						placed = true
						break
					}
				}
				if !placed {
					break
				}
			}
			if k >= warm {
				turn := ShareTurn(Consumer{Used: used[0]}, Consumer{Used: used[1]}, total, 0, w)
				sum[0] += turn.AppsShare
				sum[1] += turn.JobsShare
			}
		}
		n := float64(steps - warm)
		a, j := sum[0]/n, sum[1]/n
		da, _ := DominantShare(size[0], total)
		dj, _ := DominantShare(size[1], total)
		tol := max(da/weightOr1(w.Apps), dj/weightOr1(w.Jobs)) + 0.02
		if math.Abs(a-j) > tol {
			t.Fatalf("trial %d: weighted shares apps %.3f jobs %.3f differ by more than %.3f (weights %v, sizes %v, total %v)",
				trial, a, j, tol, w, size, total)
		}
		if busy := a*weightOr1(w.Apps) + j*weightOr1(w.Jobs); busy < 0.8 {
			t.Fatalf("trial %d: dominant shares sum to %.2f: the cluster is not saturated", trial, busy)
		}
	}
}

func add(a, b Usage) Usage {
	return Usage{CPUs: a.CPUs + b.CPUs, Mem: a.Mem + b.Mem, Disk: a.Disk + b.Disk}
}
func sub(a, b Usage) Usage {
	return Usage{CPUs: a.CPUs - b.CPUs, Mem: a.Mem - b.Mem, Disk: a.Disk - b.Disk}
}
func fits(u, total Usage) bool {
	const eps = 1e-9
	return u.CPUs <= total.CPUs+eps && u.Mem <= total.Mem+eps && u.Disk <= total.Disk+eps
}

func TestClusterShareInQueueFile(t *testing.T) {
	tree, err := ParseQueues([]byte("clusterShare: {apps: 2, jobs: 1}\nqueues: [{name: a, capacity: 100}]\n"))
	if err != nil || tree.Weights != (ShareWeights{Apps: 2, Jobs: 1}) {
		t.Fatalf("weights %+v, err %v", tree, err)
	}
	if DefaultQueues().Weights != (ShareWeights{}) {
		t.Error("the default tree has weights")
	}
	for in, want := range map[string]string{
		"clusterShare: {apps: -1}\nqueues: [{name: a, capacity: 100}]\n":         "clusterShare: apps -1",
		"queues: [{name: a, capacity: 100, clusterShare: {apps: 1}}]\n":          "a.clusterShare: only the root",
		"clusterShare: {apps: 1, cpus: 2}\nqueues: [{name: a, capacity: 100}]\n": "cpus",
	} {
		if _, err := ParseQueues([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", in, err, want)
		}
	}
}
