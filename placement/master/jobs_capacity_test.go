package master

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs"
)

// capacitySim drives the job service over the real master, placement core
// and agent protocol, on a fake clock: every step the service ticks, the
// fake agents start what they are given and finish runs whose random
// length (1–3 steps) has passed, and each queue's running runs are counted.
type capacitySim struct {
	h      *harness
	agents []*fakeAgent
	rnd    *rand.Rand
	ends   map[string]int // task id → step it finishes
	queue  map[string]string
}

func newCapacitySim(t *testing.T, tree *jobs.Tree) *capacitySim {
	h := newHarness(t, func(c *Config) { c.JobQueues = tree })
	s := &capacitySim{h: h, rnd: rand.New(rand.NewPCG(1, 2)), ends: map[string]int{}, queue: map[string]string{}}
	s.agents = []*fakeAgent{h.agent("n1", nil), h.agent("n2", nil)} // 16 cpus in all
	return s
}

// addJobs adds n one-cpu jobs in queue q (scheduled far away; run by hand).
func (s *capacitySim) addJobs(t *testing.T, q string, n int) {
	for i := range n {
		name := fmt.Sprintf("%s-%d", q, i)
		body := fmt.Sprintf(`{"name":%q,"command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":"1","mem":"64","queue":%q,"retries":"0"}`, name, q)
		if err := s.h.m.jobs.Put(context.Background(), []byte(body), false); err != nil {
			t.Fatal(err)
		}
		s.queue[name] = q
	}
}

// step runs one step and returns the number of running runs per queue:
// the runs due to end finish, the service folds their results in, every
// idle job gets a queued run (saturation), apps replace their ended tasks
// (a reconcile pass), the service launches what the queues allow, the
// agents start it. App tasks are counted under "apps".
func (s *capacitySim) step(t *testing.T, k int) map[string]int {
	ctx := context.Background()
	tick := func() {
		if err := s.h.m.jobs.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range s.agents {
		var ups []wire.TaskStatus
		for _, spec := range a.desired().Tasks {
			if end, ok := s.ends[spec.TaskID]; ok && k >= end {
				state := wire.TaskFinished // a job run succeeds; an app's task ends without a backoff
				if !strings.HasPrefix(spec.AppID, "chronos:") {
					state = wire.TaskKilled
				}
				ups = append(ups, wire.TaskStatus{TaskID: spec.TaskID, State: state})
				delete(s.ends, spec.TaskID)
			}
		}
		if len(ups) > 0 {
			a.report(ups...)
		}
	}
	tick()
	for _, j := range s.h.m.jobs.Jobs() {
		if j.State == "idle" {
			if err := s.h.m.jobs.RunNow(ctx, j.Name, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.h.pass() // apps replace the tasks that ended
	tick()
	running := map[string]int{}
	for _, a := range s.agents {
		var ups []wire.TaskStatus
		for _, spec := range a.desired().Tasks {
			if _, ok := s.ends[spec.TaskID]; !ok {
				s.ends[spec.TaskID] = k + 1 + s.rnd.IntN(3)
				ups = append(ups, wire.TaskStatus{TaskID: spec.TaskID, State: wire.TaskRunning})
			}
			if q, ok := s.queue[strings.TrimPrefix(spec.AppID, "chronos:")]; ok {
				running[q]++
			} else {
				running["apps"]++
			}
		}
		if len(ups) > 0 {
			a.report(ups...)
		}
	}
	s.h.clock.Advance(time.Second)
	return running
}

// TestCapacityShares: two queues 20/80 saturated with short runs on a
// 16-cpu cluster share it 20/80 (±5 points, time-averaged); with one
// queue idle the other uses the whole job capacity.
func TestCapacityShares(t *testing.T) {
	tree, err := jobs.ParseQueues([]byte(`queues: [{name: small, capacity: 20}, {name: big, capacity: 80}]`))
	if err != nil {
		t.Fatal(err)
	}
	s := newCapacitySim(t, tree)
	s.addJobs(t, "small", 12)
	s.addJobs(t, "big", 24)
	var small, total int
	for k := range 160 {
		run := s.step(t, k)
		if k >= 10 {
			small += run["small"]
			total += run["small"] + run["big"]
		}
	}
	share := float64(small) / float64(total) * 100
	t.Logf("small's measured share %.1f%% of %d run-steps", share, total)
	if share < 15 || share > 25 {
		t.Errorf("small's share %.1f%%, want 20 ± 5", share)
	}
	if avg := float64(total) / 150; avg < 14 {
		t.Errorf("average %.1f runs of 16 slots: the cluster is not saturated", avg)
	}

	idle := newCapacitySim(t, tree)
	idle.addJobs(t, "big", 24)
	busy := 0
	for k := range 40 {
		if run := idle.step(t, k); k >= 10 {
			busy += run["big"]
		}
	}
	if avg := float64(busy) / 30; avg < 15 {
		t.Errorf("big alone averages %.1f of 16 slots, want all of them", avg)
	}
}
