package lbsync

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// bigSnapshot is services apps × backends instances, half with vhosts.
func bigSnapshot(services, backends int) Snapshot {
	var s Snapshot
	for i := range services {
		app := fmt.Sprintf("/team%d/app%d", i%37, i)
		for j := range backends {
			kv := []string{"HAPROXY_0_BALANCE", "leastconn"}
			if i%2 == 0 {
				kv = append(kv, "HAPROXY_0_VHOST", fmt.Sprintf("app%d.example.com", i), "HAPROXY_0_PATH", "/api")
			}
			s.Instances = append(s.Instances, inst(app, 10000+i, fmt.Sprintf("10.%d.%d.%d", i/250, i%250, j+1), 31000+j, kv...))
		}
	}
	return s
}

// BenchmarkModelRender: BuildModel + AssignSlots + the HAProxy render for
// 1,000 services × 10 backends (target ≤ 50 ms).
func BenchmarkModelRender(b *testing.B) {
	snap := bigSnapshot(1000, 10)
	tmpl := DefaultHAProxyTemplate()
	settings := goldenSettings()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		m, _ := BuildModel(snap, Rules{HTTPPort: 80})
		out, err := Render(tmpl, BuildHAProxyView(m, AssignSlots(nil, m), settings))
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "cfg-bytes")
}

// BenchmarkConsulToServing measures a Consul registration until HAProxy
// serves the new backend (real Consul, lbsync, HAProxy; default wait
// 50ms:1s): "runtime" adds a backend to a served servicePort (Runtime API,
// no reload); "reload" adds a new servicePort (render, haproxy -c, reload).
func BenchmarkConsulToServing(b *testing.B) {
	h := startHarness(b, harnessOpts{})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	sp := testenv.FreePort(b)
	h.register("/bench", sp, newBackend(b, "stable"))
	h.expectSet(sp, "", "stable")

	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	}
	b.Run("runtime", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			be := newBackend(b, fmt.Sprintf("rt-%d", i))
			start := time.Now()
			id := h.register("/bench", sp, be)
			waitBody(b, client, sp, "", be.name)
			lat = append(lat, time.Since(start))
			b.StopTimer()
			h.deregister(id)
			h.waitGone(sp, be.port())
			be.Close()
			b.StartTimer()
		}
		report(b, lat)
	})
	b.Run("reload", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			port := testenv.FreePort(b)
			be := newBackend(b, fmt.Sprintf("rl-%d", i))
			start := time.Now()
			id := h.register(fmt.Sprintf("/bench%d", i), port, be)
			waitBody(b, client, port, "", be.name)
			lat = append(lat, time.Since(start))
			b.StopTimer()
			h.deregister(id)
			h.waitGone(port, be.port())
			be.Close()
			b.StartTimer()
		}
		report(b, lat)
	})
}

// waitBody polls (every 2 ms, for at most 10 s) until port answers body.
func waitBody(b *testing.B, client *http.Client, port int, host, body string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if code, got, err := get(client, port, host); err == nil && code == 200 && got == body {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("port %d never answered %q", port, body)
}

// BenchmarkModelRenderParts splits BenchmarkModelRender into its steps.
func BenchmarkModelRenderParts(b *testing.B) {
	snap := bigSnapshot(1000, 10)
	tmpl := DefaultHAProxyTemplate()
	m, _ := BuildModel(snap, Rules{HTTPPort: 80})
	slots := AssignSlots(nil, m)
	view := BuildHAProxyView(m, slots, goldenSettings())
	b.Run("BuildModel", func(b *testing.B) {
		for b.Loop() {
			BuildModel(snap, Rules{HTTPPort: 80})
		}
	})
	b.Run("AssignSlots+View", func(b *testing.B) {
		for b.Loop() {
			BuildHAProxyView(m, AssignSlots(slots, m), goldenSettings())
		}
	})
	b.Run("Render", func(b *testing.B) {
		for b.Loop() {
			Render(tmpl, view)
		}
	})
}
