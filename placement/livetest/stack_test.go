package livetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/oracle"
)

// proc is one berth process of a test, restartable with the same
// arguments (an agent keeps its id in its work dir).
type proc struct {
	t    testing.TB
	name string
	url  string
	dir  string
	args []string
	p    *os.Process
	done chan struct{}
}

func startProc(t testing.TB, name, dir, url string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, url: url, dir: dir, args: args}
	p.start()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s (%s) log, last part:\n%s", name, url, p.logTail())
		}
	})
	return p
}

func (p *proc) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	attr := &os.ProcAttr{Dir: p.dir, Files: []*os.File{nil, logf, logf},
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	bin := testenv.BerthBinary(p.t)
	pr, err := os.StartProcess(bin, append([]string{bin}, p.args...), attr)
	logf.Close()
	if err != nil {
		p.t.Fatalf("start berth %s: %v", p.name, err)
	}
	p.p, p.done = pr, make(chan struct{})
	done := p.done
	go func() { _, _ = pr.Wait(); close(done) }()
	testenv.WaitFor(p.t, 30*time.Second, p.name+" answers", func() error {
		res, err := http.Get(p.url + "/ping")
		if err != nil {
			return err
		}
		res.Body.Close()
		return nil
	})
}

func (p *proc) logPath() string { return filepath.Join(p.dir, p.name+".log") }

// kill is SIGKILL of the berth process only (an agent's tasks run in
// their own sessions and survive it, as on a machine whose agent died).
func (p *proc) kill() {
	_ = p.p.Kill()
	<-p.done
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath())
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath())
	return string(b)
}

// stack is one master and its agents.
type stack struct {
	t      testing.TB
	master *proc
	agents map[string]*agentProc
}

func newStack(t testing.TB, masterArgs ...string) *stack {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	args := append([]string{"master", "--listen", addr, "--work-dir", filepath.Join(dir, "state"),
		"--service-ports", "11000-11100"}, masterArgs...)
	s := &stack{t: t, agents: map[string]*agentProc{}}
	s.master = startProc(t, "master", dir, "http://"+addr, args...)
	return s
}

// agentProc is a real `berth agent` with its work dir.
type agentProc struct {
	*proc
	workDir string
}

// agent starts `berth agent --hostname name` (process containerizer
// unless extra says otherwise).
func (s *stack) agent(name string, extra ...string) *agentProc {
	t := s.t
	t.Helper()
	dir := t.TempDir()
	// Tasks with a `user` reach their sandbox through these (t.TempDir
	// makes them 0700).
	_ = os.Chmod(dir, 0o755)
	_ = os.Chmod(filepath.Dir(dir), 0o755)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	work := filepath.Join(dir, "work")
	lo := 31600 + 100*len(s.agents)
	a := &agentProc{workDir: work}
	t.Cleanup(a.killTasks) // runs after the agent stopped
	args := append([]string{"agent", "--master", s.master.url, "--listen", addr, "--hostname", name,
		"--advertise-ip", "127.0.0.1", "--work-dir", work, "--consul", "", "--containerizers", "process",
		"--resources", fmt.Sprintf("cpus:8;mem:8192;disk:10000;ports:[%d-%d]", lo, lo+99)}, extra...)
	a.proc = startProc(t, name, dir, "http://"+addr, args...)
	s.agents[name] = a
	return a
}

// taskProc is a process task as its agent recorded it.
type taskProc struct {
	TaskID    string `json:"taskId"`
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
	Exited    bool   `json:"exited"`
}

// live returns the agent's task processes running now, by task id.
func (a *agentProc) live() map[string]taskProc {
	out := map[string]taskProc{}
	files, _ := filepath.Glob(filepath.Join(a.workDir, "process", "*", "process.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		var tp taskProc
		if err != nil || json.Unmarshal(b, &tp) != nil || tp.PID <= 0 || tp.Exited {
			continue
		}
		if st, ok := procStart(tp.PID); ok && st == tp.StartTime {
			out[tp.TaskID] = tp
		}
	}
	return out
}

// sandbox is a process task's sandbox directory.
func (a *agentProc) sandbox(taskID string) string {
	return filepath.Join(a.workDir, "process", taskID, "sandbox")
}

func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" {
		return 0, false
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, err == nil
}

func (a *agentProc) killTasks() {
	for _, tp := range a.live() {
		_ = syscall.Kill(-tp.PID, syscall.SIGKILL)
	}
}

var client = &http.Client{Timeout: 20 * time.Second}

// call does one request; want > 0 checks the status.
func (s *stack) call(method, path, body string, want int) ([]byte, error) {
	_, b, err := s.callHeader(method, path, body, want)
	return b, err
}

// callHeader is call that also returns the response's header.
func (s *stack) callHeader(method, path, body string, want int) (http.Header, []byte, error) {
	req, err := http.NewRequest(method, s.master.url+path, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, err
	}
	if want > 0 && res.StatusCode != want {
		return res.Header, b, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	s.audit(method, path, res.StatusCode, b)
	return res.Header, b, nil
}

// audit checks every JSON answer with the Marathon oracle: the schemas
// (apps, tasks, groups) and the drift audit (timestamps, numbers).
func (s *stack) audit(method, path string, code int, b []byte) {
	sch, err := oracle.Load()
	if err != nil {
		s.t.Fatalf("oracle: %v", err)
	}
	for _, bad := range oracle.Check(sch, method, path, code, b) {
		s.t.Errorf("schema oracle: %s", bad)
	}
	var v any
	if code/100 != 2 || json.Unmarshal(b, &v) != nil {
		return
	}
	for _, bad := range oracle.Audit(v) {
		s.t.Errorf("%s %s: %s", method, path, bad)
	}
}

func (s *stack) must(method, path, body string, want int) []byte {
	s.t.Helper()
	b, err := s.call(method, path, body, want)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// task is the part of Marathon's task object the tests read.
type task struct {
	ID        string `json:"id"`
	Host      string `json:"host"`
	State     string `json:"state"`
	StartedAt string `json:"startedAt"`
	StagedAt  string `json:"stagedAt"`
}

func (s *stack) tasks(appID string) ([]task, error) {
	b, err := s.call("GET", "/v2/apps"+appID+"/tasks", "", 200)
	if err != nil {
		return nil, err
	}
	var out struct{ Tasks []task }
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

// waitTasks polls the app's tasks until ok accepts them.
func (s *stack) waitTasks(appID, what string, timeout time.Duration, ok func([]task) error) []task {
	s.t.Helper()
	var last []task
	testenv.WaitFor(s.t, timeout, appID+": "+what, func() error {
		ts, err := s.tasks(appID)
		if err != nil {
			return err
		}
		last = ts
		if err := ok(ts); err != nil {
			return fmt.Errorf("%w (tasks %+v)", err, ts)
		}
		return nil
	})
	return last
}

// running accepts exactly n tasks, all TASK_RUNNING.
func running(n int) func([]task) error {
	return func(ts []task) error {
		if len(ts) != n {
			return fmt.Errorf("%d tasks, want %d", len(ts), n)
		}
		for _, t := range ts {
			if t.State != "TASK_RUNNING" {
				return fmt.Errorf("task %s is %s", t.ID, t.State)
			}
		}
		return nil
	}
}

// noDeployments waits until no deployment runs.
func (s *stack) noDeployments() {
	s.t.Helper()
	testenv.WaitFor(s.t, 60*time.Second, "no deployment running", func() error {
		b, err := s.call("GET", "/v2/deployments", "", 200)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(b)) != "[]" {
			return fmt.Errorf("deployments: %s", b)
		}
		return nil
	})
}
