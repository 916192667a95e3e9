package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// cliScript is a fake master for the client's polling loops: each poll
// of GET /v2/deployments advances to the next scripted state; GET
// /v2/apps/{id} and /v2/queue answer the current one.
type cliScript struct {
	mu     sync.Mutex
	states []cliScriptState
	i      int
	logs   map[int64]string // offset → chunk for /v2/tasks/t.1/logs
}

type cliScriptState struct {
	deployments string // JSON array
	app         string // JSON object, "" = 404
	queue       string // JSON array of entries
}

func (s *cliScript) serve(t *testing.T) *apiclient.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/logs") {
			s.serveLogs(w, r)
			return
		}
		if r.URL.Path == "/v2/deployments" && s.i < len(s.states)-1 {
			s.i++
		}
		st := s.states[s.i]
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v2/deployments":
			fmt.Fprint(w, st.deployments)
		case r.URL.Path == "/v2/queue":
			fmt.Fprintf(w, `{"queue":%s}`, cliOr(st.queue, "[]"))
		case st.app == "":
			w.WriteHeader(404)
			fmt.Fprint(w, `{"message":"App '/web' does not exist"}`)
		default:
			fmt.Fprintf(w, `{"app":%s}`, st.app)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *cliScript) serveLogs(w http.ResponseWriter, r *http.Request) {
	off, _ := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if r.URL.Query().Get("stream") != "stderr" {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"message":"no stdout here"}`)
		return
	}
	chunk := s.logs[off]
	if r.URL.Query().Get("follow") == "true" {
		chunk = "followed\n"
	}
	w.Header().Set("X-Berth-Offset", strconv.FormatInt(off+int64(len(chunk)), 10))
	fmt.Fprint(w, chunk)
}

const cliDep = `[{"id":"d1","version":"v","affectedApps":["/web"],"steps":[],"currentActions":[{"action":"ScaleApplication","app":"/web"}],"currentStep":1,"totalSteps":1}]`

func TestCliWatch(t *testing.T) {
	app := func(n, running int) string {
		return fmt.Sprintf(`{"id":"/web","instances":%d,"tasksRunning":%d,"tasksStaged":0,"deployments":[]}`, n, running)
	}
	tests := []struct {
		name    string
		gone    bool
		timeout time.Duration
		states  []cliScriptState
		kind    cliOutcomeKind
		want    []string
	}{
		{"success", false, time.Minute, []cliScriptState{
			{cliDep, app(2, 0), ""}, {cliDep, app(2, 1), ""}, {`[]`, app(2, 2), ""}},
			cliOutcomeSuccess, []string{"/web: 0/2 running — ScaleApplication (step 1/1)", "/web: 1/2 running —", "/web: 2/2 running\n"}},
		{"one short read is not a failure", false, time.Minute, []cliScriptState{
			{cliDep, app(2, 1), ""}, {`[]`, app(2, 1), ""}, {`[]`, app(2, 2), ""}},
			cliOutcomeSuccess, nil},
		{"ended short twice fails", false, time.Minute, []cliScriptState{
			{cliDep, app(2, 1), ""}, {`[]`, app(2, 1), `[{"app":{"id":"/web"},"count":1,"explanation":"no agent has 9 cpus"}]`}},
			cliOutcomeFailed, nil},
		{"timeout explains", false, 300 * time.Millisecond, []cliScriptState{
			{cliDep, `{"id":"/web","instances":1,"tasksRunning":0,"lastTaskFailure":{"taskId":"web.1","state":"TASK_FAILED","message":"boom","host":"h","timestamp":"t"}}`,
				`[{"app":{"id":"/other"},"count":1,"explanation":"not this one"},{"app":{"id":"/web"},"count":1,"explanation":"no agent has 9 cpus"}]`}},
			cliOutcomeTimeout, []string{"/web: 0/1 running —"}},
		{"destroyed", true, time.Minute, []cliScriptState{
			{cliDep, app(2, 2), ""}, {cliDep, "", ""}, {`[]`, "", ""}},
			cliOutcomeSuccess, []string{"/web: removed — ScaleApplication"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &cliScript{states: append([]cliScriptState{tt.states[0]}, tt.states...), i: 0}
			c := s.serve(t)
			var progress strings.Builder
			out, err := cliWatch(context.Background(), c, cliWatchConfig{AppID: "/web", DeploymentID: "d1",
				Timeout: tt.timeout, Interval: 10 * time.Millisecond, Gone: tt.gone}, &progress)
			if err != nil {
				t.Fatal(err)
			}
			if out.Kind != tt.kind {
				t.Fatalf("outcome %q (%s), want %q; progress:\n%s", out.Kind, out.Reason, tt.kind, progress.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(progress.String(), w) {
					t.Errorf("progress lacks %q:\n%s", w, progress.String())
				}
			}
			if tt.kind != cliOutcomeSuccess && out.Explanation != "no agent has 9 cpus" {
				t.Errorf("explanation = %q", out.Explanation)
			}
			if tt.kind == cliOutcomeTimeout && !strings.Contains(out.report(), "last task failure: task web.1 FAILED on h at t: boom") {
				t.Errorf("report lacks the failure:\n%s", out.report())
			}
		})
	}
}

func TestCliWatchInterrupted(t *testing.T) {
	s := &cliScript{states: []cliScriptState{{cliDep, `{"id":"/web","instances":1}`, ""}}}
	c := s.serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := cliWatch(ctx, c, cliWatchConfig{AppID: "/web", DeploymentID: "d1", Timeout: time.Minute,
		Interval: 10 * time.Millisecond}, io.Discard)
	if err == nil {
		t.Fatal("an interrupted watch reported no error")
	}
}

func TestCliCopyLogs(t *testing.T) {
	s := &cliScript{states: []cliScriptState{{}}, logs: map[int64]string{0: "one\n", 4: "two\n"}}
	c := s.serve(t)
	var b strings.Builder
	if err := cliCopyLogs(context.Background(), c, "t.1", apiclient.LogOptions{Stream: "stderr"}, &b); err != nil {
		t.Fatal(err)
	}
	if b.String() != "one\ntwo\n" {
		t.Errorf("chunked logs = %q", b.String())
	}
	b.Reset()
	if err := cliCopyLogs(context.Background(), c, "t.1", apiclient.LogOptions{Stream: "stderr", Follow: true}, &b); err != nil {
		t.Fatal(err)
	}
	if b.String() != "followed\n" {
		t.Errorf("followed logs = %q", b.String())
	}
	err := cliCopyLogs(context.Background(), c, "t.1", apiclient.LogOptions{Stream: "stdout"}, &b)
	if !apiclient.IsNotFound(err) {
		t.Errorf("err = %v, want the 404", err)
	}
}
