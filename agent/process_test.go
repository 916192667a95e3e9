package agent

import (
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

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

func processSpec(id, cmd string) wire.TaskSpec {
	return wire.TaskSpec{
		TaskID: id, AppID: "/test/" + strings.Split(id, ".")[0], AppVersion: "v1", Cmd: cmd,
		Resources:              wire.Resources{CPUs: 0.1, Mem: 32},
		Ports:                  []wire.TaskPort{{Index: 0, Name: "http", HostPort: 31777, ServicePort: 10001}},
		Env:                    map[string]string{"GREETING": "hi"},
		KillGracePeriodSeconds: 2,
	}
}

func pidOf(t testing.TB, runtimeID string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.Split(runtimeID, ":")[0])
	if err != nil {
		t.Fatalf("runtime id %q: %v", runtimeID, err)
	}
	return pid
}

func TestProcessTaskEnvLogsAndKill(t *testing.T) {
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: processRuntimes(t)})
	spec := processSpec("web.p1", `echo "port=$PORT0 named=$PORT_HTTP app=$MARATHON_APP_ID task=$MESOS_TASK_ID greet=$GREETING sandbox=$MESOS_SANDBOX"; echo oops >&2; exec sleep 60`)
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	run := m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	if run.Host != "node-test" || len(run.HostPorts) != 1 || run.HostPorts[0] != 31777 {
		t.Errorf("running status %+v", run)
	}
	var out string
	waitFor(t, 5*time.Second, "stdout through the agent API", func() error {
		var err error
		out, _, err = h.logs(spec.TaskID, "stdout", 0)
		if err == nil && !strings.Contains(out, "port=") {
			err = fmt.Errorf("stdout %q", out)
		}
		return err
	})
	sandbox := filepath.Join(h.dir, "process", spec.TaskID, "sandbox")
	want := "port=31777 named=31777 app=/test/web task=web.p1 greet=hi sandbox=" + sandbox
	if strings.TrimSpace(out) != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	errOut, next, err := h.logs(spec.TaskID, "stderr", 0)
	if err != nil || errOut != "oops\n" || next != 5 {
		t.Errorf("stderr = %q next=%d err=%v", errOut, next, err)
	}
	tail, _, err := h.logs(spec.TaskID, "stderr", 2)
	if err != nil || tail != "ps\n" {
		t.Errorf("stderr from offset 2 = %q, %v", tail, err)
	}

	pid := pidOf(t, h.a.observedID(spec.TaskID))
	m.SetDesired(h.a.ID(), nil)
	killed := m.WaitState(t, spec.TaskID, wire.TaskKilled, 10*time.Second)
	if killed.ExitCode == nil || *killed.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("killed status %+v, want exit code 143 (SIGTERM)", killed)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("pid %d still exists after TASK_KILLED", pid)
	}
	var states []string
	for _, u := range m.Updates(spec.TaskID) {
		states = append(states, u.State)
	}
	if got := strings.Join(states, ","); got != "TASK_STAGING,TASK_STARTING,TASK_RUNNING,TASK_KILLING,TASK_KILLED" {
		t.Errorf("states = %s", got)
	}
}

func TestProcessExitCodes(t *testing.T) {
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: processRuntimes(t)})
	ok, bad, noCmd := processSpec("ok.1", "true"), processSpec("bad.1", "exit 3"), processSpec("nocmd.1", "")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{ok, bad, noCmd})
	fin := m.WaitState(t, ok.TaskID, wire.TaskFinished, 10*time.Second)
	if fin.ExitCode == nil || *fin.ExitCode != 0 {
		t.Errorf("finished %+v", fin)
	}
	failed := m.WaitState(t, bad.TaskID, wire.TaskFailed, 10*time.Second)
	if failed.ExitCode == nil || *failed.ExitCode != 3 || !strings.Contains(failed.Message, "exited with code 3") {
		t.Errorf("failed %+v", failed)
	}
	nc := m.WaitState(t, noCmd.TaskID, wire.TaskFailed, 10*time.Second)
	if !strings.Contains(nc.Message, "neither cmd nor args") {
		t.Errorf("no-cmd task message %q", nc.Message)
	}
	docker := processSpec("dock.1", "true")
	docker.Container = &wire.Container{Type: "DOCKER", Image: "berth/hello", Network: "HOST"}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{ok, bad, noCmd, docker})
	d := m.WaitState(t, docker.TaskID, wire.TaskFailed, 10*time.Second)
	if !strings.Contains(d.Message, "docker containerizer is not enabled") {
		t.Errorf("docker-on-process-only message %q", d.Message)
	}
}

func TestAgentRestartAdoptsProcess(t *testing.T) {
	m := agenttest.NewMaster(t)
	dir := t.TempDir()
	h := startAgent(t, m, dir, harnessOpts{runtimes: processRuntimes(t)})
	id := h.a.ID()
	spec := processSpec("adopt.1", "exec sleep 60")
	m.SetDesired(id, []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	rid := h.a.observedID(spec.TaskID)
	h.stop()
	if err := syscall.Kill(pidOf(t, rid), 0); err != nil {
		t.Fatalf("stopping the agent killed the task: %v", err)
	}
	n := len(m.Updates(spec.TaskID))

	h2 := startAgent(t, m, dir, harnessOpts{runtimes: processRuntimes(t)})
	if h2.a.ID() != id {
		t.Fatalf("restarted agent has id %q, want %q", h2.a.ID(), id)
	}
	waitFor(t, 5*time.Second, "re-registration with the running task", func() error {
		regs := m.Registrations()
		last := regs[len(regs)-1]
		if len(regs) != 2 || last.ID != id || len(last.Tasks) != 1 || last.Tasks[0].State != wire.TaskRunning {
			return fmt.Errorf("%d registrations, last %+v", len(regs), last)
		}
		return nil
	})
	waitFor(t, 5*time.Second, "adoption", func() error {
		if got := h2.a.observedID(spec.TaskID); got != rid {
			return fmt.Errorf("observed %q, want %q", got, rid)
		}
		return nil
	})
	if got := len(m.Updates(spec.TaskID)); got != n {
		t.Errorf("adoption sent %d new status updates, want none (%+v)", got-n, m.Updates(spec.TaskID))
	}
	// The adopted process is not the new agent's child: killing it still
	// works, and ends in TASK_KILLED.
	m.SetDesired(id, nil)
	m.WaitState(t, spec.TaskID, wire.TaskKilled, 10*time.Second)
}

func TestOrphanKilledAfterGrace(t *testing.T) {
	m := agenttest.NewMaster(t)
	dir := t.TempDir()
	h := startAgent(t, m, dir, harnessOpts{runtimes: processRuntimes(t)})
	spec := processSpec("orphan.1", "exec sleep 60")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	h.stop()
	// The master lost its state: it knows the agent but wants nothing.
	m.SetDesired(h.a.ID(), nil)
	start := time.Now()
	startAgent(t, m, dir, harnessOpts{runtimes: processRuntimes(t), mutate: func(c *Config) { c.OrphanGrace = time.Second }})
	m.WaitState(t, spec.TaskID, wire.TaskKilled, 10*time.Second)
	if d := time.Since(start); d < time.Second {
		t.Errorf("orphan killed after %s, before its grace period", d)
	}
}

func TestStatusUpdatesRetriedAndSurviveRestart(t *testing.T) {
	m := agenttest.NewMaster(t)
	dir := t.TempDir()
	h := startAgent(t, m, dir, harnessOpts{runtimes: processRuntimes(t)})
	m.FailStatus(1 << 30)
	spec := processSpec("retry.1", "exit 7")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	waitFor(t, 10*time.Second, "a FAILED update in the journal", func() error {
		for _, u := range h.a.journal.Pending(0) {
			if u.State == wire.TaskFailed {
				return nil
			}
		}
		return fmt.Errorf("pending %+v", h.a.journal.Pending(0))
	})
	h.stop()
	m.FailStatus(0)
	h2 := startAgent(t, m, dir, harnessOpts{runtimes: processRuntimes(t)})
	got := m.WaitState(t, spec.TaskID, wire.TaskFailed, 10*time.Second)
	if got.ExitCode == nil || *got.ExitCode != 7 {
		t.Errorf("failed %+v", got)
	}
	// The re-registration carried the final state; the older unacked
	// updates it superseded are dropped, never sent after it.
	waitFor(t, 10*time.Second, "an empty journal", func() error {
		if p := h2.a.journal.Pending(0); len(p) > 0 {
			return fmt.Errorf("pending %+v", p)
		}
		return nil
	})
	for _, u := range m.Updates(spec.TaskID) {
		t.Errorf("superseded update posted after the registration: %+v", u)
	}
}

func TestReRegistersWhenForgotten(t *testing.T) {
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: processRuntimes(t)})
	id := h.a.ID()
	spec := processSpec("rereg.1", "exec sleep 60")
	m.SetDesired(id, []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	m.Forget(id)
	waitFor(t, 10*time.Second, "re-registration", func() error {
		regs := m.Registrations()
		if len(regs) < 2 {
			return fmt.Errorf("%d registrations", len(regs))
		}
		if r := regs[len(regs)-1]; r.ID != id || len(r.Tasks) != 1 || r.Tasks[0].TaskID != spec.TaskID {
			return fmt.Errorf("registration %+v", r)
		}
		return nil
	})
	m.SetDesired(id, nil)
	m.WaitState(t, spec.TaskID, wire.TaskKilled, 10*time.Second)
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

func TestProcessUserFollowLogsAndAPIErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a task as another user needs root") // the CI box runs as root
	}
	m := agenttest.NewMaster(t)
	dir := t.TempDir()
	// The sandbox must be reachable by the task's user.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := startAgent(t, m, dir, harnessOpts{runtimes: processRuntimes(t)})
	spec := processSpec("user.1", `id -u; i=0; while [ $i -lt 20 ]; do echo tick$i; i=$((i+1)); sleep 0.1; done`)
	spec.User = "nobody"
	spec.HealthChecks = []wire.HealthCheck{{Protocol: "COMMAND", Command: `test "$(id -u)" = 65534 && test -d "$MESOS_SANDBOX"`, IntervalSeconds: 1, TimeoutSeconds: 2}}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 10*time.Second)
	testenv.WaitFor(t, 10*time.Second, "COMMAND check alive", func() error {
		last, _ := m.Last(spec.TaskID)
		if len(last.Health) != 1 || !last.Health[0].Alive {
			return fmt.Errorf("health %+v", last.Health)
		}
		return nil
	})
	// follow streams until the process ends, then the answer ends.
	resp, err := http.Get(h.url + "/v1/tasks/" + spec.TaskID + "/logs?follow=true")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "65534\n") || !strings.HasSuffix(string(b), "tick19\n") {
		t.Errorf("followed stdout = %q: want uid 65534 first and tick19 last", b)
	}
	m.WaitState(t, spec.TaskID, wire.TaskFinished, 10*time.Second)

	for _, tc := range []struct {
		path string
		code int
	}{
		{"/v1/tasks/nope.1/logs", http.StatusNotFound},
		{"/v1/tasks/" + spec.TaskID + "/logs?stream=stdin", http.StatusBadRequest},
		{"/v1/tasks/" + spec.TaskID + "/logs?offset=-1", http.StatusBadRequest},
	} {
		resp, err := http.Get(h.url + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var e wire.Error
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.code || e.Message == "" {
			t.Errorf("GET %s = %d %q, want %d with a message", tc.path, resp.StatusCode, e.Message, tc.code)
		}
	}
	resp, err = http.Get(h.url + "/v1/state")
	if err != nil {
		t.Fatal(err)
	}
	var st wire.AgentState
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.ID != h.a.ID() || st.Hostname != "node-test" || len(st.Tasks) != 1 || st.Tasks[0].State != wire.TaskFinished {
		t.Errorf("state %+v (%v)", st, err)
	}
}
