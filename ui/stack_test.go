package ui_test

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/master"
)

// stack is a real master (embedded store, with the UI mounted as berth
// master serves it) and a real agent running tasks as processes.
type stack struct {
	t testing.TB
	// pr is the agent's process runtime (nil without an agent).
	pr   *agent.ProcessRuntime
	url  string // http://127.0.0.1:port
	user string // "user:pass" when the master wants credentials
	// agentID is the agent's id once known (for the cleanup).
	agentID string
}

type stackOpts struct {
	credentials string
	routesURL   string
	noAgent     bool
	// docker adds the Docker containerizer to the agent.
	docker bool
	// jobQueues is the job service's capacity-queue tree (nil: one
	// default queue).
	jobQueues *jobs.Tree
}

func startStack(t testing.TB, opts stackOpts) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	port := testenv.FreePort(t)
	go func() {
		done <- master.Serve(ctx, master.ServerConfig{
			Listen: fmt.Sprintf("127.0.0.1:%d", port), WorkDir: filepath.Join(t.TempDir(), "master"),
			UIRoutesURL: opts.routesURL, Ready: func(a string) { addr <- a },
			Master: master.Config{AgentTimeout: 15 * time.Second, Credentials: opts.credentials, JobQueues: opts.jobQueues},
		})
	}()
	s := &stack{t: t, user: opts.credentials}
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("master: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("master did not start in 30s")
	}
	var agentDone chan error
	if !opts.noAgent {
		agentDone = s.startAgent(ctx, opts.docker)
	}
	t.Cleanup(func() {
		s.removeAll()
		cancel()
		<-done
		if agentDone != nil {
			<-agentDone
		}
		s.stopLeftovers()
	})
	return s
}

// startAgent runs an agent with the process containerizer and a few
// free host ports.
func (s *stack) startAgent(ctx context.Context, docker bool) chan error {
	t := s.t
	t.Helper()
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
	var ports []wire.PortRange
	for range 6 {
		p := testenv.FreePort(t)
		ports = append(ports, wire.PortRange{Begin: p, End: p})
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	runtimes := map[string]agent.Runtime{agent.RuntimeProcess: pr}
	if docker {
		runtimes[agent.RuntimeDocker] = agent.NewDockerRuntime(agent.DockerConfig{Client: testenv.Docker(t)})
	}
	a, err := agent.New(agent.Config{Master: hm, MasterURL: s.url, Hostname: "ui-agent", AdvertiseIP: "127.0.0.1",
		Listener: ln, Attributes: map[string]string{"rack": "r1"},
		Resources: wire.Resources{CPUs: 4, Mem: 4096, Disk: 4096, Ports: ports},
		WorkDir:   dir, Runtimes: runtimes, ResyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	s.waitFor("the agent to register", 30*time.Second, func() (bool, error) {
		var out struct {
			Slaves []struct {
				ID string `json:"id"`
			} `json:"slaves"`
		}
		err := s.getJSON("/master/slaves", &out)
		if len(out.Slaves) == 1 {
			s.agentID = out.Slaves[0].ID
		}
		return len(out.Slaves) == 1, err
	})
	return done
}

// do calls the master's API (with the stack's credentials).
func (s *stack) do(method, path, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if u, p, ok := strings.Cut(s.user, ":"); ok {
		req.SetBasicAuth(u, p)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (s *stack) getJSON(path string, out any) error {
	code, b, err := s.do(http.MethodGet, path, "")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, code, b)
	}
	return json.Unmarshal(b, out)
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func (s *stack) waitFor(what string, timeout time.Duration, cond func() (bool, error)) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok && err == nil {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, last)
}

// removeAll destroys every app and waits (bounded) for its tasks to end,
// so no process outlives the test.
func (s *stack) removeAll() {
	var apps struct {
		Apps []struct {
			ID string `json:"id"`
		} `json:"apps"`
	}
	if s.getJSON("/v2/apps", &apps) != nil {
		return
	}
	for _, a := range apps.Apps {
		_, _, _ = s.do(http.MethodDelete, "/v2/apps"+a.ID+"?force=true", "")
	}
	_, _, _ = s.do(http.MethodDelete, "/scheduler/jobs", "") // kills the runs in flight
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var tasks struct {
			Tasks []json.RawMessage `json:"tasks"`
		}
		if err := s.getJSON("/v2/tasks", &tasks); err == nil && len(tasks.Tasks) == 0 && len(s.running()) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Log("cleanup: tasks still listed or running 30s after destroying every app")
}

// running is what the agent's process runtime still runs.
func (s *stack) running() []agent.Observed {
	if s.pr == nil {
		return nil
	}
	var slaves struct {
		Slaves []struct {
			ID string `json:"id"`
		} `json:"slaves"`
	}
	if s.getJSON("/master/slaves", &slaves) != nil || len(slaves.Slaves) == 0 {
		return nil
	}
	s.agentID = slaves.Slaves[0].ID
	return s.runningOf(s.agentID)
}

func (s *stack) runningOf(agentID string) []agent.Observed {
	obs, err := s.pr.List(context.Background(), agentID)
	if err != nil {
		return nil
	}
	var out []agent.Observed
	for _, o := range obs {
		if o.Running {
			out = append(out, o)
		}
	}
	return out
}

// stopLeftovers stops, after the agent ended, any process it still had
// running, so no task outlives the test even when the test failed midway.
func (s *stack) stopLeftovers() {
	if s.pr == nil || s.agentID == "" {
		return
	}
	for _, o := range s.runningOf(s.agentID) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.pr.Stop(ctx, o, time.Second); err != nil {
			s.t.Logf("cleanup: stop %s: %v", o.TaskID, err)
		}
		cancel()
	}
}

var errNotYet = errors.New("not yet")
