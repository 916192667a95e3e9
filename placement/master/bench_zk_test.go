package master

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/store"
	"github.com/berth-platform/berth/placement/zkstore"
)

// serveZK runs Serve as one master of a ZooKeeper group (it is alone, so
// it leads) and returns its base URL once it serves as the leader, the
// time that took, and a function that stops it.
func serveZK(b *testing.B, zkURL string) (base string, elapsed time.Duration, stop func()) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- Serve(ctx, ServerConfig{Listen: "127.0.0.1:0", ZK: zkURL, ZKSessionTimeout: 2 * time.Second,
			Master: Config{AgentTimeout: time.Hour}, Ready: func(a string) { ready <- a }})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				b.Errorf("serve: %v", err)
			}
		})
	}
	b.Cleanup(stop)
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-done:
		b.Fatalf("serve: %v", err)
	}
	// The leader serves once elected and loaded: until then a request waits
	// in the forwarding layer or gets 503.
	for {
		res, err := http.Get(base + "/v2/apps/bench/g0/app-0")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK || res.StatusCode == http.StatusNotFound && res.Header.Get("X-Marathon-Leader") == base {
				return base, time.Since(start), stop
			}
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("the master did not serve within 5 minutes: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkPostAppsZK measures POST /v2/apps through a master whose state
// is in a real ZooKeeper (every answer waits for its multi), from 32
// concurrent clients, through the HA forwarding layer.
func BenchmarkPostAppsZK(b *testing.B) {
	z := testenv.StartZooKeeper(b)
	base, _, _ := serveZK(b, fmt.Sprintf("zk://%s/bench-%d", z.Addr, time.Now().UnixNano()))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	var n atomic.Int64
	post := func() bool {
		i := n.Add(1)
		body := fmt.Sprintf(`{"id":"/bench/app-%d","cmd":"sleep 1000","instances":0,"portDefinitions":[{"port":0}]}`, i)
		res, err := client.Post(base+"/v2/apps", "application/json", strings.NewReader(body))
		if err != nil {
			b.Error(err)
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			b.Errorf("status %d", res.StatusCode)
			return false
		}
		return true
	}
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() && post() {
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "apps/s")
}

// BenchmarkColdStartZK measures how long a master takes from start to
// serving as the leader over a ZooKeeper state of 10,000 apps (with their
// versions) and 100,000 running tasks on 1,000 agents. The state is built
// by a master on the embedded store and copied key by key into ZooKeeper
// (batches of 50 keys: ZooKeeper holds the tree in a 256 MiB heap).
func BenchmarkColdStartZK(b *testing.B) {
	z := testenv.StartZooKeeper(b)
	zkURL := fmt.Sprintf("zk://%s/cold-%d", z.Addr, time.Now().UnixNano())
	src := benchMaster(b)
	bigState(b, src, 10000, 10)
	persistAgents(b, src)
	keys := copyToZK(b, src.cfg.Store, zkURL)
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		_, d, stop := serveZK(b, zkURL)
		total += d
		b.StopTimer()
		stop() // the next round's master must start cold and alone
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/start")
	b.ReportMetric(float64(keys), "keys")
}

// persistAgents writes the agents bigState made up, as registrations do.
func persistAgents(b *testing.B, m *Master) {
	b.Helper()
	var ops []store.Op
	for id, a := range m.agents {
		rec, err := json.Marshal(agentRecord{Registration: a.reg})
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops, store.Put(bucketAgents, id, rec))
	}
	if err := m.cfg.Store.Apply(context.Background(), ops...); err != nil {
		b.Fatal(err)
	}
}

// copyToZK copies every bucket of st into the ZooKeeper store at zkURL.
func copyToZK(b *testing.B, st store.Store, zkURL string) int {
	b.Helper()
	ctx := context.Background()
	zc, err := zkstore.ParseURL(zkURL)
	if err != nil {
		b.Fatal(err)
	}
	zs, err := zkstore.Open(ctx, zc)
	if err != nil {
		b.Fatal(err)
	}
	defer zs.Close()
	var batches [][]store.Op
	n := 0
	for _, bucket := range []string{bucketApps, bucketVersions, bucketTasks, bucketDeployments, bucketAgents} {
		kvs, err := st.List(ctx, bucket, "")
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(kvs); i += 50 {
			var ops []store.Op
			for _, kv := range kvs[i:min(i+50, len(kvs))] {
				ops = append(ops, store.Put(bucket, kv.Key, kv.Value))
			}
			batches = append(batches, ops)
			n += len(ops)
		}
	}
	work := make(chan []store.Op)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ops := range work {
				if err := zs.Apply(ctx, ops...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, ops := range batches {
		select {
		case work <- ops:
		case err := <-errs:
			close(work)
			wg.Wait()
			b.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return n
}
