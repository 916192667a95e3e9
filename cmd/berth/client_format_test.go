package main

import (
	"encoding/json"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

var cliNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func cliStr(s string) *string { return &s }

func TestCliAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{59*time.Second + 900*time.Millisecond, "59s"},
		{60 * time.Second, "1m"},
		{3*time.Minute + 12*time.Second, "3m12s"},
		{time.Hour, "1h"},
		{2*time.Hour + 5*time.Minute + 59*time.Second, "2h5m"},
		{24 * time.Hour, "1d"},
		{3*24*time.Hour + 4*time.Hour + 30*time.Minute, "3d4h"},
	}
	for _, tt := range tests {
		if got := cliAge(tt.d); got != tt.want {
			t.Errorf("cliAge(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := cliSince("2026-01-02T03:03:00.000Z", cliNow); got != "1m5s" {
		t.Errorf("cliSince = %q", got)
	}
	if got := cliSince("yesterday", cliNow); got != "?" {
		t.Errorf("cliSince(bad) = %q", got)
	}
	if got := cliSince("", cliNow); got != "-" {
		t.Errorf("cliSince(empty) = %q", got)
	}
}

func TestCliTaskRows(t *testing.T) {
	tasks := []apiclient.Task{
		{ID: "web.2", AppID: "/web", SlaveID: "a2", Host: "agent-2", Ports: []int{31001, 31002}, State: "TASK_RUNNING",
			StagedAt: "2026-01-02T03:00:00.000Z", StartedAt: cliStr("2026-01-02T03:04:00.000Z"),
			HealthCheckResults: []apiclient.HealthCheckResult{{Alive: true}, {Alive: false}}},
		{ID: "db.1", AppID: "/db", SlaveID: "a1", Host: "agent-1", State: "TASK_STAGING",
			StagedAt: "2026-01-02T02:04:05.000Z"},
		{ID: "web.1", AppID: "/web", Host: "agent-1", Ports: []int{31000}, State: "TASK_RUNNING",
			StagedAt: "2026-01-02T03:04:00.000Z", HealthCheckResults: []apiclient.HealthCheckResult{{Alive: true}}},
	}
	want := [][]string{
		{"db.1", "/db", "a1", "agent-1", "STAGING", "-", "1h"},
		{"web.1", "/web", "-", "agent-1:31000", "RUNNING", "healthy", "5s"},
		{"web.2", "/web", "a2", "agent-2:31001,31002", "RUNNING", "unhealthy", "5s"},
	}
	if got := cliTaskRows(tasks, cliNow); !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q\nwant   %q", got, want)
	}
	if tasks[0].ID != "web.2" {
		t.Error("cliTaskRows reordered its input")
	}
}

func TestCliTableAligns(t *testing.T) {
	var b strings.Builder
	cliTable(&b, []string{"ID", "STATE"}, [][]string{{"a-long-id", "RUNNING"}, {"b", "STAGING"}})
	want := "ID         STATE\na-long-id  RUNNING\nb          STAGING\n"
	if b.String() != want {
		t.Errorf("table =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestCliAppRows(t *testing.T) {
	hc := []json.RawMessage{json.RawMessage(`{"protocol":"HTTP"}`)}
	apps := []apiclient.App{
		{ID: "/web", Instances: 3, TasksRunning: 2, TasksHealthy: 1, CPUs: 0.25, Mem: 256, HealthChecks: hc,
			Container: &apiclient.Container{Type: "DOCKER", Docker: &apiclient.Docker{Image: "berth/hello"},
				PortMappings: []apiclient.PortMapping{{ContainerPort: 80, ServicePort: 10001}}},
			Deployments: []apiclient.DeploymentRef{{ID: "d"}}},
		{ID: "/batch", Instances: 1, TasksRunning: 1, CPUs: 1, Mem: 128, Cmd: "while sleep 10;\n do date -u +%T; done",
			PortDefinitions: []apiclient.PortDefinition{{Port: 10002}, {Port: 10003}}},
		{ID: "/legacy", Ports: []int{10005}, Args: []string{"a", "b"}, Container: &apiclient.Container{
			Docker: &apiclient.Docker{PortMappings: []apiclient.PortMapping{{ServicePort: 1}}}}},
	}
	want := [][]string{
		{"/batch", "1/1", "-", "1", "128", "10002,10003", "-", "while sleep 10; do date -u +%T; done"},
		{"/legacy", "0/0", "-", "0", "0", "10005", "-", "a b"},
		{"/web", "2/3", "1/3", "0.25", "256", "10001", "yes", "berth/hello"},
	}
	if got := cliAppRows(apps); !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q\nwant   %q", got, want)
	}
	long := &apiclient.App{Cmd: strings.Repeat("x", 50)}
	if got := cliWhat(long, 10); got != "xxxxxxxxx…" {
		t.Errorf("cliWhat cut = %q", got)
	}
	old := &apiclient.App{Container: &apiclient.Container{Docker: &apiclient.Docker{
		PortMappings: []apiclient.PortMapping{{ServicePort: 7}}}}}
	if got := old.ServicePorts(); !reflect.DeepEqual(got, []int{7}) {
		t.Errorf("docker.portMappings service ports = %v", got)
	}
}

func TestCliDeploymentRows(t *testing.T) {
	ds := []apiclient.Deployment{
		{ID: "d2", Version: "v2", AffectedApps: []string{"/a", "/b"}, CurrentStep: 1, TotalSteps: 2,
			CurrentActions: []apiclient.Action{{Action: "StartApplication", App: "/a"}, {Action: "StartApplication", App: "/b"}}},
		{ID: "d1", Version: "v1", AffectedApps: []string{"/c"}},
	}
	want := [][]string{
		{"d1", "v1", "/c", "-", "0/0"},
		{"d2", "v2", "/a,/b", "StartApplication /a; StartApplication /b", "1/2"},
	}
	if got := cliDeploymentRows(ds); !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q\nwant   %q", got, want)
	}
}

func TestCliProgressLine(t *testing.T) {
	hc := []json.RawMessage{json.RawMessage(`{}`)}
	d := &apiclient.Deployment{CurrentStep: 1, TotalSteps: 1,
		CurrentActions: []apiclient.Action{{Action: "RestartApplication", App: "/web"}}}
	tests := []struct {
		name string
		app  *apiclient.App
		d    *apiclient.Deployment
		want string
	}{
		{"removed", nil, nil, "/web: removed"},
		{"plain", &apiclient.App{Instances: 3, TasksRunning: 1, TasksStaged: 2}, nil, "/web: 1/3 running, 2 staged"},
		{"health", &apiclient.App{Instances: 3, TasksRunning: 3, TasksHealthy: 2, TasksUnhealthy: 1, HealthChecks: hc}, d,
			"/web: 3/3 running, 2/3 healthy, 1 unhealthy — RestartApplication (step 1/1)"},
		{"no actions", &apiclient.App{}, &apiclient.Deployment{CurrentStep: 0, TotalSteps: 1}, "/web: 0/0 running — waiting (step 0/1)"},
	}
	for _, tt := range tests {
		if got := cliProgressLine("/web", tt.app, tt.d); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCliJudge(t *testing.T) {
	hc := []json.RawMessage{json.RawMessage(`{}`)}
	dep := &apiclient.Deployment{ID: "d"}
	run := func(n, running, healthy int, checks bool) *apiclient.App {
		a := &apiclient.App{Instances: n, TasksRunning: running, TasksHealthy: healthy}
		if checks {
			a.HealthChecks = hc
		}
		return a
	}
	tests := []struct {
		name   string
		gone   bool
		o      cliObservation
		done   bool
		kind   cliOutcomeKind
		reason string
	}{
		{"deploying", false, cliObservation{App: run(3, 1, 0, false), Deployment: dep}, false, "", ""},
		{"app removed while deploying", false, cliObservation{Deployment: dep}, true, cliOutcomeFailed, "removed"},
		{"all running", false, cliObservation{App: run(3, 3, 0, false)}, true, cliOutcomeSuccess, ""},
		{"more running than wanted", false, cliObservation{App: run(1, 2, 0, false)}, true, cliOutcomeSuccess, ""},
		{"ended short", false, cliObservation{App: run(3, 2, 0, false)}, true, cliOutcomeFailed, "2/3 instances running (cancelled"},
		{"ended short, failing", false, cliObservation{App: &apiclient.App{Instances: 1, Version: "v2",
			LastTaskFailure: &apiclient.TaskFailure{Version: "v2"}}}, true, cliOutcomeFailed, "0/1 instances running (tasks of this version fail"},
		{"ended unhealthy", false, cliObservation{App: run(2, 2, 1, true)}, true, cliOutcomeFailed, "1/2 instances healthy"},
		{"healthy", false, cliObservation{App: run(2, 2, 2, true)}, true, cliOutcomeSuccess, ""},
		{"zero instances", false, cliObservation{App: run(0, 0, 0, true)}, true, cliOutcomeSuccess, ""},
		{"app vanished", false, cliObservation{}, true, cliOutcomeFailed, "no longer exists"},
		{"destroying", true, cliObservation{App: run(2, 1, 0, false), Deployment: dep}, false, "", ""},
		{"destroying, app gone first", true, cliObservation{Deployment: dep}, false, "", ""},
		{"destroyed", true, cliObservation{}, true, cliOutcomeSuccess, ""},
		{"destroy cancelled", true, cliObservation{App: run(2, 2, 0, false)}, true, cliOutcomeFailed, "still exists"},
	}
	for _, tt := range tests {
		v := cliJudge(cliWatchConfig{AppID: "/web", Gone: tt.gone}, tt.o)
		if v.Done != tt.done || v.Kind != tt.kind || !strings.Contains(v.Reason, tt.reason) {
			t.Errorf("%s: %+v, want done=%v kind=%q reason~%q", tt.name, v, tt.done, tt.kind, tt.reason)
		}
	}
}

func TestCliOutcomeReport(t *testing.T) {
	app := &apiclient.App{Instances: 2, TasksRunning: 1, LastTaskFailure: &apiclient.TaskFailure{
		TaskID: "web.1", State: "TASK_FAILED", Host: "agent-2", Timestamp: "ts", Message: "exited with code 3"}}
	tests := []struct {
		name string
		o    cliOutcome
		want string
	}{
		{"deployed", cliOutcome{Kind: cliOutcomeSuccess, AppID: "/web", App: &apiclient.App{Instances: 1, TasksRunning: 1},
			Elapsed: 1234 * time.Millisecond}, "/web: deployed in 1.2s — 1/1 running\n"},
		{"destroyed", cliOutcome{Kind: cliOutcomeSuccess, AppID: "/web", Gone: true, Elapsed: time.Second},
			"/web: destroyed (1s)\n"},
		{"timeout", cliOutcome{Kind: cliOutcomeTimeout, AppID: "/web", DeploymentID: "d", App: app,
			Explanation: "unplaced 1 of 2: no agent with 4 cpus", Elapsed: 5 * time.Second},
			"/web: deployment d not done after 5s; it goes on on the master\n" +
				"  now: /web: 1/2 running\n" +
				"  last task failure: task web.1 FAILED on agent-2 at ts: exited with code 3\n" +
				"  placement: unplaced 1 of 2: no agent with 4 cpus\n"},
		{"failed", cliOutcome{Kind: cliOutcomeFailed, AppID: "/web", Reason: "the app no longer exists"},
			"/web: deployment - failed: the app no longer exists\n"},
	}
	for _, tt := range tests {
		if got := tt.o.report(); got != tt.want {
			t.Errorf("%s:\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
	j := cliOutcome{Kind: cliOutcomeTimeout, AppID: "/web", App: app}.json()
	if j.Outcome != "timeout" || j.Instances != 2 || j.Running != 1 || j.LastTaskFailure == nil {
		t.Errorf("json = %+v", j)
	}
}

func TestCliExplain(t *testing.T) {
	app := &apiclient.App{ID: "/web", Instances: 3}
	if got := cliExplainText(app, nil); got != "/web: all 3 instances placed\n" {
		t.Errorf("placed: %q", got)
	}
	e := &apiclient.QueueEntry{App: apiclient.App{ID: "/web"}, Count: 2,
		Explanation: "unplaced 2 of 3: rack CLUSTER r9 not matched on 3 agents",
		ProcessedOffersSummary: apiclient.OffersSummary{RejectSummaryLastOffers: []apiclient.RejectReason{
			{Reason: "rack CLUSTER r9 not matched", Declined: 3, Processed: 3}}}}
	want := "/web: 2 instance(s) not placed yet\n" +
		"  unplaced 2 of 3: rack CLUSTER r9 not matched on 3 agents\n\n" +
		"  REASON                       DECLINED  OF AGENTS\n" +
		"  rack CLUSTER r9 not matched  3         3\n"
	if got := cliExplainText(app, e); got != want {
		t.Errorf("queued:\n%s\nwant\n%s", got, want)
	}
	tests := []struct {
		e    apiclient.QueueEntry
		want string
	}{
		{apiclient.QueueEntry{Explanation: "x"}, "x"},
		{apiclient.QueueEntry{Delay: apiclient.QueueDelay{TimeLeftSeconds: 7}}, "launch delayed by backoff for 7s more"},
		{apiclient.QueueEntry{ProcessedOffersSummary: apiclient.OffersSummary{RejectSummaryLastOffers: []apiclient.RejectReason{
			{Reason: "InsufficientCpus", Declined: 2, Processed: 3}, {Reason: "InsufficientMemory", Declined: 0, Processed: 3}}}},
			"rejected: InsufficientCpus (2 of 3 agents)"},
		{apiclient.QueueEntry{Count: 4}, "4 instance(s) waiting for a placement attempt"},
	}
	for _, tt := range tests {
		if got := cliEntryExplanation(&tt.e); got != tt.want {
			t.Errorf("cliEntryExplanation = %q, want %q", got, tt.want)
		}
	}
}

func TestCliAppDetail(t *testing.T) {
	a := &apiclient.App{ID: "/web", Version: "v1", Instances: 1, TasksRunning: 1, CPUs: 0.5, Mem: 64, Cmd: "serve",
		Ports: []int{10001}, Constraints: [][]string{{"hostname", "UNIQUE"}}, Labels: map[string]string{"b": "2", "a": "1"},
		Deployments:     []apiclient.DeploymentRef{{ID: "d1"}},
		LastTaskFailure: &apiclient.TaskFailure{TaskID: "web.0", State: "TASK_FAILED", Host: "h", Timestamp: "t"},
		Tasks: []apiclient.Task{{ID: "web.1", AppID: "/web", SlaveID: "a1", Host: "h", Ports: []int{31000},
			State: "TASK_RUNNING", StagedAt: "2026-01-02T03:04:00.000Z"}}}
	want := `ID:             /web
Version:        v1
Instances:      1/1 running
Resources:      cpus 0.5, mem 64 MiB, disk 0 MiB
Command:        serve
Service ports:  10001
Constraints:    hostname UNIQUE
Labels:         a=1, b=2
Deployments:    d1
Last failure:   task web.0 FAILED on h at t: (no message)

ID     APP   AGENT  HOST:PORTS  STATE    HEALTH  AGE
web.1  /web  a1     h:31000     RUNNING  -       5s
`
	if got := cliAppDetail(a, cliNow); got != want {
		t.Errorf("detail:\n%s\nwant\n%s", got, want)
	}
}

func TestCliFormatError(t *testing.T) {
	e422 := &apiclient.Error{Method: "POST", Path: "/v2/apps", Status: 422, Message: "Object is not valid",
		Details: []apiclient.Detail{{Path: "/cpus", Errors: []string{"got -1.0, expected 0.0 or more"}},
			{Path: "/id", Errors: []string{"a", "b"}}}}
	want := "berth deploy: Object is not valid (HTTP 422 from POST /v2/apps)\n" +
		"  /cpus: got -1.0, expected 0.0 or more\n  /id: a; b\n"
	if got := cliFormatError("berth deploy", e422); got != want {
		t.Errorf("422:\n%s\nwant\n%s", got, want)
	}
	e409 := &apiclient.Error{Method: "PUT", Path: "/v2/apps/web", Status: 409, Message: "App is locked",
		Deployments: []apiclient.DeploymentRef{{ID: "d-9"}}}
	if got := cliFormatError("berth scale", e409); !strings.Contains(got, "locked by deployment d-9") {
		t.Errorf("409: %q", got)
	}
	if got := cliFormatError("berth apps", errors.New("boom")); got != "berth apps: boom\n" {
		t.Errorf("plain: %q", got)
	}
}

func TestCliParse(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		json bool
		n    int
	}{
		{[]string{"web", "3"}, []string{"web", "3"}, false, 0},
		{[]string{"--json", "web", "--n", "4", "3"}, []string{"web", "3"}, true, 4},
		{[]string{"web", "--json", "3"}, []string{"web", "3"}, true, 0},
		{[]string{"web", "--", "--json"}, []string{"web", "--json"}, false, 0},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		j := fs.Bool("json", false, "")
		n := fs.Int("n", 0, "")
		pos, err := cliParse(fs, tt.args)
		if err != nil || !reflect.DeepEqual(pos, tt.pos) || *j != tt.json || *n != tt.n {
			t.Errorf("cliParse(%q) = %q, json=%v n=%d, %v", tt.args, pos, *j, *n, err)
		}
	}
}

func TestCliFlagsConfig(t *testing.T) {
	tests := []struct {
		f       cliFlags
		url     string
		user    string
		wantErr bool
	}{
		{cliFlags{master: "127.0.0.1:8080"}, "http://127.0.0.1:8080", "", false},
		{cliFlags{master: "https://m:8443", credentials: "ops:a:b"}, "https://m:8443", "ops", false},
		{cliFlags{master: "http://m", credentials: "nopass"}, "", "", true},
		{cliFlags{master: "ftp://m"}, "", "", true},
	}
	for _, tt := range tests {
		cfg, err := tt.f.config()
		if (err != nil) != tt.wantErr || (!tt.wantErr && (cfg.BaseURL != tt.url || cfg.Username != tt.user)) {
			t.Errorf("config(%+v) = %+v, %v", tt.f, cfg, err)
		}
	}
}

func TestCliAppIDAndExecuteApp(t *testing.T) {
	if id, err := cliAppID([]byte(`{"id":"shop/web","cmd":"x"}`)); err != nil || id != "/shop/web" {
		t.Errorf("cliAppID = %q, %v", id, err)
	}
	for _, bad := range []string{`[]`, `{"cmd":"x"}`, `nope`} {
		if _, err := cliAppID([]byte(bad)); err == nil {
			t.Errorf("cliAppID(%s) accepted", bad)
		}
	}
	b, err := cliExecuteApp(cliExecuteOpts{name: "once", command: "echo hi", image: "berth/busybox", cpus: 0.1, mem: 32})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"backoffSeconds":300,"cmd":"echo hi","container":{"docker":{"image":"berth/busybox"},"type":"DOCKER"},` +
		`"cpus":0.1,"id":"/once","instances":1,"labels":{"berth.execute":"true"},"maxLaunchDelaySeconds":300,` +
		`"mem":32,"portDefinitions":[]}`
	if string(b) != want {
		t.Errorf("execute app = %s\nwant %s", b, want)
	}
	for _, o := range []cliExecuteOpts{{command: "x", cpus: 1, mem: 1}, {name: "x", cpus: 1, mem: 1}, {name: "x", command: "y"}} {
		if o.validate() == nil {
			t.Errorf("validate(%+v) accepted", o)
		}
	}
}

func TestCliExecuteStep(t *testing.T) {
	seen := map[string]string{}
	app := &apiclient.App{ID: "/once", Tasks: []apiclient.Task{{ID: "once.1", Host: "h", State: "TASK_STAGING"}}}
	lines, res := cliExecuteStep(app, seen)
	if !reflect.DeepEqual(lines, []string{"task once.1 STAGING on h"}) || res != nil {
		t.Fatalf("staging: %q %+v", lines, res)
	}
	if lines, res = cliExecuteStep(app, seen); len(lines) != 0 || res != nil {
		t.Fatalf("unchanged: %q %+v", lines, res)
	}
	app.Tasks = nil
	app.LastTaskFailure = &apiclient.TaskFailure{TaskID: "once.1", State: "TASK_FINISHED", Host: "h", Message: "exited with code 0"}
	_, res = cliExecuteStep(app, seen)
	if res == nil || res.State != "TASK_FINISHED" || res.text() != "task once.1 FINISHED on h: exited with code 0\n" {
		t.Fatalf("finished: %+v", res)
	}
	app.LastTaskFailure = nil
	_, res = cliExecuteStep(app, seen)
	if res == nil || res.State != "TASK_UNKNOWN" || res.TaskID != "once.1" {
		t.Fatalf("vanished: %+v", res)
	}
	to := cliExecuteResult{App: "/once", State: "TIMEOUT", Explanation: "no agent"}
	if got := to.text(); got != "/once: the task did not end in time\n  placement: no agent\n" {
		t.Errorf("timeout text = %q", got)
	}
}
