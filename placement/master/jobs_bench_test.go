package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/store"
)

// BenchmarkJobDueToLaunch measures, on the real clock, the time from a
// run's due time to its task in the agent's desired state (the agent's
// long poll answering): the job loop waking at the due time, the claim
// stored, the placement core, the task stored. Embedded store (fsync on
// each write); the runtime's own start comes on top.
func BenchmarkJobDueToLaunch(b *testing.B) {
	st, err := store.OpenBolt(store.BoltConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	m, err := New(context.Background(), Config{Store: st, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stop := m.runJobs(ctx)
	defer func() { cancel(); stop() }()
	post := func(path string, in, out any) {
		body, _ := json.Marshal(in)
		res, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(body))
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("POST %s: %v %v", path, res, err)
		}
		defer res.Body.Close()
		if out != nil {
			_ = json.NewDecoder(res.Body).Decode(out)
		}
	}
	var reg wire.Registered
	post("/internal/v1/agents", wire.Registration{Hostname: "bench", AdvertiseIP: "127.0.0.1",
		Resources: wire.Resources{CPUs: 64, Mem: 65536, Disk: 65536}}, &reg)
	var index uint64
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		due := time.Now().Add(20 * time.Millisecond).Truncate(time.Millisecond)
		body := fmt.Sprintf(`{"name":"lat-%d","command":"true","schedule":"R1/%s/PT1H"}`, i, due.UTC().Format("2006-01-02T15:04:05.000Z"))
		if err := m.jobs.Put(ctx, []byte(body), false); err != nil {
			b.Fatal(err)
		}
		var seen string
		for seen == "" {
			res, err := http.Get(fmt.Sprintf("%s/internal/v1/agents/%s/desired?index=%d&wait=5s", srv.URL, reg.ID, index))
			if err != nil {
				b.Fatal(err)
			}
			var d wire.Desired
			_ = json.NewDecoder(res.Body).Decode(&d)
			res.Body.Close()
			index = d.Index
			for _, t := range d.Tasks {
				if t.AppID == fmt.Sprintf("chronos:lat-%d", i) {
					seen = t.TaskID
				}
			}
		}
		lat = append(lat, time.Since(due))
		post("/internal/v1/agents/"+reg.ID+"/status", wire.StatusBatch{Updates: []wire.TaskStatus{
			{Seq: uint64(i + 1), TaskID: seen, State: wire.TaskFinished, Timestamp: ts(time.Now())}}}, nil)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "ms-p90")
}
