package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs"
)

// runFor runs job name once by hand and ends it after d seconds.
func runFor(t *testing.T, svc *Service, f *fakeLauncher, clk *clockT, name string, d float64) {
	t.Helper()
	ctx := context.Background()
	if err := svc.RunNow(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	var ended []Result
	for id, spec := range f.tasks {
		if spec.AppID == AppIDPrefix+name {
			zero := 0
			start := clk.now()
			ended = append(ended, Result{TaskID: id, State: wire.TaskFinished, Exit: &zero, StartedAt: jobs.FormatTime(start),
				Ended: start.Add(time.Duration(d * float64(time.Second)))})
			delete(f.tasks, id)
			delete(f.state, id)
		}
	}
	f.mu.Unlock()
	if len(ended) != 1 {
		t.Fatalf("%s: %d tasks", name, len(ended))
	}
	svc.TaskEnded(ended[0])
	if err := svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Second)
}

// TestStatsPercentiles: stats/{pct} for each of Chronos' names (any case)
// ranks the jobs by that statistic of their successful runs' durations,
// slowest first; an unknown name is a 400 naming "percentile".
func TestStatsPercentiles(t *testing.T) {
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	f := newFake(10)
	svc, _ := newRunEnv(t, f, clk, t.TempDir())
	for _, n := range []string{"a", "b", "c"} {
		mustPut(t, svc, `{"name":"`+n+`","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D"}`, false)
	}
	for i := range 20 { // a: 19 runs of 1 s and one of 200 s
		d := 1.0
		if i == 7 {
			d = 200
		}
		runFor(t, svc, f, clk, "a", d)
	}
	for _, d := range []float64{50, 60, 70, 80} {
		runFor(t, svc, f, clk, "b", d)
	}
	runFor(t, svc, f, clk, "c", 30)
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	type entry struct {
		Job  string  `json:"jobNameLabel"`
		Time float64 `json:"time"`
	}
	for _, c := range []struct {
		pct  string
		want []entry
	}{
		{"median", []entry{{"b", 60}, {"c", 30}, {"a", 1}}},
		{"mean", []entry{{"b", 65}, {"c", 30}, {"a", 10.95}}},
		{"75thPercentile", []entry{{"b", 70}, {"c", 30}, {"a", 1}}},
		{"95thPercentile", []entry{{"b", 80}, {"c", 30}, {"a", 1}}},
		{"98thPercentile", []entry{{"a", 200}, {"b", 80}, {"c", 30}}},
		{"99thPercentile", []entry{{"a", 200}, {"b", 80}, {"c", 30}}},
		{"99thpercentile", []entry{{"a", 200}, {"b", 80}, {"c", 30}}},
	} {
		for _, prefix := range []string{"/scheduler", "/v1/scheduler"} {
			var got []entry
			code, body := get(t, srv.URL+prefix+"/stats/"+c.pct, &got)
			for i := range got {
				got[i].Time = float64(int(got[i].Time*1000+0.5)) / 1000
			}
			if code != 200 || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s/stats/%s = %d %s, want %v", prefix, c.pct, code, body, c.want)
			}
		}
	}
	if code, body := get(t, srv.URL+"/scheduler/stats/90thPercentile", nil); code != 400 || !strings.Contains(body, `"message":"percentile: 90thPercentile is not one of`) {
		t.Errorf("unknown percentile: %d %s", code, body)
	}
}

// TestSearchLimitOffset: jobs/search pages its matches (sorted by name)
// with limit (default 10) and offset; a bad value is a 400 naming it.
func TestSearchLimitOffset(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 14 {
		if c, b := e.do("POST", "/scheduler/iso8601", fmt.Sprintf(`{"name":"job-%02d","command":"echo %d","schedule":"R/2030-01-01T00:00:00Z/P1D"}`, i, i)); c != 204 {
			t.Fatalf("post: %d %s", c, b)
		}
	}
	e.do("POST", "/scheduler/iso8601", `{"name":"other","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D"}`)
	names := func(path string) []string {
		c, b := e.do("GET", path, "")
		var out []struct{ Name string }
		if c != 200 || json.Unmarshal([]byte(b), &out) != nil {
			t.Fatalf("%s: %d %s", path, c, b)
		}
		var n []string
		for _, j := range out {
			n = append(n, j.Name)
		}
		return n
	}
	seq := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("job-%02d", i))
		}
		return out
	}
	for path, want := range map[string][]string{
		"/scheduler/jobs/search?name=JOB":                     seq(0, 10),
		"/scheduler/jobs/search?name=job&limit=3":             seq(0, 3),
		"/scheduler/jobs/search?name=job&limit=3&offset=12":   seq(12, 14),
		"/v1/scheduler/jobs/search?any=job&offset=5&limit=20": seq(5, 14),
		"/scheduler/jobs/search?command=echo%201&limit=5":     {"job-01", "job-10", "job-11", "job-12", "job-13"},
		"/scheduler/jobs/search?any=o&offset=14&limit=5":      {"other"},
		"/scheduler/jobs/search?name=job&offset=99":           nil,
		"/scheduler/jobs/search?name=job&limit=0":             nil,
	} {
		if got := names(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	for _, q := range []string{"limit=-1", "offset=x", "limit=1.5"} {
		field := strings.SplitN(q, "=", 2)[0]
		if c, b := e.do("GET", "/scheduler/jobs/search?"+q, ""); c != 400 || !strings.Contains(b, `"message":"`+field+`: `) {
			t.Errorf("%s: %d %s, want a 400 naming %s", q, c, b, field)
		}
	}
}

func get(t *testing.T, url string, out any) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	return res.StatusCode, string(b)
}
