package jobs

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

const seedQueues = `
queues:
  - name: biz1
    capacity: 20
    queues:
      - {name: q11, capacity: 40}
      - {name: q12, capacity: 60}
  - name: biz2
    capacity: 80
    queues:
      - {name: q21, capacity: 100}
  `

func TestParseQueues(t *testing.T) {
	tr, err := ParseQueues([]byte(seedQueues))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"q11": 0.08, "q12": 0.12, "q21": 0.8} {
		if g := tr.Leaves[name].Guarantee; math.Abs(g-want) > 1e-9 {
			t.Errorf("%s guarantee %v, want %v", name, g, want)
		}
	}
	if _, err := tr.Resolve(""); err == nil || !strings.Contains(err.Error(), "queue: unknown queue \"default\"") {
		t.Errorf("Resolve default on a tree without it: %v", err)
	}
	js := `{"queues":[{"name":"default","capacity":50},{"name":"etl","capacity":50,"maxCapacity":80,"policy":"priority"}]}`
	if tr, err := ParseQueues([]byte(js)); err != nil || tr.Leaves["etl"].Max != 0.8 {
		t.Errorf("JSON queues: %v", err)
	}
}

func TestParseQueuesErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"queues":[{"name":"a","capacity":30},{"name":"b","capacity":60}]}`, "root.queues: capacities sum to 90, want 100"},
		{`{"queues":[{"name":"a","capacity":100,"maxCapacity":50}]}`, "a.maxCapacity"},
		{`{"queues":[{"name":"a","capacity":-5},{"name":"b","capacity":105}]}`, "a.capacity"},
		{`{"queues":[{"name":"a","capacity":50},{"name":"a","capacity":50}]}`, `"a" used twice`},
		{`{"queues":[{"name":"a","capacity":100,"policy":"lifo"}]}`, "a.policy"},
		{`{"queues":[{"name":"a","capacity":100,"weight":3}]}`, "field weight not found"},
	} {
		_, err := ParseQueues([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseQueues(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestAllocateTable(t *testing.T) {
	tr, _ := ParseQueues([]byte(seedQueues))
	pend := func(q string, n int, d float64) []Pending {
		var ps []Pending
		for i := 0; i < n; i++ {
			ps = append(ps, Pending{ID: fmt.Sprintf("%s-%d", q, i), Queue: q, Demand: d, Seq: int64(i)})
		}
		return ps
	}
	// Saturated: 20/80 split, inside biz1 40/60.
	a := Allocate(tr, nil, append(append(pend("q11", 100, 0.01), pend("q12", 100, 0.01)...), pend("q21", 100, 0.01)...), 1)
	for q, want := range map[string]float64{"biz1": 0.2, "biz2": 0.8, "q11": 0.08, "q12": 0.12} {
		if math.Abs(a.Used[q]-want) > 0.011 {
			t.Errorf("saturated: %s used %.3f, want %.2f", q, a.Used[q], want)
		}
	}
	// biz2 idle: biz1 gets everything (elastic).
	a = Allocate(tr, nil, append(pend("q11", 100, 0.01), pend("q12", 100, 0.01)...), 1)
	if a.Used["biz1"] < 0.99 {
		t.Errorf("lending: biz1 used %.3f with biz2 idle", a.Used["biz1"])
	}
	// biz1 borrowed everything; biz2 arrives: nothing free, no preemption → waits.
	var running []Running
	for i, p := range a.Launch {
		running = append(running, Running{ID: p.ID, Queue: p.Queue, Demand: p.Demand, Seq: int64(i)})
	}
	if b := Allocate(tr, running, pend("q21", 10, 0.01), 0); len(b.Launch) != 0 || len(b.Preempt) != 0 {
		t.Errorf("no preemption allowed, yet %d launched %d preempted", len(b.Launch), len(b.Preempt))
	}
	// With preemption on biz1's leaves, the youngest surplus runs are preempted to give back 0.8 … but only 10 are wanted.
	tp, _ := ParseQueues([]byte(strings.ReplaceAll(seedQueues, "capacity: 40}", "capacity: 40, preemption: true}")))
	tp.Leaves["q12"].Preemption = true
	b := Allocate(tp, running, pend("q21", 10, 0.01), 0)
	if len(b.Preempt) != 10 {
		t.Errorf("preempted %d, want 10 (the pending demand)", len(b.Preempt))
	}
	// Priority policy.
	tq, _ := ParseQueues([]byte(`{"queues":[{"name":"default","capacity":100,"policy":"priority"}]}`))
	ps := []Pending{{ID: "a", Queue: "default", Demand: .5, Seq: 1}, {ID: "b", Queue: "default", Demand: .5, Seq: 2, Priority: true}, {ID: "c", Queue: "default", Demand: .5, Seq: 3}}
	if a := Allocate(tq, nil, ps, 1); len(a.Launch) != 2 || a.Launch[0].ID != "b" || a.Launch[1].ID != "a" {
		t.Errorf("priority order: %+v", a.Launch)
	}
}

// randomTree builds a random two-level tree with sibling capacities summing
// to 100.
func randomTree(r interface{ Intn(int) int }) *Tree {
	split := func(n int) []float64 {
		w := make([]float64, n)
		s := 0.0
		for i := range w {
			w[i] = float64(1 + r.Intn(9))
			s += w[i]
		}
		out := make([]float64, n)
		acc := 0.0
		for i := range w {
			out[i] = math.Round(w[i]/s*1000) / 10
			acc += out[i]
		}
		out[n-1] += 100 - acc
		return out
	}
	root := QueueConfig{Name: "root"}
	nb := 1 + r.Intn(3)
	for i, c := range split(nb) {
		b := QueueConfig{Name: fmt.Sprintf("b%d", i), Capacity: c}
		nl := 1 + r.Intn(3)
		for j, lc := range split(nl) {
			b.Queues = append(b.Queues, QueueConfig{Name: fmt.Sprintf("l%d%d", i, j), Capacity: lc})
		}
		root.Queues = append(root.Queues, b)
	}
	t, err := NewTree(root)
	if err != nil {
		panic(err)
	}
	return t
}

// TestGuaranteeProperty: from an idle cluster, every leaf that still has
// pending runs after Allocate got at least its guarantee, less the run
// granularity: every other leaf may overshoot its own guarantee by less than
// one run (runs are whole), and the leaf itself may stop short of a whole run: guarantee − d·leaves.
func TestGuaranteeProperty(t *testing.T) {
	r := newRand(11)
	for round := 0; round < 500; round++ {
		tr := randomTree(r)
		var ps []Pending
		maxD := float64(1+r.Intn(4)) / 100
		for i := 0; i < 300; i++ {
			leaves := tr.LeafNames()
			d := maxD
			ps = append(ps, Pending{ID: fmt.Sprint(i), Queue: leaves[r.Intn(len(leaves))], Demand: d, Seq: int64(i)})
		}
		a := Allocate(tr, nil, ps, 1)
		left := map[string]int{}
		for _, p := range ps {
			left[p.Queue]++
		}
		for _, p := range a.Launch {
			left[p.Queue]--
		}
		for name, q := range tr.Leaves {
			slack := maxD * float64(len(tr.Leaves))
			if left[name] > 0 && a.Used[name] < q.Guarantee-slack-1e-9 {
				t.Fatalf("round %d: %s has %d pending and used %.3f < guarantee %.3f − %.2f", round, name, left[name], a.Used[name], q.Guarantee, slack)
			}
		}
	}
}

// TestConvergenceProperty: short runs of random length keep every leaf
// saturated; the time-averaged used share of each leaf converges to its
// guarantee within ±5 points.
func TestConvergenceProperty(t *testing.T) {
	r := newRand(13)
	for round := 0; round < 20; round++ {
		tr := randomTree(r)
		type live struct {
			Running
			end int
		}
		var running []live
		seq := int64(0)
		sum := map[string]float64{}
		const steps = 2000
		for step := 0; step < steps; step++ {
			kept := running[:0]
			for _, l := range running {
				if l.end > step {
					kept = append(kept, l)
				}
			}
			running = kept
			var rs []Running
			free := 1.0
			for _, l := range running {
				rs = append(rs, l.Running)
				free -= l.Demand
			}
			var ps []Pending
			for _, name := range tr.LeafNames() { // always more pending than fits
				for k := 0; k < 20; k++ {
					seq++
					ps = append(ps, Pending{ID: fmt.Sprint(seq), Queue: name, Demand: 0.01, Seq: seq})
				}
			}
			a := Allocate(tr, rs, ps, free)
			for _, p := range a.Launch {
				running = append(running, live{Running{p.ID, p.Queue, p.Demand, p.Seq}, step + 1 + r.Intn(10)})
			}
			for name := range tr.Leaves {
				sum[name] += a.Used[name]
			}
		}
		for name, q := range tr.Leaves {
			if got := sum[name] / steps; math.Abs(got-q.Guarantee) > 0.05 {
				t.Errorf("round %d: %s averaged %.3f, guarantee %.3f", round, name, got, q.Guarantee)
			}
		}
	}
}

func BenchmarkAllocate(b *testing.B) {
	tr, _ := ParseQueues([]byte(seedQueues))
	var ps []Pending
	for i := 0; i < 1000; i++ {
		ps = append(ps, Pending{ID: fmt.Sprint(i), Queue: []string{"q11", "q12", "q21"}[i%3], Demand: 0.002, Seq: int64(i)})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Allocate(tr, nil, ps, 1)
	}
}
