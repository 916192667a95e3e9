package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/google/uuid"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

// dockerEnv is one Docker test's engine client and its unique test label.
type dockerEnv struct {
	cli   *client.Client
	label string
}

func needDocker(t *testing.T, images ...string) dockerEnv {
	t.Helper()
	cli := testenv.Docker(t)
	for _, img := range images {
		testenv.Image(t, img)
	}
	e := dockerEnv{cli: cli, label: "agent-" + t.Name() + "-" + uuid.NewString()[:8]}
	testenv.CleanupContainers(t, cli, "berth.test", e.label)
	return e
}

func dockerRuntimes(e dockerEnv, t testing.TB) func(string) map[string]Runtime {
	return func(dir string) map[string]Runtime {
		rts := processRuntimes(t)(dir)
		rts[RuntimeDocker] = NewDockerRuntime(DockerConfig{Client: e.cli, PullTimeout: time.Minute})
		return rts
	}
}

// dockerSpecFor is a task of image img labelled for cleanup.
func (e dockerEnv) spec(id, img, network string, ports ...int) wire.TaskSpec {
	s := wire.TaskSpec{
		TaskID: id + "." + uuid.NewString()[:8], AppID: "/test/" + id, AppVersion: "2026-01-01T00:00:00.000Z",
		Resources:              wire.Resources{CPUs: 0.1, Mem: 64},
		Labels:                 map[string]string{"berth.test": e.label, "HAPROXY_GROUP": "external"},
		Container:              &wire.Container{Type: "DOCKER", Image: img, Network: network},
		KillGracePeriodSeconds: 2,
	}
	for i, p := range ports {
		s.Ports = append(s.Ports, wire.TaskPort{Index: i, HostPort: p, ServicePort: 10000 + i})
	}
	return s
}

func httpGet(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

func serves(url, want string) func() error {
	return func() error {
		body, err := httpGet(url)
		if err == nil && !strings.Contains(body, want) {
			err = fmt.Errorf("body %q lacks %q", body, want)
		}
		return err
	}
}

// recordingDrainer records when each task was drained.
type recordingDrainer struct {
	mu      sync.Mutex
	drained map[string]time.Time
}

func (d *recordingDrainer) Drain(_ context.Context, taskID string) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.drained == nil {
		d.drained = map[string]time.Time{}
	}
	d.drained[taskID] = time.Now()
	return 1, nil
}

func (d *recordingDrainer) at(taskID string) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.drained[taskID]
	return at, ok
}

func TestDockerBridgeHelloLabelsEnvAndKill(t *testing.T) {
	e := needDocker(t, "berth/hello")
	m := agenttest.NewMaster(t)
	dr := &recordingDrainer{}
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t), mutate: func(c *Config) { c.Drainer = dr }})
	port := testenv.FreePort(t)
	spec := e.spec("hello", "berth/hello", "BRIDGE", port)
	spec.Ports[0].Name = "web"
	spec.Env = map[string]string{"GREETING": "hi", "PORT_WEB": "overridden"}
	spec.DrainSeconds = 0.5
	spec.HealthChecks = []wire.HealthCheck{
		{Protocol: "HTTP", Path: "/health", PortIndex: 0, IntervalSeconds: 1, TimeoutSeconds: 1, MaxConsecutiveFailures: 3},
		{Protocol: "TCP", PortIndex: 0, IntervalSeconds: 1, TimeoutSeconds: 1, MaxConsecutiveFailures: 3},
	}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	run := m.WaitState(t, spec.TaskID, wire.TaskRunning, 30*time.Second)
	testenv.WaitFor(t, 10*time.Second, "hello through its host port", serves("http://127.0.0.1:"+strconv.Itoa(port)+"/", "task: "+spec.TaskID))

	insp, err := e.cli.ContainerInspect(context.Background(), run.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if insp.Name != "/berth-"+spec.TaskID {
		t.Errorf("container name %q", insp.Name)
	}
	for k, v := range map[string]string{
		"berth.task-id": spec.TaskID, "berth.app-id": "/test/hello", "berth.app-version": spec.AppVersion,
		"berth.agent-id": h.a.ID(), "berth.port.0.service": "10000", "berth.port.0.container": strconv.Itoa(port),
		"berth.port.0.name": "web", "berth.health.0.path": "/health", "berth.health.1.protocol": "TCP",
		"HAPROXY_GROUP": "external",
	} {
		if got := insp.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	env := envMap(insp.Config.Env)
	for k, v := range map[string]string{
		"PORT0": strconv.Itoa(port), "PORT": strconv.Itoa(port), "PORTS": strconv.Itoa(port), "PORT_WEB": "overridden",
		"HOST": "node-test", "MESOS_TASK_ID": spec.TaskID, "MARATHON_APP_ID": "/test/hello",
		"MARATHON_APP_VERSION": spec.AppVersion, "MARATHON_APP_DOCKER_IMAGE": "berth/hello",
		"MARATHON_APP_RESOURCE_CPUS": "0.1", "MARATHON_APP_RESOURCE_MEM": "64.0", "MARATHON_APP_LABEL_HAPROXY_GROUP": "external",
		"GREETING": "hi",
	} {
		if env[k] != v {
			t.Errorf("container env %s = %q, want %q", k, env[k], v)
		}
	}
	if insp.HostConfig.Memory != 64<<20 || insp.HostConfig.CPUShares != 102 {
		t.Errorf("limits: memory %d cpu shares %d", insp.HostConfig.Memory, insp.HostConfig.CPUShares)
	}

	testenv.WaitFor(t, 10*time.Second, "both health checks alive", func() error {
		last, _ := m.Last(spec.TaskID)
		if len(last.Health) != 2 || !last.Health[0].Alive || !last.Health[1].Alive {
			return fmt.Errorf("health %+v", last.Health)
		}
		return nil
	})

	killAsked := time.Now()
	m.SetDesired(h.a.ID(), nil)
	killed := m.WaitState(t, spec.TaskID, wire.TaskKilled, 30*time.Second)
	drainedAt, ok := dr.at(spec.TaskID)
	if !ok {
		t.Fatal("the task was killed without being drained first")
	}
	if killed.ExitCode == nil {
		t.Errorf("killed status without exit code: %+v", killed)
	}
	// hello exits on SIGTERM; the SIGTERM came at least DrainSeconds after the drain.
	stopped, err := e.cli.ContainerInspect(context.Background(), run.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	finished, _ := time.Parse(time.RFC3339Nano, stopped.State.FinishedAt)
	if finished.Sub(drainedAt) < 500*time.Millisecond || drainedAt.Before(killAsked) {
		t.Errorf("drained at %s, container finished at %s: want ≥ 0.5s of drain before SIGTERM", drainedAt, finished)
	}
	if _, err := httpGet("http://127.0.0.1:" + strconv.Itoa(port) + "/"); err == nil {
		t.Error("hello still answers after TASK_KILLED")
	}
}

func TestDockerHostModeReadsPort0(t *testing.T) {
	e := needDocker(t, "berth/hello")
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t)})
	port := testenv.FreePort(t)
	spec := e.spec("hosthello", "berth/hello", "HOST", port)
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	run := m.WaitState(t, spec.TaskID, wire.TaskRunning, 30*time.Second)
	testenv.WaitFor(t, 10*time.Second, "host-mode hello on $PORT0", serves("http://127.0.0.1:"+strconv.Itoa(port)+"/", "task: "+spec.TaskID))
	insp, err := e.cli.ContainerInspect(context.Background(), run.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if !insp.HostConfig.NetworkMode.IsHost() || len(insp.HostConfig.PortBindings) != 0 {
		t.Errorf("network mode %q, bindings %v", insp.HostConfig.NetworkMode, insp.HostConfig.PortBindings)
	}
	if insp.Config.Labels["berth.port.0.container"] != strconv.Itoa(port) {
		t.Errorf("host network: berth.port.0.container = %q", insp.Config.Labels["berth.port.0.container"])
	}
}

func TestDockerBusyboxDateLogsFollowAndVolume(t *testing.T) {
	e := needDocker(t, "berth/busybox")
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t)})
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "in.txt"), []byte("from-the-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := e.spec("dates", "berth/busybox", "BRIDGE")
	spec.Cmd = `cat /data/in.txt >&2; echo written > /rw/out.txt; while true; do date; sleep 1; done`
	rw := t.TempDir()
	spec.Container.Volumes = []wire.Volume{
		{HostPath: vol, ContainerPath: "/data", Mode: "RO"},
		{HostPath: rw, ContainerPath: "/rw", Mode: "RW"},
	}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 30*time.Second)

	var out string
	var next int64
	testenv.WaitFor(t, 15*time.Second, "two dates on stdout", func() error {
		var err error
		out, next, err = h.logs(spec.TaskID, "stdout", 0)
		if err == nil && strings.Count(out, "\n") < 2 {
			err = fmt.Errorf("stdout %q", out)
		}
		return err
	})
	if next != int64(len(out)) || !strings.Contains(out, "UTC") {
		t.Errorf("stdout %q, next offset %d", out, next)
	}
	testenv.WaitFor(t, 10*time.Second, "more dates after the offset", func() error {
		more, next2, err := h.logs(spec.TaskID, "stdout", next)
		if err == nil && (next2 <= next || !strings.HasSuffix(more, "\n") || int64(len(more)) != next2-next) {
			err = fmt.Errorf("from %d: %q (next %d)", next, more, next2)
		}
		return err
	})
	stderr, _, err := h.logs(spec.TaskID, "stderr", 0)
	if err != nil || stderr != "from-the-host\n" {
		t.Errorf("read-only volume content on stderr = %q (%v)", stderr, err)
	}
	testenv.WaitFor(t, 5*time.Second, "file written through the RW volume", func() error {
		b, err := os.ReadFile(filepath.Join(rw, "out.txt"))
		if err == nil && string(b) != "written\n" {
			err = fmt.Errorf("content %q", b)
		}
		return err
	})

	// follow=true streams new lines as they come.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/v1/tasks/"+spec.TaskID+"/logs?stream=stdout&follow=true&offset="+strconv.FormatInt(next, 10), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 0, 256)
	for strings.Count(string(buf), "\n") < 2 {
		chunk := make([]byte, 256)
		n, err := resp.Body.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err != nil {
			t.Fatalf("follow stream ended after %q: %v", buf, err)
		}
	}
}

func TestDockerCommandHealthAndArgs(t *testing.T) {
	e := needDocker(t, "berth/busybox")
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t)})
	spec := e.spec("cmdcheck", "berth/busybox", "BRIDGE")
	spec.Args = []string{"/bin/sh", "-c", "touch /tmp/ready; exec sleep 60"}
	spec.HealthChecks = []wire.HealthCheck{
		{Protocol: "COMMAND", Command: "test -e /tmp/ready", IntervalSeconds: 1, TimeoutSeconds: 2, MaxConsecutiveFailures: 3},
		{Protocol: "COMMAND", Command: "test -e /tmp/never", IntervalSeconds: 1, TimeoutSeconds: 2, GracePeriodSeconds: 0, MaxConsecutiveFailures: 3},
	}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	m.WaitState(t, spec.TaskID, wire.TaskRunning, 30*time.Second)
	testenv.WaitFor(t, 15*time.Second, "first check alive, second failing twice", func() error {
		last, _ := m.Last(spec.TaskID)
		if len(last.Health) != 2 || !last.Health[0].Alive || last.Health[1].Alive || last.Health[1].ConsecutiveFailures < 2 {
			return fmt.Errorf("health %+v", last.Health)
		}
		if !strings.Contains(last.Health[1].LastFailureCause, "exited with code 1") {
			return fmt.Errorf("failure cause %q", last.Health[1].LastFailureCause)
		}
		return nil
	})
}

func TestDockerMissingImageFailsTask(t *testing.T) {
	e := needDocker(t)
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t)})
	spec := e.spec("missing", "berth/does-not-exist-"+uuid.NewString()[:8], "BRIDGE")
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	failed := m.WaitState(t, spec.TaskID, wire.TaskFailed, 90*time.Second)
	if !strings.Contains(failed.Message, spec.Container.Image) || !strings.Contains(failed.Message, "pulling it failed") {
		t.Errorf("message %q does not say which image failed to pull", failed.Message)
	}
	t.Logf("missing image message: %s", failed.Message)
}

func TestDockerAgentRestartAdoptsContainer(t *testing.T) {
	e := needDocker(t, "berth/hello")
	m := agenttest.NewMaster(t)
	dir := t.TempDir()
	h := startAgent(t, m, dir, harnessOpts{runtimes: dockerRuntimes(e, t)})
	id := h.a.ID()
	port := testenv.FreePort(t)
	spec := e.spec("adopt", "berth/hello", "BRIDGE", port)
	m.SetDesired(id, []wire.TaskSpec{spec})
	run := m.WaitState(t, spec.TaskID, wire.TaskRunning, 30*time.Second)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	testenv.WaitFor(t, 10*time.Second, "hello serving", serves(url, spec.TaskID))
	h.stop()
	if _, err := httpGet(url); err != nil {
		t.Fatalf("stopping the agent stopped the task: %v", err)
	}
	n := len(m.Updates(spec.TaskID))

	h2 := startAgent(t, m, dir, harnessOpts{runtimes: dockerRuntimes(e, t)})
	testenv.WaitFor(t, 10*time.Second, "adoption of the same container", func() error {
		if got := h2.a.observedID(spec.TaskID); got != run.ContainerID {
			return fmt.Errorf("observed %q, want %q", got, run.ContainerID)
		}
		return nil
	})
	testenv.WaitFor(t, 10*time.Second, "re-registration listing the running task", func() error {
		regs := m.Registrations()
		last := regs[len(regs)-1]
		if len(regs) != 2 || len(last.Tasks) != 1 || last.Tasks[0].ContainerID != run.ContainerID || last.Tasks[0].State != wire.TaskRunning {
			return fmt.Errorf("%d registrations, last %+v", len(regs), last)
		}
		return nil
	})
	if _, err := httpGet(url); err != nil {
		t.Errorf("adopted container does not serve: %v", err)
	}
	if got := len(m.Updates(spec.TaskID)); got != n {
		t.Errorf("adoption sent %d status updates, want none", got-n)
	}
	m.SetDesired(id, nil)
	m.WaitState(t, spec.TaskID, wire.TaskKilled, 30*time.Second)
}

func TestTwoAgentsOnOneMachineManageOnlyTheirOwn(t *testing.T) {
	e := needDocker(t, "berth/busybox")
	m := agenttest.NewMaster(t)
	short := func(c *Config) { c.OrphanGrace = 200 * time.Millisecond }
	a := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t), mutate: short})
	b := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t), mutate: short})
	if a.a.ID() == b.a.ID() {
		t.Fatalf("both agents got id %s", a.a.ID())
	}
	ta, tb := e.spec("ofa", "berth/busybox", "BRIDGE"), e.spec("ofb", "berth/busybox", "BRIDGE")
	ta.Cmd, tb.Cmd = "exec sleep 60", "exec sleep 60"
	m.SetDesired(a.a.ID(), []wire.TaskSpec{ta})
	m.SetDesired(b.a.ID(), []wire.TaskSpec{tb})
	runA := m.WaitState(t, ta.TaskID, wire.TaskRunning, 30*time.Second)
	runB := m.WaitState(t, tb.TaskID, wire.TaskRunning, 30*time.Second)
	// Well past both orphan grace periods and a few passes, each agent
	// still has exactly its own task and nobody killed anything.
	testenv.WaitFor(t, 5*time.Second, "both orphan grace periods over", func() error {
		for _, h := range []*harness{a, b} {
			h.a.mu.Lock()
			d := h.a.orphanDeadline
			h.a.mu.Unlock()
			if d.IsZero() || time.Now().Before(d) {
				return fmt.Errorf("agent %s: orphan deadline %s", h.a.ID(), d)
			}
		}
		return nil
	})
	pa, pb := passesFrom(a.a, 3), passesFrom(b.a, 3)
	testenv.WaitFor(t, 10*time.Second, "several passes after the orphan grace", func() error {
		return errors.Join(pa(), pb())
	})
	for _, run := range []wire.TaskStatus{runA, runB} {
		insp, err := e.cli.ContainerInspect(context.Background(), run.ContainerID)
		if err != nil || !insp.State.Running {
			t.Errorf("container of %s: running=%v err=%v", run.TaskID, err == nil && insp.State.Running, err)
		}
		if last, _ := m.Last(run.TaskID); last.State != wire.TaskRunning {
			t.Errorf("%s is %s", run.TaskID, last.State)
		}
	}
	if got := a.a.observedID(tb.TaskID); got != "" {
		t.Errorf("agent A observes B's task (%s)", got)
	}
}
