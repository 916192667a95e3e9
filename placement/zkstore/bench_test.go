package zkstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/store"
	"github.com/berth-platform/berth/placement/zkstore"
)

// Realistic record sizes: an app definition (~1.5 KiB), its version, a
// task record with its spec (~800 B).
func appJSON(i int) []byte {
	return fmt.Appendf(nil, `{"app":{"id":"/bench/app-%05d","cmd":"./serve --port $PORT0","cpus":0.1,"mem":64,"instances":10,`+
		`"container":{"type":"DOCKER","docker":{"image":"berth/hello","network":"BRIDGE","portMappings":[{"containerPort":80,"hostPort":0,"servicePort":%d,"protocol":"tcp","name":"http"}]}},`+
		`"healthChecks":[{"protocol":"HTTP","path":"/health","portIndex":0,"gracePeriodSeconds":15,"intervalSeconds":10,"timeoutSeconds":5,"maxConsecutiveFailures":3}],`+
		`"labels":{"HAPROXY_GROUP":"external","HAPROXY_0_VHOST":"app-%05d.example.com","team":"bench","tier":"web"},`+
		`"env":{"LOG_LEVEL":"info","FEATURE_X":"on","REGION":"eu-west"},"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":1},`+
		`"constraints":[["hostname","UNIQUE"]],"version":"2026-11-21T06:00:00.000Z"},"generation":"2026-11-21T06:00:00.000Z","padding":"%s"}`,
		i, 10000+i%10000, i, strings.Repeat("x", 600))
}

func taskJSON(app, n int) []byte {
	return fmt.Appendf(nil, `{"id":"bench_app-%05d.%08x-0000-4000-8000-%012x","appId":"/bench/app-%05d","agentId":"agent-%03d","host":"node-%03d.example",`+
		`"ports":[%d],"servicePorts":[%d],"state":"TASK_RUNNING","version":"2026-11-21T06:00:00.000Z","generation":"2026-11-21T06:00:00.000Z",`+
		`"stagedAt":"2026-11-21T06:00:01.000Z","startedAt":"2026-11-21T06:00:02.000Z","ipAddress":"10.0.%d.%d",`+
		`"spec":{"image":"berth/hello","cmd":"./serve --port $PORT0","cpus":0.1,"mem":64,"env":{"PORT0":"%d","MARATHON_APP_ID":"/bench/app-%05d"},"labels":{"berth.app-id":"/bench/app-%05d"}}}`,
		app, n, n, app, n%100, n%100, 31000+n%1000, 10000+app%10000, n%256, app%256, 31000+n%1000, app, app)
}

// BenchmarkApplyApp is one app write as the master does it: app record,
// new version and servicePort allocation in one atomic multi.
func BenchmarkApplyApp(b *testing.B) {
	z := testenv.StartZooKeeper(b)
	s := openStore(b, z.Addr, newRoot("bench-apply"), nil)
	ctx := context.Background()
	appOps := func(i int) []store.Op {
		id := fmt.Sprintf("/bench/app-%07d", i)
		app := appJSON(i)
		return []store.Op{
			store.Put("apps", id, app),
			store.Put("versions", id+" 2026-11-21T06:00:00.000Z", app),
			store.Put("servicePorts", fmt.Sprint(10000+i%10000), []byte(id)),
		}
	}
	// Steady state: every bucket's shard znodes exist (a fresh store
	// creates them on first use, once in its lifetime).
	for i := range 3000 {
		if err := s.Apply(ctx, appOps(-1-i)...); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if err := s.Apply(ctx, appOps(i)...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8) // 8 × GOMAXPROCS concurrent writers, like API clients
		var next atomic.Int64
		next.Store(1 << 20)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Apply(ctx, appOps(int(next.Add(1)))...); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	})
}

// BenchmarkColdLoad reads a whole master state of 10,000 apps (with one
// version each) and 100,000 tasks through a freshly opened store: what a
// newly elected master does before it serves. Writing the state takes a
// few minutes and happens once; only the loads are measured.
func BenchmarkColdLoad(b *testing.B) {
	z := testenv.StartZooKeeper(b)
	root := newRoot("bench-cold")
	s := openStore(b, z.Addr, root, nil)
	ctx := context.Background()
	apps, tasksPerApp := 10000, 10
	var batch []store.Op
	flush := func() {
		if err := s.Apply(ctx, batch...); err != nil {
			b.Fatalf("%v (zookeeper exited: %v)\n%s", err, z.Process().Exited(), z.Process().LogTail())
		}
		batch = batch[:0]
	}
	for a := range apps {
		id := fmt.Sprintf("/bench/app-%05d", a)
		batch = append(batch, store.Put("apps", id, appJSON(a)), store.Put("versions", id+" 2026-11-21T06:00:00.000Z", appJSON(a)))
		for n := range tasksPerApp {
			batch = append(batch, store.Put("tasks", fmt.Sprintf("bench_app-%05d.%d", a, n), taskJSON(a, a*tasksPerApp+n)))
		}
		// Small multis, like the master's: ZooKeeper keeps the last 500
		// transactions in its (here 256 MiB) heap.
		if len(batch) >= 48 {
			flush()
		}
	}
	flush()
	b.Run("10k-apps-100k-tasks", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			fresh, err := zkstore.Open(ctx, zkstore.Config{Servers: []string{z.Addr}, Root: root})
			if err != nil {
				b.Fatal(err)
			}
			total := 0
			for _, bucket := range []string{"apps", "versions", "tasks"} {
				kvs, err := fresh.List(ctx, bucket, "")
				if err != nil {
					b.Fatal(err)
				}
				total += len(kvs)
			}
			fresh.Close()
			if total != apps*(2+tasksPerApp) {
				b.Fatalf("loaded %d keys, want %d", total, apps*(2+tasksPerApp))
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/load")
		}
	})
}
