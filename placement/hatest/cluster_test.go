package hatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election/failover"
)

// proc is one berth process of a test.
type proc struct {
	name string
	url  string // http://host:port of its API
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startProc starts `berth args…` with its output in dir/<name>.log; the
// test's cleanup stops it (SIGTERM, then SIGKILL).
func startProc(t testing.TB, name, dir, url string, args ...string) *proc {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.BerthBinary(t), args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start berth %s: %v", name, err)
	}
	p := &proc{name: name, url: url, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s (%s) log, last part:\n%s", name, url, p.logTail())
		}
	})
	return p
}

// kill is SIGKILL, waited for.
func (p *proc) kill() error {
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.done
	return nil
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.kill()
	}
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, p.name+".log"))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// cluster is ZooKeeper plus the masters sharing one root.
type cluster struct {
	t       testing.TB
	zk      *testenv.ZooKeeper
	zkURL   string
	session time.Duration
	masters []*proc
	n       int
}

func newCluster(t testing.TB, masters int, session time.Duration) *cluster {
	z := testenv.StartZooKeeper(t)
	c := &cluster{t: t, zk: z, session: session,
		zkURL: fmt.Sprintf("zk://%s/berth-%d", z.Addr, time.Now().UnixNano())}
	for range masters {
		c.masters = append(c.masters, c.startMaster())
	}
	return c
}

// startMaster starts one more `berth master --zk` on a free port.
func (c *cluster) startMaster() *proc {
	c.n++
	name := fmt.Sprintf("master-%d", c.n)
	dir := c.t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(c.t))
	return startProc(c.t, name, dir, "http://"+addr, "master", "--listen", addr,
		"--work-dir", filepath.Join(dir, "state"), "--zk", c.zkURL,
		"--zk-session-timeout", c.session.String(), "--service-ports", "10000-10100")
}

func (c *cluster) urls() []string {
	var out []string
	for _, m := range c.masters {
		out = append(out, m.url)
	}
	return out
}

// leader waits until every master names the same leader and returns it.
func (c *cluster) leader() *proc {
	var url string
	testenv.WaitFor(c.t, 60*time.Second, "the masters agree on a leader", func() (err error) {
		url, err = failover.Leader(context.Background(), http.DefaultClient, c.urls())
		if err != nil {
			return err
		}
		// The leader also serves (its term has loaded the state).
		_, _, err = call(http.MethodGet, url+"/v2/apps", "", 200)
		return err
	})
	for _, m := range c.masters {
		if m.url == url {
			return m
		}
	}
	c.t.Fatalf("leader %s is none of %v", url, c.urls())
	return nil
}

// without returns the masters other than p.
func (c *cluster) without(p *proc) []*proc {
	var out []*proc
	for _, m := range c.masters {
		if m != p {
			out = append(out, m)
		}
	}
	return out
}

var client = &http.Client{Timeout: 20 * time.Second}

// call does one request and checks the status (when want > 0).
func call(method, url, body string, want int) (int, []byte, error) {
	return callCtx(context.Background(), method, url, body, want)
}

func callCtx(ctx context.Context, method, url, body string, want int) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	if want > 0 && res.StatusCode != want {
		return res.StatusCode, b, fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, bytes.TrimSpace(b))
	}
	return res.StatusCode, b, nil
}

// getJSON GETs url into out, failing the test on any error.
func getJSON(t testing.TB, url string, out any) {
	t.Helper()
	_, b, err := call(http.MethodGet, url, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// agentProc is a real `berth agent` following the leader through
// ZooKeeper, with the process containerizer.
type agentProc struct {
	*proc
	workDir string
}

func startAgent(t testing.TB, c *cluster, hostname string) *agentProc {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	work := filepath.Join(dir, "work")
	a := &agentProc{workDir: work}
	// Registered first, so it runs after the agent is stopped: the tasks
	// (own sessions, they outlive the agent by design) are killed too.
	t.Cleanup(a.killTasks)
	a.proc = startProc(t, hostname, dir, "http://"+addr, "agent", "--master", c.zkURL,
		"--listen", addr, "--hostname", hostname, "--advertise-ip", "127.0.0.1", "--work-dir", work,
		"--containerizers", "process", "--consul", "",
		"--resources", "cpus:16;mem:16384;disk:10000;ports:[31000-31500]")
	return a
}

// taskProc is a task process as the agent recorded it.
type taskProc struct {
	TaskID    string `json:"taskId"`
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
	Exited    bool   `json:"exited"`
}

// live returns the task processes that are running now, by task id.
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

// launched returns the id of every task the agent ever launched (its
// records stay, exited or not, for the agent's retention period).
func (a *agentProc) launched() map[string]bool {
	out := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(a.workDir, "process", "*", "process.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		var tp taskProc
		if err == nil && json.Unmarshal(b, &tp) == nil && tp.TaskID != "" {
			out[tp.TaskID] = true
		}
	}
	return out
}

// procStart reads a live (not zombie) process's start time.
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

// killTasks kills every task process group the agent started.
func (a *agentProc) killTasks() {
	for _, tp := range a.live() {
		_ = syscall.Kill(-tp.PID, syscall.SIGKILL)
	}
}
