package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/berth-platform/berth/internal/testenv"
)

// TestRouting starts the platform once for the routing promises of issue
// 13: a process app reachable through its servicePort, its vhost and
// Consul DNS; a foreign cluster's container with Berth's labels never
// routed, nor a hand-made one of this cluster the master does not know; a
// failing health check taking the backend out of HAProxy within two
// intervals; each marathon-lb label changing a real request; a process
// task's Consul service across agent and registrator restarts.
func TestRouting(t *testing.T) {
	p := startPlatform(t)
	t.Run("process app", func(t *testing.T) { p.t = t; testProcessApp(t, p) })
	t.Run("foreign container", func(t *testing.T) { p.t = t; testForeignContainer(t, p) })
	t.Run("failing health check", func(t *testing.T) { p.t = t; testFailingCheck(t, p) })
	t.Run("labels", func(t *testing.T) { p.t = t; testLabelRequests(t, p) })
	t.Run("readiness", func(t *testing.T) { p.t = t; testReadiness(t, p) })
	t.Run("blue/green by hand", func(t *testing.T) { p.t = t; testBlueGreenByHand(t, p) })
	// Restarts the stack's registrator: last.
	t.Run("process tasks in Consul", func(t *testing.T) { p.t = t; testProcessTasksInConsul(t, p) })
}

// testReadiness: a running task whose Marathon readiness check has not
// passed (Consul has no check: it passes) is not routed, lbsync names it
// "not ready"; once its ready file exists it is routed.
func testReadiness(t *testing.T, p *platform) {
	www := filepath.Join(t.TempDir(), "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("ready app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := "/e2e/ready"
	def := fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 16, "instances": 1,
		"cmd": "exec busybox httpd -f -p $PORT0 -h %s",
		"portDefinitions": [{"port": 0, "protocol": "tcp", "name": "http"}],
		"readinessChecks": [{"name": "ready", "protocol": "HTTP", "path": "/ready", "portName": "http",
			"intervalSeconds": 2, "timeoutSeconds": 1, "httpStatusCodesForReady": [200]}],
		"labels": {"HAPROXY_0_MODE": "http"}}`, id, www)
	var created app
	p.mustAPI("POST", "/v2/apps", []byte(def), &created)
	sp := created.servicePort()
	testenv.WaitFor(t, settle, "the task running and excluded as not ready", func() error {
		for _, s := range p.routesStatus(t).Services {
			if s.ServicePort != sp {
				continue
			}
			for _, e := range s.Excluded {
				if e.Kind == "not ready" && strings.Contains(e.Reason, "readiness check") {
					if len(s.Backends) > 0 {
						return fmt.Errorf("routed and excluded at once: %+v", s)
					}
					return nil
				}
			}
			return fmt.Errorf("servicePort %d: backends %v, excluded %v", sp, s.Backends, s.Excluded)
		}
		return fmt.Errorf("no service on %d yet", sp)
	})
	if code, body, err := p.status(p.servicePortURL(sp, "/"), ""); err != nil || code != 503 {
		t.Errorf("not ready: servicePort %d answered %d %q %v, want 503", sp, code, body, err)
	}
	if err := os.WriteFile(filepath.Join(www, "ready"), []byte("yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	p.waitServes(p.servicePortURL(sp, "/"), "", "ready app")
	t.Logf("routed %s after its readiness check could pass (interval 2 s)", time.Since(t0).Round(time.Millisecond))
	p.waitSettled(id, 1, settle)
	p.mustAPI("DELETE", "/v2/apps"+id, nil, nil)
}

// processApp is a busybox httpd on $PORT0 that says which task answered.
func processApp(id string, instances int, labels string) []byte {
	return []byte(fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 16, "instances": %d,
		"cmd": "mkdir -p www && echo \"proc $MESOS_TASK_ID\" > www/index.html && exec busybox httpd -f -p $PORT0 -h www",
		"portDefinitions": [{"port": 0, "protocol": "tcp", "name": "http"}],
		"labels": {%s}}`, id, instances, labels))
}

func testProcessApp(t *testing.T, p *platform) {
	id := "/e2e/proc"
	a := p.deploy(processApp(id, 2, `"HAPROXY_0_MODE": "http", "HAPROXY_0_VHOST": "proc.berth.test"`), settle)
	if a.servicePort() == 0 {
		t.Fatalf("no servicePort: %+v", a)
	}
	p.waitRoutesMatch(id)
	seen := map[string]bool{}
	testenv.WaitFor(t, 30*time.Second, "both process tasks answering through the servicePort", func() error {
		body, err := p.get(p.servicePortURL(a.servicePort(), "/"), "")
		if err != nil {
			return err
		}
		seen[strings.TrimSpace(body)] = true
		if len(seen) < 2 {
			return fmt.Errorf("answers %v", seen)
		}
		return nil
	})
	for _, tk := range a.Tasks {
		if !seen["proc "+tk.ID] {
			t.Errorf("task %s never answered through servicePort %d (answers %v)", tk.ID, a.servicePort(), seen)
		}
	}
	vhost := "http://" + httpAddr(p.stack.Config().HTTPPort) + "/"
	p.waitServes(vhost, "proc.berth.test", "proc e2e_proc.")
	var want []string
	for _, tk := range a.Tasks {
		want = append(want, strconv.Itoa(tk.Ports[0]))
	}
	// A process app's Consul name is the app id in Mesos-DNS form.
	testenv.WaitFor(t, 30*time.Second, "proc-e2e.service.consul SRV", func() error {
		return checkDNS(p, "proc-e2e.service.consul.", want)
	})
}

// testForeignContainer models a second Berth cluster on the same host and
// Consul: its master's container (another cluster id, the same app id and
// servicePort) started by hand with `docker run`, and registered by that
// cluster's own registrator. lbsync must never route it while the owning
// app keeps serving; it is counted and named in `berth routes`. A second
// one carrying this stack's agent-1 id is left alone by that agent. A third
// one carries THIS cluster's id, the owning app's id and servicePort, and a
// task and agent id the master does not know: registered in Consul by a
// registrator of this cluster, it is excluded as a "stale task" (the
// master's task list is the authority), counted and named the same way.
func testForeignContainer(t *testing.T, p *platform) {
	id := "/e2e/owned"
	a := p.deploy(helloApp(id, 1, `"HAPROXY_0_MODE": "http"`), settle)
	sp := a.servicePort()
	p.waitServes(p.servicePortURL(sp, "/"), "", "task: e2e_owned.")

	foreign := fmt.Sprintf("foreign-%d", time.Now().UnixNano())
	startForeignRegistrator(t, p, foreign)
	cli := testenv.Docker(t)
	testenv.CleanupContainers(t, cli, "berth.test", foreign)
	run := func(name, agentID string, extra ...string) string {
		hostPort := testenv.FreePort(t)
		labels := map[string]string{
			"berth.test": foreign, "berth.task-id": "e2e_owned." + name, "berth.app-id": id,
			"berth.app-version": "2020-01-01T00:00:00.000Z", "berth.agent-id": agentID,
			"berth.cluster-id": foreign, "berth.port.0.container": "80", "berth.port.0.service": strconv.Itoa(sp),
			"HAPROXY_0_MODE": "http",
		}
		for i := 0; i+1 < len(extra); i += 2 {
			labels[extra[i]] = extra[i+1]
		}
		c, err := cli.ContainerCreate(context.Background(), &container.Config{Image: "berth/hello",
			Env: []string{"PORT_80=1", "MESOS_TASK_ID=" + name}, Labels: labels,
			ExposedPorts: nat.PortSet{"80/tcp": {}}},
			&container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostIP: "0.0.0.0", HostPort: strconv.Itoa(hostPort)}}}},
			nil, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cli.ContainerStart(context.Background(), c.ID, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	elsewhere := run(foreign+"-a", "agent-of-"+foreign)
	sameAgent := run(foreign+"-b", p.stack.AgentID(1))
	// This cluster's id, the owning app's id and servicePort, a task and
	// an agent the master has never heard of: registered like any of the
	// cluster's containers (by a registrator of this cluster that sees it),
	// no agent lists it, so only the master's task list can keep it out.
	var info struct {
		Berth struct {
			ClusterID string `json:"clusterId"`
		} `json:"berth"`
	}
	p.mustAPI("GET", "/v2/info", nil, &info)
	startHandRegistrator(t, p, info.Berth.ClusterID, foreign)
	handTask := "e2e_owned." + foreign + "-c"
	hand := run(foreign+"-c", "agent-of-nobody", "berth.cluster-id", info.Berth.ClusterID, "SERVICE_NAME", "hello")

	// Both are in lbsync's view (the foreign registrator put them in
	// Consul), excluded as another cluster's.
	var excluded []string
	testenv.WaitFor(t, 30*time.Second, "lbsync excluding the foreign instances", func() error {
		st := p.routesStatus(t)
		excluded = excluded[:0]
		for _, s := range st.Services {
			if s.ServicePort != sp {
				continue
			}
			for _, e := range s.Excluded {
				if e.Kind == "foreign cluster" {
					excluded = append(excluded, e.Task)
				}
			}
		}
		if len(excluded) < 2 {
			return fmt.Errorf("excluded as foreign on %d: %v", sp, excluded)
		}
		return nil
	})
	testenv.WaitFor(t, 30*time.Second, "lbsync excluding the hand-made task of this cluster", func() error {
		for _, s := range p.routesStatus(t).Services {
			for _, e := range s.Excluded {
				if s.ServicePort == sp && e.Task == handTask && e.Kind == "stale task" && strings.Contains(e.Reason, "unknown to the master") {
					return nil
				}
			}
		}
		return fmt.Errorf("%s not excluded as a stale task on %d yet", handTask, sp)
	})
	p.waitRoutesMatch(id)
	for i := 0; i < 30; i++ {
		body, err := p.get(p.servicePortURL(sp, "/"), "")
		if err != nil {
			t.Fatalf("request %d through servicePort %d: %v", i, sp, err)
		}
		if !strings.Contains(body, "task: e2e_owned.") || strings.Contains(body, foreign) {
			t.Fatalf("request %d answered by %q, not the owning app", i, body)
		}
	}
	metrics := p.lbsyncMetric(t, `berth_lbsync_excluded_instances{reason="foreign cluster"}`)
	if metrics < 2 {
		t.Errorf("berth_lbsync_excluded_instances{reason=\"foreign cluster\"} = %v, want ≥ 2", metrics)
	}
	if n := p.lbsyncMetric(t, `berth_lbsync_excluded_instances{reason="stale task"}`); n < 1 {
		t.Errorf("berth_lbsync_excluded_instances{reason=\"stale task\"} = %v, want ≥ 1", n)
	}
	out, err := exec.Command(testenv.BerthBinary(t), "routes", "--lbsync", p.stack.LBSyncURL).CombinedOutput()
	if err != nil {
		t.Fatalf("berth routes: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "excluded: stale task") || !strings.Contains(string(out), "task "+handTask) {
		t.Errorf("berth routes does not name %s as a stale task:\n%s", handTask, out)
	}
	for _, n := range []string{foreign + "-a", foreign + "-b"} {
		if !strings.Contains(string(out), "excluded: foreign cluster") || !strings.Contains(string(out), "task e2e_owned."+n) {
			t.Errorf("berth routes does not name %s as a foreign cluster's:\n%s", n, out)
		}
	}
	// agent-1 saw the one with its id and left it alone (running, not
	// adopted: the master does not know it).
	log := filepath.Join(p.stack.LogsDir(), "agent-1.log")
	testenv.WaitFor(t, 30*time.Second, "agent-1 ignoring the foreign container", func() error {
		b, _ := os.ReadFile(log)
		if !strings.Contains(string(b), "ignoring a task of another cluster") || !strings.Contains(string(b), foreign+"-b") {
			return fmt.Errorf("not in %s yet", log)
		}
		return nil
	})
	for _, c := range []string{elsewhere, sameAgent, hand} {
		info, err := cli.ContainerInspect(context.Background(), c)
		if err != nil || !info.State.Running {
			t.Errorf("foreign container %s: running=%v err=%v (someone stopped or removed it)", c[:12], err == nil && info.State.Running, err)
		}
	}
	if a2, _ := p.app(id); len(a2.Tasks) != 1 {
		t.Errorf("the master knows %d tasks of %s, want 1 (a foreign one was adopted?)", len(a2.Tasks), id)
	}
	// The agent's id on a foreign container must not survive the stack's
	// own leftover check: remove it now.
	cli.ContainerRemove(context.Background(), sameAgent, container.RemoveOptions{Force: true})
	// The hand-made container goes while its registrator still runs, so
	// no registration of it outlives the test.
	cli.ContainerRemove(context.Background(), hand, container.RemoveOptions{Force: true})
	testenv.WaitFor(t, 30*time.Second, "the hand-made task gone from lbsync's view", func() error {
		for _, s := range p.routesStatus(t).Services {
			for _, e := range s.Excluded {
				if e.Task == handTask {
					return fmt.Errorf("still listed: %+v", e)
				}
			}
		}
		return nil
	})
	p.mustAPI("DELETE", "/v2/apps"+id, nil, nil)
}

// helloApp is berth/hello on BRIDGE with an automatic servicePort.
func helloApp(id string, instances int, labels string) []byte {
	return []byte(fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 32, "instances": %d,
		"container": {"type": "DOCKER", "docker": {"image": "berth/hello", "network": "BRIDGE",
			"portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "protocol": "tcp"}]}},
		"labels": {%s}}`, id, instances, labels))
}

// startForeignRegistrator runs another cluster's registrator against the
// stack's Consul: it registers only that cluster's Berth tasks, tagged so
// the stack's lbsync sees them.
func startForeignRegistrator(t *testing.T, p *platform, cluster string) {
	tmpl := fmt.Sprintf(`{{with index .Config.Labels "berth.cluster-id"}}{{if eq . %q}}%s{{end}}{{end}}`,
		cluster, p.stack.Config().StackTag)
	startRegistrator(t, p, "foreign-registrator", "-hostname", "host-of-"+cluster, "-cluster-id", cluster, "-tags", tmpl)
}

// startHandRegistrator runs a second registrator of this cluster that
// registers only containers labelled berth.test=marker with a SERVICE_NAME
// (-explicit), tagged so the stack's lbsync sees them: the stack's own
// registrator tags only its agents' tasks, which a hand-made container
// with an unknown agent id is not.
func startHandRegistrator(t *testing.T, p *platform, cluster, marker string) {
	tmpl := fmt.Sprintf(`{{with index .Config.Labels "berth.test"}}{{if eq . %q}}%s{{end}}{{end}}`,
		marker, p.stack.Config().StackTag)
	startRegistrator(t, p, "hand-registrator", "-hostname", "hand-host-of-"+marker, "-cluster-id", cluster,
		"-explicit", "-tags", tmpl)
}

// startRegistrator runs `berth registrator` against the stack's Consul
// with args until the test ends; its log is shown when the test failed.
func startRegistrator(t *testing.T, p *platform, name string, args ...string) {
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"registrator", "-consul", p.stack.ConsulHTTP, "-ip", p.stack.AdvertiseIP}, args...)
	cmd := exec.Command(testenv.BerthBinary(t), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("---- %s\n%s", name, b)
		}
	})
}

// routesStatus is lbsync's GET /routes.
func (p *platform) routesStatus(t *testing.T) fullRoutes {
	t.Helper()
	var st fullRoutes
	if err := p.getJSON(p.stack.LBSyncURL+"/routes", &st); err != nil {
		t.Fatal(err)
	}
	return st
}

type fullRoutes struct {
	Services []struct {
		Name        string `json:"name"`
		App         string `json:"app"`
		ServicePort int    `json:"servicePort"`
		Backends    []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
			LB      string `json:"lb"`
		} `json:"backends"`
		Excluded []struct {
			Task   string `json:"task"`
			Kind   string `json:"kind"`
			Reason string `json:"reason"`
		} `json:"excluded"`
	} `json:"services"`
	Unrouted []struct {
		App  string `json:"app"`
		Kind string `json:"kind"`
	} `json:"unrouted"`
	Warnings []string `json:"warnings"`
}

// lbsyncMetric reads one sample of lbsync's /metrics (0 when absent).
func (p *platform) lbsyncMetric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := p.http.Get(p.stack.LBSyncURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// testFailingCheck: a process app's HTTP health check starts failing (its
// health file is removed); HAProxy's own check takes the server out within
// two check intervals, before any Consul or master round trip is needed.
func testFailingCheck(t *testing.T, p *platform) {
	const interval = 2 * time.Second
	www := filepath.Join(t.TempDir(), "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	health := filepath.Join(www, "health")
	if err := os.WriteFile(health, []byte("ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := "/e2e/failing"
	def := fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 16, "instances": 1,
		"cmd": "exec busybox httpd -f -p $PORT0 -h %s",
		"portDefinitions": [{"port": 0, "protocol": "tcp"}],
		"healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 60,
			"intervalSeconds": %d, "timeoutSeconds": 1, "maxConsecutiveFailures": 1}],
		"labels": {"HAPROXY_0_MODE": "http"}}`, id, www, int(interval/time.Second))
	a := p.deploy([]byte(def), settle)
	port := a.Tasks[0].Ports[0]
	backend := p.waitBackendName(t, a.servicePort())
	testenv.WaitFor(t, 30*time.Second, "HAProxy's check of the server passing", func() error {
		st, err := p.serverState(backend, port)
		if err != nil {
			return err
		}
		if st != "2" {
			return fmt.Errorf("srv_op_state %s", st)
		}
		return nil
	})
	if err := os.Remove(health); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var state string
	for {
		st, err := p.serverState(backend, port)
		if err != nil && !strings.Contains(err.Error(), "no server") {
			t.Fatal(err)
		}
		if st != "2" {
			state = st
			if err != nil {
				state = "removed"
			}
			break
		}
		if time.Since(t0) > 2*interval {
			t.Fatalf("the server %d is still UP in HAProxy %s after the check started failing (interval %s)", port, time.Since(t0), interval)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("server out of HAProxy %s after the health endpoint started failing (srv_op_state %s, interval %s)", time.Since(t0).Round(time.Millisecond), state, interval)
	p.mustAPI("DELETE", "/v2/apps"+id, nil, nil)
}

// waitBackendName waits until lbsync has a service on servicePort and
// returns its HAProxy backend name.
func (p *platform) waitBackendName(t *testing.T, servicePort int) string {
	var name string
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("a backend for servicePort %d", servicePort), func() error {
		for _, s := range p.routesStatus(t).Services {
			if s.ServicePort == servicePort && len(s.Backends) > 0 {
				name = s.Name
				return nil
			}
		}
		return fmt.Errorf("none yet")
	})
	return name
}

// serverState is HAProxy's srv_op_state (0 stopped, 2 running) of the
// server of backend on port, from the Runtime API's `show servers state`.
func (p *platform) serverState(backend string, port int) (string, error) {
	c, err := net.DialTimeout("unix", filepath.Join(p.stack.Config().WorkDir, "lbsync", "haproxy.sock"), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "show servers state "+backend+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(b), "\n")
	var cols []string
	for _, l := range lines {
		if strings.HasPrefix(l, "# be_id") {
			cols = strings.Fields(strings.TrimPrefix(l, "# "))
		}
	}
	col := func(name string) int {
		for i, c := range cols {
			if c == name {
				return i
			}
		}
		return -1
	}
	op, sp := col("srv_op_state"), col("srv_port")
	if op < 0 || sp < 0 {
		return "", fmt.Errorf("show servers state: no header in %q", b)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > max(op, sp) && !strings.HasPrefix(l, "#") && f[sp] == strconv.Itoa(port) {
			return f[op], nil
		}
	}
	return "", fmt.Errorf("no server on port %d in backend %s", port, backend)
}

func (p *platform) getJSON(url string, out any) error {
	resp, err := p.http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return jsonDecode(resp.Body, out)
}
