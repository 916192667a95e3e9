package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorded is one request the fake master saw.
type recorded struct {
	method, path, query, body, auth, contentType string
}

// fakeMaster answers fixed Marathon-shaped bodies per "METHOD path" and
// records every request.
type fakeMaster struct {
	mu     sync.Mutex
	seen   []recorded
	routes map[string]func(w http.ResponseWriter)
}

func newFakeMaster(t *testing.T, routes map[string]func(w http.ResponseWriter)) (*fakeMaster, *Client) {
	t.Helper()
	f := &fakeMaster{routes: routes}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u, p, _ := r.BasicAuth()
		f.mu.Lock()
		f.seen = append(f.seen, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b), u + ":" + p,
			r.Header.Get("Content-Type")})
		f.mu.Unlock()
		h := f.routes[r.Method+" "+r.URL.EscapedPath()]
		if h == nil {
			answer(w, 404, `{"message":"no route `+r.URL.Path+`"}`)
			return
		}
		h(w)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL + "/", Username: "ops", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fakeMaster) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

func answer(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func fixed(code int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { answer(w, code, body) }
}

const appJSON = `{"id":"/shop/web","cmd":"./server","instances":3,"cpus":0.25,"mem":256,"disk":0,
"container":{"type":"DOCKER","docker":{"image":"berth/hello"},"portMappings":[{"containerPort":80,"hostPort":0,"servicePort":10004,"protocol":"tcp","name":"http"}]},
"networks":[{"mode":"container/bridge"}],"labels":{"team":"checkout"},"version":"2026-01-02T03:04:05.000Z",
"tasksStaged":1,"tasksRunning":2,"tasksHealthy":2,"tasksUnhealthy":0,"deployments":[{"id":"d-1"}],
"tasks":[{"id":"shop_web.1","appId":"/shop/web","host":"agent-1","slaveId":"a1","ports":[31001],"servicePorts":[10004],
"ipAddresses":[],"stagedAt":"2026-01-02T03:04:05.000Z","startedAt":null,"version":"2026-01-02T03:04:05.000Z","state":"TASK_STAGING"}],
"lastTaskFailure":{"appId":"/shop/web","host":"agent-2","message":"exited with code 1","state":"TASK_FAILED","taskId":"shop_web.0","timestamp":"2026-01-02T03:04:00.000Z","version":"v","slaveId":"a2"},
"someFutureField":{"kept":true}}`

func TestReads(t *testing.T) {
	f, c := newFakeMaster(t, map[string]func(http.ResponseWriter){
		"GET /v2/apps":                fixed(200, `{"apps":[`+appJSON+`]}`),
		"GET /v2/apps/shop/web":       fixed(200, `{"app":`+appJSON+`}`),
		"GET /v2/tasks":               fixed(200, `{"tasks":[{"id":"b.2","appId":"/b","state":"TASK_RUNNING","ports":[1],"servicePorts":[],"stagedAt":"x","startedAt":"y","version":"v","host":"h","slaveId":"s","healthCheckResults":[{"alive":true,"consecutiveFailures":0}]},{"id":"a.1","appId":"/a","state":"TASK_RUNNING"}]}`),
		"GET /v2/apps/shop/web/tasks": fixed(200, `{"tasks":[]}`),
		"GET /v2/deployments":         fixed(200, `[{"id":"d-1","version":"v","affectedApps":["/shop/web"],"affectedPods":[],"steps":[{"actions":[{"action":"StartApplication","app":"/shop/web"}]}],"currentActions":[{"action":"StartApplication","app":"/shop/web","readinessCheckResults":[]}],"currentStep":1,"totalSteps":1}]`),
		"GET /v2/queue":               fixed(200, `{"queue":[{"app":{"id":"/shop/web","instances":3},"count":2,"delay":{"timeLeftSeconds":0,"overdue":true},"since":"s","role":"*","processedOffersSummary":{"processedOffersCount":3,"unusedOffersCount":3,"rejectSummaryLastOffers":[{"reason":"UnfulfilledConstraint","declined":3,"processed":3}]},"explanation":"2 instances not placed: 3 agents rejected: constraint"}]}`),
		"GET /v2/leader":              fixed(200, `{"leader":"127.0.0.1:8080"}`),
	})
	ctx := context.Background()

	apps, err := c.Apps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("Apps = %v, %v", apps, err)
	}
	a := apps[0]
	if a.ID != "/shop/web" || a.Instances != 3 || a.TasksRunning != 2 || a.Image() != "berth/hello" ||
		len(a.Deployments) != 1 || a.Deployments[0].ID != "d-1" {
		t.Errorf("decoded app = %+v", a)
	}
	if got := a.ServicePorts(); len(got) != 1 || got[0] != 10004 {
		t.Errorf("ServicePorts = %v, want [10004]", got)
	}
	if f.last().auth != "ops:s3cret" {
		t.Errorf("basic auth = %q", f.last().auth)
	}
	// --json relies on marshalling giving back the API's JSON unchanged.
	out, _ := json.Marshal(apps)
	if !strings.Contains(string(out), `"someFutureField":{"kept":true}`) {
		t.Errorf("marshalled apps lost unknown fields: %s", out)
	}

	app, err := c.App(ctx, "shop/web")
	if err != nil {
		t.Fatal(err)
	}
	if app.LastTaskFailure == nil || app.LastTaskFailure.Message != "exited with code 1" || len(app.Tasks) != 1 ||
		app.Tasks[0].StartedAt != nil {
		t.Errorf("App = %+v", app)
	}

	tasks, err := c.Tasks(ctx)
	if err != nil || len(tasks) != 2 {
		t.Fatalf("Tasks = %v, %v", tasks, err)
	}
	SortTasks(tasks)
	if tasks[0].ID != "a.1" || !tasks[1].HealthCheckResults[0].Alive {
		t.Errorf("sorted tasks = %+v", tasks)
	}
	if ts, err := c.AppTasks(ctx, "/shop/web"); err != nil || len(ts) != 0 {
		t.Errorf("AppTasks = %v, %v", ts, err)
	}

	ds, err := c.Deployments(ctx)
	if err != nil || len(ds) != 1 || ds[0].CurrentActions[0].Action != "StartApplication" || ds[0].TotalSteps != 1 {
		t.Errorf("Deployments = %+v, %v", ds, err)
	}
	q, err := c.Queue(ctx)
	if err != nil || len(q) != 1 || q[0].Count != 2 || q[0].App.ID != "/shop/web" ||
		q[0].ProcessedOffersSummary.RejectSummaryLastOffers[0].Reason != "UnfulfilledConstraint" ||
		!strings.Contains(q[0].Explanation, "not placed") {
		t.Errorf("Queue = %+v, %v", q, err)
	}
	if l, err := c.Leader(ctx); err != nil || l != "127.0.0.1:8080" {
		t.Errorf("Leader = %q, %v", l, err)
	}
}

func TestWrites(t *testing.T) {
	f, c := newFakeMaster(t, map[string]func(http.ResponseWriter){
		"POST /v2/apps": func(w http.ResponseWriter) {
			w.Header().Set("Marathon-Deployment-Id", "d-new")
			answer(w, 201, `{"id":"/web","version":"v1","deployments":[{"id":"d-new"}]}`)
		},
		"PUT /v2/apps/web":          fixed(200, `{"deploymentId":"d-put","version":"v2"}`),
		"PATCH /v2/apps/web":        fixed(200, `{"deploymentId":"d-patch","version":"v2"}`),
		"POST /v2/apps/web/restart": fixed(200, `{"deploymentId":"d-restart","version":"v3"}`),
		"DELETE /v2/apps/web":       fixed(200, `{"deploymentId":"d-del","version":"v4"}`),
	})
	ctx := context.Background()
	def := []byte(`{"id":"/web","cmd":"sleep 1"}`)

	res, err := c.CreateApp(ctx, def)
	if err != nil || res.DeploymentID != "d-new" || res.Version != "v1" {
		t.Errorf("CreateApp = %+v, %v", res, err)
	}
	if r := f.last(); r.body != string(def) || r.contentType != "application/json" {
		t.Errorf("POST sent %+v", r)
	}

	res, err = c.UpdateApp(ctx, "/web", def, UpdateOptions{Force: true})
	if err != nil || res.DeploymentID != "d-put" {
		t.Errorf("UpdateApp = %+v, %v", res, err)
	}
	if r := f.last(); r.query != "force=true&partialUpdate=false" {
		t.Errorf("PUT query = %q", r.query)
	}

	if res, err := c.Scale(ctx, "web", 5, false); err != nil || res.DeploymentID != "d-patch" {
		t.Fatalf("Scale = %+v, %v", res, err)
	}
	if r := f.last(); r.method != "PATCH" || r.body != `{"instances":5}` || r.query != "" {
		t.Errorf("scale sent %+v", r)
	}
	if res, err := c.Restart(ctx, "web", true); err != nil || res.DeploymentID != "d-restart" || f.last().query != "force=true" {
		t.Errorf("Restart = %+v, %v (query %q)", res, err, f.last().query)
	}
	if res, err := c.Destroy(ctx, "/web"); err != nil || res.DeploymentID != "d-del" {
		t.Errorf("Destroy = %+v, %v", res, err)
	}
}

func TestErrors(t *testing.T) {
	_, c := newFakeMaster(t, map[string]func(http.ResponseWriter){
		"GET /v2/apps/nope":  fixed(404, `{"message":"App '/nope' does not exist"}`),
		"POST /v2/apps":      fixed(422, `{"message":"Object is not valid","details":[{"path":"/cpus","errors":["got -1.0, expected 0.0 or more"]},{"path":"/","errors":["a","b"]}]}`),
		"PATCH /v2/apps/web": fixed(409, `{"message":"App is locked by one or more deployments.","deployments":[{"id":"d-9"}]}`),
		"GET /v2/leader": func(w http.ResponseWriter) {
			w.WriteHeader(503)
			_, _ = io.WriteString(w, "<html>Could not determine the current leader</html>\n")
		},
	})
	ctx := context.Background()

	_, err := c.App(ctx, "nope")
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Message != "App '/nope' does not exist" || !IsNotFound(err) {
		t.Errorf("404: %#v", err)
	}
	_, err = c.CreateApp(ctx, []byte(`{"id":"/x","cpus":-1}`))
	if !errors.As(err, &e) || e.Status != 422 || len(e.Details) != 2 || e.Details[0].Path != "/cpus" ||
		e.Details[1].Errors[1] != "b" {
		t.Errorf("422: %#v", err)
	}
	if want := "POST /v2/apps: 422 Object is not valid; /cpus: got -1.0, expected 0.0 or more; /: a, b"; err.Error() != want {
		t.Errorf("422 text = %q, want %q", err.Error(), want)
	}
	_, err = c.Scale(ctx, "web", 1, false)
	if !errors.As(err, &e) || !IsConflict(err) || len(e.Deployments) != 1 || e.Deployments[0].ID != "d-9" {
		t.Errorf("409: %#v", err)
	}
	_, err = c.Leader(ctx)
	if !errors.As(err, &e) || e.Status != 503 || e.Message != "<html>Could not determine the current leader</html>" {
		t.Errorf("503: %#v", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(Config{BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Apps(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the master at "+url) {
		t.Errorf("err = %v", err)
	}
}

func TestTaskLogs(t *testing.T) {
	f, c := newFakeMaster(t, map[string]func(http.ResponseWriter){
		"GET /v2/tasks/web.1/logs": func(w http.ResponseWriter) {
			w.Header().Set("X-Berth-Offset", "17")
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = io.WriteString(w, "hello\n")
		},
		"GET /v2/tasks/gone.1/logs": fixed(404, `{"message":"Task 'gone.1' does not exist"}`),
	})
	ctx := context.Background()
	l, err := c.TaskLogs(ctx, "web.1", LogOptions{Stream: "stderr", Offset: 11})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(l.Body)
	l.Body.Close()
	if string(b) != "hello\n" || l.Next != 17 {
		t.Errorf("logs = %q next %d", b, l.Next)
	}
	if q := f.last().query; q != "follow=false&offset=11&stream=stderr" {
		t.Errorf("query = %q", q)
	}
	_, err = c.TaskLogs(ctx, "gone.1", LogOptions{Follow: true})
	if !IsNotFound(err) || !strings.Contains(err.Error(), "Task 'gone.1' does not exist") {
		t.Errorf("err = %v", err)
	}
}

func TestIDsAndConfig(t *testing.T) {
	tests := []struct{ in, norm, path string }{
		{"web", "/web", "/v2/apps/web"},
		{"/shop/web/", "/shop/web", "/v2/apps/shop/web"},
		{" /a b", "/a b", "/v2/apps/a%20b"},
		{"/", "/", "/v2/apps/"},
	}
	for _, tt := range tests {
		if got := NormalizeID(tt.in); got != tt.norm {
			t.Errorf("NormalizeID(%q) = %q, want %q", tt.in, got, tt.norm)
		}
		if got := appPath(tt.in); got != tt.path {
			t.Errorf("appPath(%q) = %q, want %q", tt.in, got, tt.path)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := New(Config{BaseURL: bad}); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}
