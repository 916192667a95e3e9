package service

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/chronos"
	"github.com/berth-platform/berth/placement/store"
)

const seedJob = `{"name":"chronos-nginx","schedule":"R/2018-05-30T14:00:00.000Z/PT24H","cpus":"0.3","mem":"32",
 "container":{"type":"DOCKER","image":"docker.io/nginx","network":"HOST"},"uris":[],
 "command":"/usr/sbin/nginx -g 'daemon off;' -c /etc/nginx/nginx.conf"}`

type env struct {
	t   *testing.T
	st  *store.Bolt
	dir string
	srv *httptest.Server
	svc *Service
}

func newEnv(t *testing.T, tree *jobs.Tree) *env {
	dir := t.TempDir()
	st, err := store.OpenBolt(store.BoltConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, dir: dir}
	e.start(tree)
	t.Cleanup(func() { e.srv.Close(); st.Close() })
	return e
}

var clock = func() time.Time { return time.Date(2026, 12, 6, 12, 41, 0, 0, time.UTC) }

func (e *env) start(tree *jobs.Tree) {
	svc, err := New(context.Background(), Config{Store: e.st, Queues: tree, Now: clock, Leader: func() string { return "127.0.0.1:4400" }})
	if err != nil {
		e.t.Fatal(err)
	}
	if e.srv != nil {
		e.srv.Close()
	}
	e.svc, e.srv = svc, httptest.NewServer(svc.Handler())
}

func (e *env) do(method, path, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPostSeedJobAndList(t *testing.T) {
	e := newEnv(t, nil)
	if code, body := e.do("POST", "/scheduler/iso8601", seedJob); code != 204 {
		t.Fatalf("POST iso8601 = %d %s", code, body)
	}
	code, body := e.do("GET", "/v1/scheduler/jobs", "")
	var js []chronos.Job
	if err := json.Unmarshal([]byte(body), &js); code != 200 || err != nil || len(js) != 1 {
		t.Fatalf("GET jobs = %d %s", code, body)
	}
	// a start in the past: next occurrence on the same grid from now.
	if j := js[0]; j.Schedule != "R/2026-12-06T14:00:00.000Z/PT24H" || j.CPUs != 0.3 || j.Mem != 32 || j.Queue != "default" {
		t.Errorf("job %+v", j)
	}
	for _, want := range []string{`"successCount":0`, `"errorCount":0`, `"lastSuccess":""`, `"lastError":""`, `"errorsSinceLastSuccess":0`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET jobs lacks %s", want)
		}
	}
	// Posting the same name replaces.
	if code, _ := e.do("POST", "/v1/scheduler/iso8601", strings.Replace(seedJob, `"32"`, `"64"`, 1)); code != 204 {
		t.Fatal(code)
	}
	// Survives a restart (store-backed).
	e.start(nil)
	_, body = e.do("GET", "/scheduler/job/chronos-nginx", "")
	if !strings.Contains(body, `"mem":64`) {
		t.Errorf("after restart: %s", body)
	}
	if code, body := e.do("GET", "/scheduler/leader", ""); code != 200 || body != `{"leader":"127.0.0.1:4400"}` {
		t.Errorf("leader = %d %s", code, body)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	tree, err := jobs.ParseQueues([]byte(`{"queues":[{"name":"default","capacity":20},{"name":"etl","capacity":80}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, tree)
	e.do("POST", "/scheduler/iso8601", `{"name":"a","command":"true","schedule":"R/2026-12-07T00:00:00Z/P1D"}`)
	e.do("POST", "/scheduler/dependency", `{"name":"b","command":"true","parents":["a"]}`)
	_, before := e.do("GET", "/scheduler/jobs", "")
	for _, tc := range []struct{ path, body, field string }{
		{"/scheduler/dependency", `{"name":"c","command":"true","parents":["nope"]}`, "parents: c: unknown job"},
		{"/scheduler/dependency", `{"name":"a","command":"true","parents":["b"]}`, "parents: dependency cycle"},
		{"/scheduler/iso8601", `{"name":"a","command":"true","schedule":"R/2026-12-07T00:00:00Z/P1X"}`, "schedule:"},
		{"/scheduler/iso8601", `{"name":"a","command":"true","schedule":"R/2026-12-07T00:00:00Z/P1D","cpus":"-0.5"}`, "cpus:"},
		{"/scheduler/iso8601", `{"name":"a","command":"true","schedule":"R/2026-12-07T00:00:00Z/P1D","queue":"q99"}`, "queue: unknown queue"},
		{"/scheduler/dependency", `{"name":"b","command":"true","parents":[]}`, "parents:"},
	} {
		code, body := e.do("POST", tc.path, tc.body)
		if code != 400 || !strings.Contains(body, tc.field) || !strings.Contains(body, `"status":"Bad Request"`) {
			t.Errorf("%s %s = %d %s, want 400 naming %q", tc.path, tc.body, code, body, tc.field)
		}
	}
	if _, after := e.do("GET", "/scheduler/jobs", ""); after != before {
		t.Errorf("bad input changed the jobs:\n%s\n%s", before, after)
	}
	if code, _ := e.do("DELETE", "/scheduler/job/nope", ""); code != 400 {
		t.Errorf("DELETE unknown = %d", code)
	}
}

func TestDeleteRewiresAndGraph(t *testing.T) {
	e := newEnv(t, nil)
	e.do("POST", "/scheduler/iso8601", `{"name":"a","command":"true","schedule":"R/2026-12-07T00:00:00Z/P1D"}`)
	e.do("POST", "/scheduler/dependency", `{"name":"b","command":"true","parents":["a"]}`)
	e.do("POST", "/scheduler/dependency", `{"name":"c","command":"true","parents":["b"]}`)
	if _, csv := e.do("GET", "/scheduler/graph/csv", ""); csv != "node,a,fresh,idle\nnode,b,fresh,idle\nnode,c,fresh,idle\nlink,a,b\nlink,b,c\n" {
		t.Errorf("csv:\n%s", csv)
	}
	if _, dot := e.do("GET", "/v1/scheduler/graph/dot", ""); !strings.Contains(dot, `"a" -> "b";`) {
		t.Errorf("dot:\n%s", dot)
	}
	// Deleting b: c inherits a.
	if code, _ := e.do("DELETE", "/scheduler/job/b", ""); code != 204 {
		t.Fatal(code)
	}
	_, c := e.do("GET", "/scheduler/job/c", "")
	if !strings.Contains(c, `"parents":["a"]`) {
		t.Errorf("c after deleting b: %s", c)
	}
	// Deleting a: c becomes scheduled with a's schedule.
	e.do("DELETE", "/scheduler/job/a", "")
	_, c = e.do("GET", "/scheduler/job/c", "")
	if !strings.Contains(c, `"schedule":"R/2026-12-07T00:00:00.000Z/P1D"`) || strings.Contains(c, `"parents"`) {
		t.Errorf("c after deleting a: %s", c)
	}
	if _, s := e.do("GET", "/scheduler/jobs/search?any=C", ""); !strings.Contains(s, `"name":"c"`) {
		t.Errorf("search: %s", s)
	}
	if code, _ := e.do("DELETE", "/scheduler/jobs", ""); code != 204 {
		t.Fatal(code)
	}
	if _, l := e.do("GET", "/scheduler/jobs", ""); l != "[]" {
		t.Errorf("after DELETE jobs: %s", l)
	}
}

func TestQueuesView(t *testing.T) {
	tree, _ := jobs.ParseQueues([]byte(`queues:
  - {name: biz1, capacity: 20, queues: [{name: q11, capacity: 40}, {name: q12, capacity: 60}]}
  - {name: biz2, capacity: 80, queues: [{name: default, capacity: 100}]}`))
	e := newEnv(t, tree)
	e.do("POST", "/scheduler/iso8601", `{"name":"a","command":"true","schedule":"R/2026-12-07T00:00:00Z/P1D","queue":"q11"}`)
	_, body := e.do("GET", "/scheduler/queues", "")
	var qs []QueueView
	if err := json.Unmarshal([]byte(body), &qs); err != nil || len(qs) != 6 {
		t.Fatalf("queues: %s", body)
	}
	for _, q := range qs {
		if q.Name == "q11" && (q.Jobs != 1 || q.Guaranteed < 7.99 || q.Guaranteed > 8.01) {
			t.Errorf("q11 view %+v", q)
		}
	}
}
