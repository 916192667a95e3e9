package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/chronos"
	"github.com/berth-platform/berth/placement/store"
)

// memStore is an in-memory Store for benchmarks (the store's own cost is
// measured by the store's benchmarks).
type memStore struct {
	mu sync.Mutex
	kv map[string]map[string][]byte
}

func newMemStore() *memStore { return &memStore{kv: map[string]map[string][]byte{}} }

func (m *memStore) List(_ context.Context, bucket, prefix string) ([]store.KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.KV
	for k, v := range m.kv[bucket] {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.KV{Key: k, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (m *memStore) Apply(_ context.Context, ops ...store.Op) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		b := m.kv[op.Bucket]
		if b == nil {
			b = map[string][]byte{}
			m.kv[op.Bucket] = b
		}
		if op.Delete {
			delete(b, op.Key)
		} else {
			b[op.Key] = op.Value
		}
	}
	return nil
}

// benchService is a service over n jobs built directly (Put checks the
// whole graph for each job, which a benchmark's setup need not repeat).
func benchService(b *testing.B, f *fakeLauncher, clk *clockT, n int, mk func(i int) chronos.Job) *Service {
	svc, err := New(context.Background(), Config{Store: newMemStore(), Launcher: f, Now: clk.now, HistoryLimit: 5})
	if err != nil {
		b.Fatal(err)
	}
	parents := map[string][]string{}
	for i := range n {
		j := mk(i)
		r := &record{Job: j, State: "idle"}
		svc.jobs[j.Name] = r
		svc.schedule(r)
		parents[j.Name] = j.Parents
	}
	if svc.graph, err = jobs.NewGraph(parents); err != nil {
		b.Fatal(err)
	}
	return svc
}

// finishAll ends every launched task with success.
func (f *fakeLauncher) finishAll(svc *Service, now time.Time) {
	f.mu.Lock()
	ids := make([]string, 0, len(f.tasks))
	for id := range f.tasks {
		ids = append(ids, id)
	}
	clear(f.tasks)
	clear(f.state)
	f.mu.Unlock()
	zero := 0
	for _, id := range ids {
		svc.TaskEnded(Result{TaskID: id, State: wire.TaskFinished, Exit: &zero, Ended: now})
	}
}

// BenchmarkServiceTick100k: one-second ticks over 100,000 scheduled jobs
// (periods from a minute to ten hours): each tick claims the due
// occurrences, launches them, folds the previous tick's results in and
// writes the changed jobs.
func BenchmarkServiceTick100k(b *testing.B) {
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	f := newFake(1 << 30)
	rnd := rand.New(rand.NewPCG(3, 4))
	svc := benchService(b, f, clk, 100_000, func(i int) chronos.Job {
		start := clk.t.Add(-time.Duration(rnd.IntN(36000)) * time.Second)
		sch, _ := jobs.ParseSchedule(fmt.Sprintf("R/%s/PT%dM", jobs.FormatTime(start), 1+rnd.IntN(600)), "", clk.t)
		return chronos.Job{Name: fmt.Sprintf("job-%06d", i), Command: "true", Shell: true, Epsilon: "PT60S", CPUs: 0.01, Mem: 1,
			Queue: "default", Schedule: sch.Rebase(clk.t).String()}
	})
	ctx := context.Background()
	launched := 0
	b.ResetTimer()
	for range b.N {
		clk.add(time.Second)
		if err := svc.Tick(ctx); err != nil {
			b.Fatal(err)
		}
		launched += len(f.tasks)
		f.finishAll(svc, clk.now())
	}
	b.ReportMetric(float64(launched)/float64(b.N), "runs/tick")
}

// BenchmarkServiceFanOut1000: a parent's success makes 1,000 children
// ready; the tick that folds the result in queues and launches all of
// them.
func BenchmarkServiceFanOut1000(b *testing.B) {
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	f := newFake(1 << 30)
	svc := benchService(b, f, clk, 1001, func(i int) chronos.Job {
		if i == 0 {
			return chronos.Job{Name: "parent", Command: "true", Shell: true, Epsilon: "PT60S", CPUs: 0.01, Mem: 1, Queue: "default",
				Schedule: "R/2030-01-01T00:00:00.000Z/P1D"}
		}
		return chronos.Job{Name: fmt.Sprintf("child-%04d", i), Command: "true", Shell: true, CPUs: 0.01, Mem: 1, Queue: "default",
			Parents: []string{"parent"}}
	})
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := svc.RunNow(ctx, "parent", nil); err != nil {
			b.Fatal(err)
		}
		_ = svc.Tick(ctx)
		f.finishAll(svc, clk.now())
		b.StartTimer()
		_ = svc.Tick(ctx) // parent's result → 1,000 children queued and launched
		b.StopTimer()
		if len(f.tasks) != 1000 {
			b.Fatalf("%d children launched", len(f.tasks))
		}
		f.finishAll(svc, clk.now())
		_ = svc.Tick(ctx)
		b.StartTimer()
	}
}

// BenchmarkPutInto100k: POST iso8601 of one job among 100,000 (the body
// decoded, normalised, the dependency graph checked, the job stored).
func BenchmarkPutInto100k(b *testing.B) {
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	svc := benchService(b, newFake(1), clk, 100_000, func(i int) chronos.Job {
		j := chronos.Job{Name: fmt.Sprintf("job-%06d", i), Command: "true", Shell: true, Epsilon: "PT60S", Queue: "default",
			Schedule: "R/2030-01-01T00:00:00.000Z/P1D"}
		if i%10 == 9 {
			j.Schedule, j.Parents = "", []string{fmt.Sprintf("job-%06d", i-1)}
		}
		return j
	})
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		body := fmt.Sprintf(`{"name":"new-%d","command":"true","parents":["job-000001"]}`, i%100)
		if err := svc.Put(ctx, []byte(body), true); err != nil {
			b.Fatal(err)
		}
	}
}
