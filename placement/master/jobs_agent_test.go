package master_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs/service"
	"github.com/berth-platform/berth/placement/master"
)

// jobStack is a real master (embedded store) and a real agent with the
// process and Docker containerizers.
type jobStack struct {
	t       *testing.T
	url     string
	pr      *agent.ProcessRuntime
	agentID string
}

func startJobStack(t *testing.T, docker bool) *jobStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	port := testenv.FreePort(t)
	go func() {
		done <- master.Serve(ctx, master.ServerConfig{
			Listen: fmt.Sprintf("127.0.0.1:%d", port), WorkDir: filepath.Join(t.TempDir(), "master"),
			Ready:  func(a string) { addr <- a },
			Master: master.Config{AgentTimeout: 15 * time.Second, JobTick: 50 * time.Millisecond, JobRetryDelay: 200 * time.Millisecond},
		})
	}()
	s := &jobStack{t: t}
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("master: %v", err)
	}
	hm, err := agent.NewHTTPMaster(agent.HTTPMasterConfig{URL: s.url})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pr, err := agent.NewProcessRuntime(agent.ProcessConfig{Dir: filepath.Join(dir, "process")})
	if err != nil {
		t.Fatal(err)
	}
	s.pr = pr
	runtimes := map[string]agent.Runtime{agent.RuntimeProcess: pr}
	if docker {
		cli := testenv.Docker(t)
		testenv.Image(t, "berth/busybox")
		for _, j := range []string{"dock", "dock-b"} {
			testenv.CleanupContainers(t, cli, "berth.job", j)
		}
		runtimes[agent.RuntimeDocker] = agent.NewDockerRuntime(agent.DockerConfig{Client: cli})
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{Master: hm, MasterURL: s.url, Hostname: "job-agent", AdvertiseIP: "127.0.0.1",
		Listener: ln, Resources: wire.Resources{CPUs: 4, Mem: 4096, Disk: 4096}, WorkDir: dir, Runtimes: runtimes,
		ResyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(ctx) }()
	t.Cleanup(func() {
		_, _, _ = s.do("DELETE", "/scheduler/jobs", "")
		_ = testenv.Poll(20*time.Second, func() error { // the runs' tasks end with their jobs
			obs, err := pr.List(context.Background(), s.agentID)
			for _, o := range obs {
				if o.Running {
					return fmt.Errorf("%s still runs", o.TaskID)
				}
			}
			return err
		})
		cancel()
		<-done
		<-agentDone
	})
	testenv.WaitFor(t, 30*time.Second, "the agent to register", func() error {
		var out struct{ Slaves []struct{ ID string } }
		if err := s.get("/master/slaves", &out); err != nil {
			return err
		}
		if len(out.Slaves) != 1 {
			return fmt.Errorf("%d agents", len(out.Slaves))
		}
		s.agentID = out.Slaves[0].ID
		return nil
	})
	return s
}

func (s *jobStack) do(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (s *jobStack) must(code int, method, path, body string) []byte {
	s.t.Helper()
	c, b, err := s.do(method, path, body)
	if err != nil || c != code {
		s.t.Fatalf("%s %s = %d %s %v, want %d", method, path, c, b, err, code)
	}
	return b
}

func (s *jobStack) get(path string, out any) error {
	c, b, err := s.do("GET", path, "")
	if err != nil {
		return err
	}
	if c != 200 {
		return fmt.Errorf("GET %s: %d %s", path, c, b)
	}
	return json.Unmarshal(b, out)
}

func (s *jobStack) job(name string) service.JobView {
	s.t.Helper()
	var j service.JobView
	if err := s.get("/scheduler/job/"+name, &j); err != nil {
		s.t.Fatal(err)
	}
	return j
}

func (s *jobStack) stat(name string) service.Stat {
	s.t.Helper()
	var st service.Stat
	if err := s.get("/v1/scheduler/job/stat/"+name, &st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

// waitJob polls until the job is idle with the given counts.
func (s *jobStack) waitJob(name string, success, errors int) service.JobView {
	s.t.Helper()
	var j service.JobView
	testenv.WaitFor(s.t, 60*time.Second, fmt.Sprintf("%s: %d successes, %d errors, idle", name, success, errors), func() error {
		j = s.job(name)
		if j.SuccessCount != success || j.ErrorCount != errors || j.State != "idle" {
			return fmt.Errorf("successCount %d errorCount %d state %s", j.SuccessCount, j.ErrorCount, j.State)
		}
		return nil
	})
	return j
}

func soon(d time.Duration) string {
	return time.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z")
}

// TestJobsOnRealAgent: a process job runs on schedule (twice), by hand
// (with arguments), retries a failure, and a three-job chain runs in
// order, each with counters and history.
func TestJobsOnRealAgent(t *testing.T) {
	s := startJobStack(t, false)
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"tick","command":"echo run $CHRONOS_JOB_NAME $CHRONOS_JOB_RUN_ATTEMPT $mesos_task_id","schedule":"R2/`+soon(time.Second)+`/PT1S","cpus":"0.1","mem":"16"}`)
	j := s.waitJob("tick", 2, 0)
	if j.LastSuccess == "" || j.ErrorsSinceLastSuccess != 0 || j.NextDue != "" {
		t.Errorf("tick: %+v", j)
	}
	st := s.stat("tick")
	if len(st.History) != 2 || st.History[0].Status != "success" || st.History[0].Agent != "job-agent" ||
		!strings.HasPrefix(st.History[0].TaskID, "ct-tick.") || st.History[0].Started == "" || st.Histogram.Count != 2 {
		t.Errorf("tick history: %+v", st)
	}
	// by hand, with a failure and its retry
	s.must(204, "POST", "/v1/scheduler/iso8601", `{"name":"flaky","shell":false,"command":"/bin/sh","arguments":["-c","test \"$CHRONOS_JOB_RUN_ATTEMPT\" = 1"],"schedule":"R/2030-01-01T00:00:00Z/P1D","retries":"1"}`)
	s.must(204, "PUT", "/scheduler/job/flaky", "")
	j = s.waitJob("flaky", 1, 1)
	st = s.stat("flaky")
	if len(st.History) != 2 || st.History[1].Status != "failure" || st.History[1].Exit == nil || *st.History[1].Exit != 1 ||
		st.History[0].Attempt != 1 || !st.History[0].Manual {
		t.Errorf("flaky history: %+v", st.History)
	}
	// a three-job chain
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"c1","command":"sleep 0.2","schedule":"R1/`+soon(500*time.Millisecond)+`/PT1H"}`)
	s.must(204, "POST", "/scheduler/dependency", `{"name":"c2","command":"sleep 0.2","parents":["c1"]}`)
	s.must(204, "POST", "/scheduler/dependency", `{"name":"c3","command":"true","parents":["c2"]}`)
	s.waitJob("c3", 1, 0)
	prevEnd := ""
	for _, n := range []string{"c1", "c2", "c3"} {
		h := s.stat(n).History
		if len(h) != 1 || h[0].Status != "success" || h[0].Started < prevEnd {
			t.Errorf("%s ran out of order: %+v (previous ended %s)", n, h, prevEnd)
		}
		if len(h) == 1 {
			prevEnd = h[0].Ended
		}
	}
	// unplaceable: it waits with the placement core's explanation
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"nowhere","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D","constraints":[["rack","EQUALS","r9"]]}`)
	s.must(204, "PUT", "/scheduler/job/nowhere", "")
	testenv.WaitFor(t, 20*time.Second, "nowhere explained", func() error {
		in := s.stat("nowhere").Inflight
		if len(in) != 1 || in[0].State != "queued" || !strings.HasPrefix(in[0].Message, "unplaced 1 of 1") {
			return fmt.Errorf("inflight %+v", in)
		}
		return nil
	})
	if j := s.job("nowhere"); j.State != "queued" {
		t.Errorf("nowhere state %s", j.State)
	}
	s.must(204, "DELETE", "/scheduler/task/kill/nowhere", "")
	if j := s.job("nowhere"); j.State != "idle" {
		t.Errorf("nowhere after kill: %s", j.State)
	}
	var stats []map[string]any
	if err := s.get("/scheduler/stats/median", &stats); err != nil || len(stats) < 4 {
		t.Errorf("stats/median = %v %v", stats, err)
	}
}

// TestDockerJobOnRealAgent: the seed's job body (Chronos' container form,
// string numbers) on the local busybox image, run on schedule and by hand.
func TestDockerJobOnRealAgent(t *testing.T) {
	s := startJobStack(t, true)
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"dock","schedule":"R1/`+soon(time.Second)+`/PT24H","cpus":"0.3","mem":"32",
	 "container":{"type":"DOCKER","image":"berth/busybox","network":"HOST"},"uris":[],
	 "command":"echo $CHRONOS_JOB_NAME on $HOST; test -n \"$MESOS_TASK_ID\""}`)
	s.waitJob("dock", 1, 0)
	s.must(204, "PUT", "/scheduler/job/dock", "")
	s.waitJob("dock", 2, 0)
	h := s.stat("dock").History
	if len(h) != 2 || !h[0].Manual || h[1].Manual {
		t.Errorf("dock history: %+v", h)
	}
	// a chain process → Docker → process
	s.must(204, "POST", "/scheduler/iso8601", `{"name":"dock-a","command":"true","schedule":"R1/`+soon(500*time.Millisecond)+`/PT1H"}`)
	s.must(204, "POST", "/scheduler/dependency", `{"name":"dock-b","parents":["dock-a"],"container":{"type":"DOCKER","image":"berth/busybox"},"command":"test \"$CHRONOS_JOB_NAME\" = dock-b"}`)
	s.must(204, "POST", "/scheduler/dependency", `{"name":"dock-c","parents":["dock-b"],"command":"true"}`)
	s.waitJob("dock-c", 1, 0)
	if j := s.job("dock-b"); j.SuccessCount != 1 {
		t.Errorf("dock-b: %+v", j)
	}
}

// TestChronosListenAuth: the Chronos port asks for the master's
// credentials like the master's own address.
func TestChronosListenAuth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	chronos := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- master.Serve(ctx, master.ServerConfig{Listen: "127.0.0.1:0", WorkDir: t.TempDir(), ChronosListen: chronos,
			Ready: func(a string) { addr <- a }, Master: master.Config{Credentials: "ops:secret"}})
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-addr:
	case err := <-done:
		t.Fatal(err)
	}
	get := func(auth bool) int {
		req, _ := http.NewRequest("GET", "http://"+chronos+"/scheduler/jobs", nil)
		if auth {
			req.SetBasicAuth("ops", "secret")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := get(false); c != 401 {
		t.Errorf("without credentials: %d, want 401", c)
	}
	if c := get(true); c != 200 {
		t.Errorf("with credentials: %d, want 200", c)
	}
}
