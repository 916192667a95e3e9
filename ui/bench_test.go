package ui

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"
)

// benchAPI answers /v2/apps and /v2/queue for apps apps with tasksPer
// running tasks each, in the master's JSON shape (the apps list carries
// counts, not tasks, as Marathon's GET /v2/apps does).
func benchAPI(apps, tasksPer int) http.Handler {
	list := make([]map[string]any, 0, apps)
	for i := range apps {
		list = append(list, map[string]any{
			"id": fmt.Sprintf("/team-%02d/service-%04d", i%40, i), "cmd": "python3 -m http.server $PORT0",
			"instances": tasksPer, "cpus": 0.25, "mem": 128, "disk": 0, "gpus": 0,
			"labels":          map[string]string{"HAPROXY_GROUP": "external", "team": fmt.Sprintf("team-%02d", i%40)},
			"portDefinitions": []map[string]any{{"port": 10000 + i, "protocol": "tcp", "name": "http"}},
			"healthChecks":    []map[string]any{{"protocol": "HTTP", "path": "/health", "portIndex": 0}},
			"env":             map[string]string{"LOG_LEVEL": "info"}, "constraints": [][]string{{"hostname", "UNIQUE"}},
			"version": "2026-01-02T03:00:00.000Z", "tasksStaged": 0, "tasksRunning": tasksPer,
			"tasksHealthy": tasksPer - i%2, "tasksUnhealthy": i % 2, "deployments": []any{},
		})
	}
	appsJSON, _ := json.Marshal(map[string]any{"apps": list})
	queueJSON := []byte(`{"queue":[]}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v2/apps":
			w.Write(appsJSON)
		case "/v2/queue":
			w.Write(queueJSON)
		default:
			http.NotFound(w, r)
		}
	})
}

// BenchmarkAppsPage renders /ui/apps for 1,000 apps with 10,000 tasks:
// the API calls (in process), the JSON decoding, the view model and the
// template. It reports the p50 and the page's weight raw and gzipped.
func BenchmarkAppsPage(b *testing.B) {
	u, err := New(Config{API: benchAPI(1000, 10)})
	if err != nil {
		b.Fatal(err)
	}
	h := u.Handler()
	var raw, gz int
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/apps", nil))
		times = append(times, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
		raw = rec.Body.Len()
	}
	b.StopTimer()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/ui/apps", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(rec, req)
	gz = rec.Body.Len()
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(zr); err != nil || !bytes.Contains(plain.Bytes(), []byte("/team-39/service-0999")) {
		b.Fatalf("gzipped page: %v", err)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(raw)/1024, "page-KiB")
	b.ReportMetric(float64(gz)/1024, "gzip-KiB")
}
