package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// cliCluster is a real `berth master` and a real `berth agent` (process
// containerizer only, so no Docker is needed) started from the built
// binary on free ports.
type cliCluster struct {
	t      *testing.T
	bin    string
	master string // http://127.0.0.1:port
	dir    string
}

// cliStartProc starts the binary in its own process group, logging to
// dir/name.log; cleanup stops it with SIGTERM (SIGKILL after 10 s).
func cliStartProc(t *testing.T, bin, dir, name string, args ...string) *os.File {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start berth %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
	})
	return logf
}

// cliStartMaster starts a master (extra flags appended) and waits for /ping.
func cliStartMaster(t *testing.T, extra ...string) *cliCluster {
	t.Helper()
	c := &cliCluster{t: t, bin: testenv.BerthBinary(t), dir: t.TempDir()}
	mport := testenv.FreePort(t)
	c.master = fmt.Sprintf("http://127.0.0.1:%d", mport)
	args := append([]string{"master", "--listen", fmt.Sprintf("127.0.0.1:%d", mport),
		"--work-dir", filepath.Join(c.dir, "master")}, extra...)
	cliStartProc(t, c.bin, c.dir, "master", args...)
	testenv.WaitFor(t, 20*time.Second, "the master answers /ping", func() error {
		resp, err := http.Get(c.master + "/ping")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return c
}

// cliStartCluster starts a master and one agent.
func cliStartCluster(t *testing.T) *cliCluster {
	t.Helper()
	c := cliStartMaster(t)
	aport := testenv.FreePort(t)
	cliStartProc(t, c.bin, c.dir, "agent", "agent", "--master", c.master,
		"--listen", fmt.Sprintf("127.0.0.1:%d", aport), "--work-dir", filepath.Join(c.dir, "agent"),
		"--containerizers", "process", "--consul", "", "--hostname", "cli-agent",
		"--resources", "cpus:4;mem:2048;disk:1000;ports:[39000-39100]")
	// Runs before the processes stop (cleanups run last-in first-out):
	// process tasks outlive their agent, so remove every app first.
	t.Cleanup(c.destroyAll)
	c.waitAgent(t)
	return c
}

// waitAgent waits until the master counts the cluster's one agent active.
func (c *cliCluster) waitAgent(t *testing.T) {
	t.Helper()
	testenv.WaitFor(t, 20*time.Second, "the agent registered with the master", func() error {
		var st struct {
			Active int `json:"activated_slaves"`
		}
		if err := c.getJSON("/master/state", &st); err != nil {
			return err
		}
		if st.Active != 1 {
			return fmt.Errorf("%d active agents:\n%s", st.Active, c.logs())
		}
		return nil
	})
}

func (c *cliCluster) logs() string {
	var b strings.Builder
	for _, n := range []string{"master", "agent"} {
		data, _ := os.ReadFile(filepath.Join(c.dir, n+".log"))
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "--- %s log ---\n%s\n", n, data)
	}
	return b.String()
}

func (c *cliCluster) getJSON(path string, v any) error {
	resp, err := http.Get(c.master + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// destroyAll deletes every app and waits until no task is left.
func (c *cliCluster) destroyAll() {
	var apps struct {
		Apps []struct {
			ID string `json:"id"`
		} `json:"apps"`
	}
	if c.getJSON("/v2/apps", &apps) != nil {
		return
	}
	for _, a := range apps.Apps {
		req, _ := http.NewRequest(http.MethodDelete, c.master+"/v2/apps"+a.ID+"?force=true", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	_ = testenv.Poll(20*time.Second, func() error {
		var tasks struct {
			Tasks []json.RawMessage `json:"tasks"`
		}
		if err := c.getJSON("/v2/tasks", &tasks); err != nil {
			return err
		}
		if len(tasks.Tasks) > 0 {
			return errors.New("tasks left")
		}
		return nil
	})
}

type cliRun struct {
	stdout, stderr string
	code           int
}

// run runs `berth args…` against the cluster's master (BERTH_MASTER).
func (c *cliCluster) run(args ...string) cliRun {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), "BERTH_MASTER="+c.master, "BERTH_CREDENTIALS=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliRun{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// expect runs berth and checks the exit code and that stdout+stderr
// contain every want.
func (c *cliCluster) expect(code int, args []string, want ...string) cliRun {
	c.t.Helper()
	r := c.run(args...)
	all := r.stdout + r.stderr
	if r.code != code {
		c.t.Fatalf("berth %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s\n%s",
			strings.Join(args, " "), r.code, code, r.stdout, r.stderr, c.logs())
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			c.t.Fatalf("berth %s: output lacks %q\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), w, r.stdout, r.stderr)
		}
	}
	return r
}

func (c *cliCluster) writeApp(name, def string) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func TestCliAgainstRealMaster(t *testing.T) {
	c := cliStartCluster(t)
	c.expect(0, []string{"leader"}, strings.TrimPrefix(c.master, "http://"))
	c.expect(0, []string{"apps"}, "no apps")

	web := c.writeApp("web.json", `{"id":"/cli/web","cmd":"sleep 120","instances":1,"cpus":0.1,"mem":16}`)
	c.expect(0, []string{"deploy", web}, "/cli/web: created, deployment ", "/cli/web: deployed in", "1/1 running")
	r := c.expect(0, []string{"apps"}, "ID", "RUNNING", "/cli/web")
	if !strings.Contains(r.stdout, "1/1") {
		t.Errorf("apps table lacks 1/1:\n%s", r.stdout)
	}
	c.expect(0, []string{"app", "cli/web"}, "ID:", "/cli/web", "Command:", "sleep 120", "RUNNING", "cli-agent:")

	c.expect(0, []string{"scale", "/cli/web", "3"}, "3/3 running")
	var ps struct {
		Tasks []struct {
			ID, AppID, State string
		} `json:"tasks"`
	}
	r = c.expect(0, []string{"ps", "--app", "/cli/web", "--json"})
	if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil || len(ps.Tasks) != 3 || ps.Tasks[0].State != "TASK_RUNNING" {
		t.Fatalf("ps --json = %s (%v)", r.stdout, err)
	}
	r = c.expect(0, []string{"ps"}, "HOST:PORTS", ps.Tasks[0].ID, "RUNNING")
	if n := strings.Count(r.stdout, "/cli/web"); n != 3 {
		t.Errorf("ps shows %d rows of /cli/web, want 3:\n%s", n, r.stdout)
	}

	// Deploying an existing app updates it (POST 409 → PUT) and the file
	// replaces the definition: instances go back to 1.
	r = c.expect(0, []string{"deploy", web, "--json"}, `"outcome": "success"`, `"running": 1`)
	if !strings.Contains(r.stderr, "/cli/web: updated, deployment") {
		t.Errorf("deploy of an existing app did not update it:\n%s", r.stderr)
	}
	c.expect(0, []string{"restart", "cli/web"}, "/cli/web: deployed in", "1/1 running")
	c.expect(0, []string{"explain", "/cli/web"}, "/cli/web: all 1 instances placed")
	c.expect(0, []string{"deployments"}, "no deployments running")

	// A one-off task: its final state and exit code.
	c.expect(0, []string{"execute", "--name", "cli-once", "--command", "echo hi"}, "FINISHED on cli-agent")
	c.expect(1, []string{"execute", "--name", "cli-fail", "--command", "exit 3"}, "FAILED")
	c.expect(1, []string{"app", "cli-once"}, "App '/cli-once' does not exist")

	// Unplaceable: the deployment times out with the placement explanation.
	big := c.writeApp("big.json", `{"id":"/cli/big","cmd":"sleep 1","instances":2,"cpus":0.1,"mem":16,
		"constraints":[["rack","CLUSTER","r9"]]}`)
	c.expect(1, []string{"deploy", big, "--timeout", "2s"}, "not done after", "placement:", "rack")
	c.expect(0, []string{"explain", "cli/big"}, "2 instance(s) not placed", "rack")
	c.expect(0, []string{"deployments"}, "/cli/big")
	c.expect(0, []string{"destroy", "cli/big"}, "/cli/big: destroyed")

	// A crashing app (its health check keeps the deployment from ever
	// completing): the report shows the last task failure and the backoff.
	crash := c.writeApp("crash.json", `{"id":"/cli/crash","cmd":"exit 7","instances":1,"cpus":0.1,"mem":16,
		"backoffSeconds":30,"healthChecks":[{"protocol":"TCP","portIndex":0,"gracePeriodSeconds":60}]}`)
	r = c.expect(1, []string{"deploy", crash, "--timeout", "2s"}, "not done after", "last task failure:", "FAILED", "placement:")
	t.Logf("crashing deploy:\n%s", r.stdout)
	c.expect(0, []string{"destroy", "cli/crash"}, "/cli/crash: destroyed")

	cliTestLogs(t, c)

	// Errors: the API's message, the 422 field path, non-zero exits.
	bad := c.writeApp("bad.json", `{"id":"/cli/bad","cmd":"x","cpus":-1}`)
	c.expect(1, []string{"deploy", bad}, "Object is not valid", "/cpus")
	c.expect(1, []string{"app", "/nope"}, "App '/nope' does not exist", "404")
	c.expect(1, []string{"scale", "/nope", "2"}, "does not exist")
	c.expect(2, []string{"scale", "/cli/web", "many"}, "want a number")

	c.expect(0, []string{"destroy", "/cli/web"}, "/cli/web: destroyed")
	c.expect(1, []string{"app", "/cli/web"}, "App '/cli/web' does not exist")
	c.expect(0, []string{"apps", "--json"}, `"apps": []`)

	closed := testenv.FreePort(t)
	c.expect(1, []string{"apps", "--master", fmt.Sprintf("127.0.0.1:%d", closed)}, "cannot reach the master")
}

func TestCliCredentials(t *testing.T) {
	c := cliStartMaster(t, "--http-credentials", "ops:s3cret")
	c.expect(1, []string{"apps"}, "Invalid username or password.", "401")
	c.expect(0, []string{"apps", "--http-credentials", "ops:s3cret"}, "no apps")
	c.expect(2, []string{"apps", "--http-credentials", "nocolon"}, "want user:pass")
}

// cliTestLogs reads a task's stdout and stderr through the master, and
// follows its stdout until Ctrl-C.
func cliTestLogs(t *testing.T, c *cliCluster) {
	talk := c.writeApp("talk.json", `{"id":"/cli/talk","instances":1,"cpus":0.1,"mem":16,
		"cmd":"echo err-line >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"}`)
	c.expect(0, []string{"deploy", talk}, "1/1 running")
	var ps struct {
		Tasks []struct{ ID string } `json:"tasks"`
	}
	r := c.expect(0, []string{"ps", "--app", "cli/talk", "--json"})
	if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil || len(ps.Tasks) != 1 {
		t.Fatalf("ps --json = %s (%v)", r.stdout, err)
	}
	task := ps.Tasks[0].ID
	testenv.WaitFor(t, 10*time.Second, "the task's output through berth logs", func() error {
		out, errOut := c.run("logs", task), c.run("logs", task, "--stderr")
		if out.code != 0 || !strings.Contains(out.stdout, "tick 1\n") || strings.Contains(out.stdout, "err-line") {
			return fmt.Errorf("stdout: exit %d %q %s", out.code, out.stdout, out.stderr)
		}
		if errOut.code != 0 || errOut.stdout != "err-line\n" {
			return fmt.Errorf("stderr: exit %d %q %s", errOut.code, errOut.stdout, errOut.stderr)
		}
		return nil
	})
	c.expect(1, []string{"logs", "cli_talk.nope"}, "Task 'cli_talk.nope' does not exist")

	// -f streams lines written after it started, until SIGINT (exit 0).
	cmd := exec.Command(c.bin, "logs", task, "-f")
	cmd.Env = append(os.Environ(), "BERTH_MASTER="+c.master)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(c.run("logs", task).stdout, "tick ")
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	want := fmt.Sprintf("tick %d", before+2)
	deadline := time.After(20 * time.Second)
	for found := false; !found; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("berth logs -f ended before %q", want)
			}
			found = l == want
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("berth logs -f did not show %q within 20s", want)
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("berth logs -f after SIGINT: %v, want exit 0", err)
	}
	c.expect(0, []string{"destroy", "cli/talk"}, "/cli/talk: destroyed")
}
