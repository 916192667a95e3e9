package ui

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture is the API's answers the golden pages are rendered from.
type fixture struct {
	Apps        []apiclient.App        `json:"apps"`
	Queue       []apiclient.QueueEntry `json:"queue"`
	Deployments []apiclient.Deployment `json:"deployments"`
	Versions    []string               `json:"versions"`
	OldVersion  json.RawMessage        `json:"oldVersion"`
	Agents      []agentJSON            `json:"agents"`
	Info        infoJSON               `json:"info"`
	Routes      routesJSON             `json:"-"` // routesFixture
}

var fixedNow = time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)

func loadFixture(t *testing.T) fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	f.Routes = routesFixture(t) // lbsync's own types, not hand-written JSON
	return f
}

func testUI(t testing.TB) *UI {
	t.Helper()
	u, err := New(Config{API: http.NotFoundHandler(), Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test ./ui -update and review the diff):\n%s", name, path, got)
	}
}

// TestPagesGolden renders every page from the fixture's API answers.
func TestPagesGolden(t *testing.T) {
	f := loadFixture(t)
	u := testUI(t)
	web := f.Apps[0]
	var tasks []apiclient.Task
	for _, a := range f.Apps {
		tasks = append(tasks, a.Tasks...)
	}
	form := NewFormView(editable(web.Raw), nil, "form", nil, true)
	invalid := NewFormView(json.RawMessage(`{"id":"/bad","cmd":"x","cpus":-1}`), nil, "form",
		[]apiDetail{{Path: "/cpus", Errors: []string{"got -1.0, expected 0.0 or more"}},
			{Path: "/healthChecks(0)/path", Errors: []string{"must start with /"}},
			{Path: "/upgradeStrategy", Errors: []string{"not a field of this form"}}}, false)
	jsonMode := NewFormView(json.RawMessage(`{"id":"/bad","cpus":"lots"}`), nil, "json",
		[]apiDetail{{Path: "/cpus", Errors: []string{"error.expected.jsnumber"}}}, false)
	jobs, stat, queues := jobsFixture(t)
	tasksPage := TasksView(append(tasks, apiclient.Task{ID: "ct-extract.1767326400000.0.ef56", AppID: "chronos:extract",
		Host: "node-1", SlaveID: "a1", State: "TASK_RUNNING", StartedAt: ptr("2026-01-02T03:04:00.300Z")}), fixedNow)
	tasksPage.Ended = EndedView(EndedSources{State: masterStateFixture(t), Fails: []apiclient.TaskFailure{{AppID: "/shop/web",
		Host: "node-2", Message: "exited with code 1", State: "TASK_FAILED", TaskID: "shop_web.0",
		Timestamp: "2026-01-02T03:02:00.000Z", SlaveID: "a2"}}, Stats: map[string]jobStat{"extract": stat}}, fixedNow)
	sandbox := SandboxView("shop_web.1", &tasks[0], "stdout", []byte("hello <b>not bold</b>\nline 2\n"), 30, "", fixedNow)
	pages := []struct {
		name, page string
		data       pageData
	}{
		{"apps", "apps", ptr(AppsView(f.Apps, f.Queue, "", ""))},
		{"apps-filtered", "apps", ptr(AppsView(f.Apps, f.Queue, "shop", "team=shop"))},
		{"groups", "groups", ptr(GroupsView(f.Apps, f.Queue, &groupJSON{ID: "/", Groups: []groupJSON{
			{ID: "/shop", Dependencies: []string{"/db"}}, {ID: "/db"}}}))},
		{"app", "app", ptr(AppView(AppInputs{App: &web, Versions: f.Versions, Deployments: f.Deployments, Queue: f.Queue,
			DiffA: f.OldVersion, DiffB: web.Raw, DiffAVer: f.Versions[1], DiffBVer: f.Versions[0], Routes: &f.Routes}, fixedNow))},
		{"app-waiting", "app", ptr(AppView(AppInputs{App: &f.Apps[1], Versions: []string{f.Apps[1].Version},
			Deployments: f.Deployments, Queue: f.Queue, Retry: retryForm(url.Values{"retry": {"action=scale&instances=5"}})}, fixedNow))},
		{"form-edit", "form", &form},
		{"form-invalid", "form", &invalid},
		{"form-json", "form", &jsonMode},
		{"tasks", "tasks", &tasksPage},
		{"sandbox", "sandbox", &sandbox},
		{"agents", "agents", ptr(AgentsView(f.Agents, fixedNow))},
		{"cluster", "cluster", ptr(ClusterView(f.Info, fixedNow.Add(-90*time.Minute), &f.Routes, "", fixedNow))},
		{"routes", "routes", ptr(RoutesView(&f.Routes, true, "", fixedNow))},
		{"routes-unconfigured", "routes", ptr(RoutesView(nil, false, "", fixedNow))},
		{"deployments", "deployments", ptr(DeploymentsView(f.Deployments, f.Queue, fixedNow))},
		{"jobs", "jobs", ptr(JobsView(jobs, fixedNow))},
		{"queues", "queues", ptr(QueuesView(queues))},
		{"jobs-missing", "jobs", &JobsPage{Page: Page{Title: "Jobs", Nav: "jobs"}, Missing: missingJobs}},
		{"job", "job", ptr(JobView(jobs[0], jobs, JobRuns(stat, fixedNow), fixedNow))},
		{"jobform", "jobform", ptr(NewJobFormView(jobEditable(jobs[1].Raw), nil, "form", "", true))},
		{"jobform-invalid", "jobform", ptr(NewJobFormView(json.RawMessage(`{"name":"x","schedule":"every hour"}`), nil, "form",
			"Invalid schedule: every hour", false))},
		{"not-found", "error", ptr(ErrorView(404, "App '/nope' does not exist"))},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			buf, err := u.execute(p.page, p.data)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, p.name, buf.Bytes())
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestPortCountAndRanges(t *testing.T) {
	for _, tc := range []struct {
		in, ranges string
		n          int
	}{
		{"[31000-32000]", "31000–32000", 1001},
		{"[31001-31001, 31003-31003]", "31001, 31003", 2},
		{"[]", "", 0},
		{"", "", 0},
		{"[31000-31499, 32000-32000]", "31000–31499, 32000", 501},
		{"[9-1, x-y]", "9–1, x–y", 0}, // nonsense is shown as given, never counted
	} {
		if got := portCount(tc.in); got != tc.n {
			t.Errorf("portCount(%q) = %d, want %d", tc.in, got, tc.n)
		}
		if got := portRanges(tc.in); got != tc.ranges {
			t.Errorf("portRanges(%q) = %q, want %q", tc.in, got, tc.ranges)
		}
	}
}
