package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/marathon"
	"github.com/berth-platform/berth/placement/store"
)

func benchMaster(b *testing.B) *Master {
	b.Helper()
	st, err := store.OpenBolt(store.BoltConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	m, err := New(context.Background(), Config{Store: st, AgentTimeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkPostApps measures POST /v2/apps throughput with the embedded
// store (every answer waits for its fsync'd commit), from 64 concurrent
// clients.
func BenchmarkPostApps(b *testing.B) { benchPost(b, 32) }

// BenchmarkPostAppsOneClient is the same from a single client: every
// request pays a full commit.
func BenchmarkPostAppsOneClient(b *testing.B) { benchPost(b, 0) }

func benchPost(b *testing.B, parallelism int) {
	m := benchMaster(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	srv := httptest.NewServer(m.Handler())
	defer func() {
		cancel()
		<-done
		srv.Close()
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	var n atomic.Int64
	post := func() bool {
		i := n.Add(1)
		body := fmt.Sprintf(`{"id":"/bench/app-%d","cmd":"sleep 1000","instances":0,"portDefinitions":[]}`, i)
		res, err := client.Post(srv.URL+"/v2/apps", "application/json", strings.NewReader(body))
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
	if parallelism == 0 {
		for i := 0; i < b.N && post(); i++ {
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() && post() {
			}
		})
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "apps/s")
}

// bigState fills m with apps × tasksPer running tasks spread over agents,
// persisted through the embedded store.
func bigState(b *testing.B, m *Master, apps, tasksPer int) {
	b.Helper()
	now := m.now()
	agents := max(apps*tasksPer/100, 1)
	m.mu.Lock()
	for i := 0; i < agents; i++ {
		id := "agent-" + strconv.Itoa(i)
		m.agents[id] = &agent{reg: wire.Registration{ID: id, Hostname: "node-" + strconv.Itoa(i) + ".example",
			Resources: wire.Resources{CPUs: 64, Mem: 256000, Ports: []wire.PortRange{{Begin: 31000, End: 32000}}}},
			lastSeen: now, changed: make(chan struct{}), unknown: map[string]bool{}}
	}
	var ops []store.Op
	k := 0
	for i := 0; i < apps; i++ {
		app, err := marathon.Parse([]byte(fmt.Sprintf(`{"id":"/bench/g%d/app-%d","cmd":"./serve --port $PORT0",
			"instances":%d,"cpus":0.1,"mem":64,"labels":{"team":"t%d"},"portDefinitions":[]}`, i%100, i, tasksPer, i%7)), "/", marathon.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := m.applyChanges([]change{{id: app.ID, app: app, action: actStart}}, false); err != nil {
			b.Fatal(err)
		}
		as := m.apps[app.ID]
		for j := 0; j < tasksPer; j++ {
			ag := "agent-" + strconv.Itoa(k%agents)
			k++
			t := m.newTask(as, placement.Placement{AgentID: ag, Hostname: m.agents[ag].reg.Hostname, HostPorts: []int{31000 + j}}, now)
			t.Ports = []int{31000 + j}
			t.State, t.StartedAt, t.IPAddress, t.Reported = wire.TaskRunning, ts(now), "10.0.0.1", true
			m.addTask(as, t)
			ops = append(ops, taskOp(t))
		}
	}
	seq := m.w.enqueue(ops...)
	m.mu.Unlock()
	if err := m.w.wait(seq); err != nil {
		b.Fatal(err)
	}
	m.reconcile(true) // finishes the create deployments
}

// BenchmarkListAppsEmbedTasks measures GET /v2/apps?embed=apps.tasks with
// 10,000 apps and 100,000 running tasks, and reports the process's
// resident memory with that state loaded.
func BenchmarkListAppsEmbedTasks(b *testing.B) {
	m := benchMaster(b)
	bigState(b, m, 10000, 10)
	var passes []time.Duration
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		m.reconcile(true) // a full pass with nothing to do
		passes = append(passes, time.Since(t0))
	}
	sort.Slice(passes, func(i, j int) bool { return passes[i] < passes[j] })
	pass := passes[2]
	h := m.Handler()
	var durs, cpus []time.Duration
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := &discardWriter{header: http.Header{}}
		if i == 0 {
			rec.keep = &bytes.Buffer{}
		}
		t0, c0 := time.Now(), cpuTime()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/apps?embed=apps.tasks", nil))
		durs = append(durs, time.Since(t0))
		cpus = append(cpus, cpuTime()-c0)
		if rec.code != 200 {
			b.Fatalf("status %d", rec.code)
		}
		size = rec.n
		if i == 0 {
			var v struct {
				Apps []struct{ Tasks []json.RawMessage }
			}
			if err := json.Unmarshal(rec.keep.Bytes(), &v); err != nil || len(v.Apps) != 10000 || len(v.Apps[0].Tasks) != 10 {
				b.Fatalf("bad listing (%d bytes, Content-Length %s): %v", rec.n, rec.header.Get("Content-Length"), err)
			}
			if rec.header.Get("Content-Length") != strconv.Itoa(rec.n) {
				b.Fatalf("Content-Length %s, wrote %d", rec.header.Get("Content-Length"), rec.n)
			}
		}
	}
	b.StopTimer()
	// Memory with the state loaded and every JSON cache built (two
	// collections: objects with finalizers need the second).
	runtime.GC()
	debug.FreeOSMemory()
	rss, rssFile := rssMiB("RssAnon:"), rssMiB("RssFile:")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(m)
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
	sort.Slice(cpus, func(i, j int) bool { return cpus[i] < cpus[j] })
	b.ReportMetric(float64(cpus[len(cpus)/2].Microseconds())/1000, "p50-cpu-ms")
	b.ReportMetric(float64(size)/(1<<20), "MiB-body")
	b.ReportMetric(float64(pass.Microseconds())/1000, "full-pass-ms")
	b.ReportMetric(rss, "MiB-rss-anon")
	b.ReportMetric(rssFile, "MiB-rss-file")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
}

// discardWriter is a ResponseWriter standing in for the network.
type discardWriter struct {
	header http.Header
	code   int
	n      int
	keep   *bytes.Buffer
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) WriteHeader(c int)   { d.code = c }
func (d *discardWriter) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	d.n += len(p)
	if d.keep != nil {
		d.keep.Write(p)
	}
	return len(p), nil
}

// cpuTime is the process's user+system CPU time so far (it includes GC
// work and any other goroutine, so it is an upper bound for one request
// on a busy machine where wall time is not meaningful).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMiB reads a field of /proc/self/status (0 where unavailable):
// RssAnon is the process's own resident memory, RssFile the pages of
// mapped files (the bbolt file) that happen to be resident.
func rssMiB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
