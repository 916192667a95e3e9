package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/berth-platform/berth/internal/devstack"
	"github.com/berth-platform/berth/internal/testenv"
)

// platform is a running devstack and the helpers that talk to it.
type platform struct {
	t         testing.TB
	stack     *devstack.Stack // nil when driving a `berth dev` process
	masterURL string
	root      string
	http      *http.Client
}

func httpClient() *http.Client { return &http.Client{Timeout: 5 * time.Second} }

func readAgentIDForTest(t testing.TB, dir string) string {
	t.Helper()
	var af struct {
		ID string `json:"id"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "agent.json"))
	if err == nil {
		err = json.Unmarshal(b, &af)
	}
	if err != nil || af.ID == "" {
		t.Fatalf("agent id in %s: %v", dir, err)
	}
	return af.ID
}

// startPlatform starts the whole platform on free ports in a temp dir; it
// is stopped (with every task removed) when the test ends.
func startPlatform(t testing.TB, opts ...func(*devstack.Config)) *platform {
	t.Helper()
	root := testenv.RepoRoot(t)
	testenv.Image(t, "berth/hello")
	testenv.Image(t, "berth/busybox")
	cli := testenv.Docker(t)
	checkHelloImage(t, cli)
	free := func() int { return testenv.FreePort(t) }
	cfg := devstack.Config{
		Berth: testenv.BerthBinary(t), Consul: testenv.ConsulBinary(t),
		HAProxy: testenv.HAProxyBinary(t), Nginx: testenv.NginxBinary(t),
		WorkDir:      t.TempDir(),
		Listen:       fmt.Sprintf("127.0.0.1:%d", free()),
		AgentTimeout: 3 * time.Second,
		Agents:       3,
		AgentListen:  []int{free(), free(), free()},
		ConsulPorts: devstack.ConsulPorts{HTTP: free(), DNS: free(), Server: free(),
			SerfLAN: free(), SerfWAN: free()},
		HTTPPort: free(), StatsPort: free(),
		LBSyncListen:    fmt.Sprintf("127.0.0.1:%d", free()),
		ClassicTemplate: filepath.Join(root, "examples", "nginx", "nginx.ctmpl"),
		ClassicPort:     free(),
		StackTag:        fmt.Sprintf("e2e-%d-%d", os.Getpid(), time.Now().UnixNano()),
		// HAProxy binds with SO_REUSEPORT: two test binaries' HAProxies on
		// one servicePort would share its connections silently. Other
		// tests' masters use the default pool (10000-20000) and testenv's
		// free ports are 20000-29999, so the e2e masters use 30000-30999.
		// Within that pool each test binary takes a block of 100 by its pid,
		// so two concurrent runs rarely ask for the same servicePort.
		MasterArgs: []string{"--service-ports", servicePortBlock(os.Getpid())},
		Progress:   testWriter{t, &strings.Builder{}},
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("devstack: %v", err)
	}
	for i := 1; i <= cfg.Agents; i++ {
		testenv.CleanupContainers(t, cli, "berth.agent-id", s.AgentID(i))
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, s.LogsDir())
			dumpHAProxy(t, filepath.Join(cfg.WorkDir, "lbsync"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("devstack stop: %v", err)
		}
		if left := devstack.Leftovers(cfg.WorkDir); len(left) > 0 {
			t.Errorf("processes left behind: %v", left)
		}
		for i := 1; i <= cfg.Agents; i++ {
			list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
				Filters: filters.NewArgs(filters.Arg("label", "berth.agent-id="+s.AgentID(i)))})
			if err != nil || len(list) > 0 {
				t.Errorf("containers of %s left behind: %d (%v)", devstack.AgentName(i), len(list), err)
			}
		}
	})
	return &platform{t: t, stack: s, masterURL: s.MasterURL, root: root, http: httpClient()}
}

// servicePortBlock is a block of 100 servicePorts in 30000-30999 chosen
// by pid.
func servicePortBlock(pid int) string {
	lo := 30000 + 100*(pid%10)
	return fmt.Sprintf("%d-%d", lo, lo+99)
}

// testWriter logs complete lines.
type testWriter struct {
	t   testing.TB
	buf *strings.Builder
}

func (w testWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if s := w.buf.String(); strings.HasSuffix(s, "\n") {
		w.t.Log(strings.TrimRight(s, "\n"))
		w.buf.Reset()
	}
	return len(p), nil
}

func dumpLogs(t testing.TB, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		t.Logf("---- %s (tail)\n%s", e.Name(), b)
	}
}

// api calls the master; a status outside 2xx is an error with the body.
func (p *platform) api(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, p.masterURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (p *platform) mustAPI(method, path string, body []byte, out any) {
	p.t.Helper()
	if err := p.api(method, path, body, out); err != nil {
		p.t.Fatal(err)
	}
}

// example reads examples/apps/<name>.json.
func (p *platform) example(name string) []byte {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.root, "examples", "apps", name+".json"))
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

type task struct {
	ID           string `json:"id"`
	AppID        string `json:"appId"`
	Host         string `json:"host"`
	Ports        []int  `json:"ports"`
	ServicePorts []int  `json:"servicePorts"`
	State        string `json:"state"`
	Health       []struct {
		Alive bool `json:"alive"`
	} `json:"healthCheckResults"`
}

type app struct {
	ID           string `json:"id"`
	Instances    int    `json:"instances"`
	TasksRunning int    `json:"tasksRunning"`
	TasksHealthy int    `json:"tasksHealthy"`
	HealthChecks []any  `json:"healthChecks"`
	Deployments  []any  `json:"deployments"`
	Tasks        []task `json:"tasks"`
	Container    struct {
		PortMappings []struct {
			ServicePort int `json:"servicePort"`
		} `json:"portMappings"`
	} `json:"container"`
	PortDefinitions []struct {
		Port int `json:"port"`
	} `json:"portDefinitions"`
}

func (a app) servicePort() int {
	if len(a.Container.PortMappings) > 0 {
		return a.Container.PortMappings[0].ServicePort
	}
	if len(a.PortDefinitions) > 0 {
		return a.PortDefinitions[0].Port
	}
	return 0
}

func (p *platform) app(id string) (app, error) {
	var out struct {
		App app `json:"app"`
	}
	err := p.api("GET", "/v2/apps"+id, nil, &out)
	return out.App, err
}

// waitSettled waits until app id has no deployment and n running tasks,
// all healthy when it has health checks, and returns it.
func (p *platform) waitSettled(id string, n int, timeout time.Duration) app {
	p.t.Helper()
	var a app
	testenv.WaitFor(p.t, timeout, fmt.Sprintf("%s settled at %d instances", id, n), func() error {
		var err error
		if a, err = p.app(id); err != nil {
			return err
		}
		running := 0
		for _, t := range a.Tasks {
			if t.State == "TASK_RUNNING" && (len(a.HealthChecks) == 0 || allAlive(t)) {
				running++
			}
		}
		if len(a.Deployments) > 0 || running != n || len(a.Tasks) != n {
			return fmt.Errorf("%d deployments, %d tasks, %d running (and healthy)", len(a.Deployments), len(a.Tasks), running)
		}
		return nil
	})
	return a
}

func allAlive(t task) bool {
	if len(t.Health) == 0 {
		return false
	}
	for _, h := range t.Health {
		if !h.Alive {
			return false
		}
	}
	return true
}

// deploy POSTs an app definition and waits until it settles.
func (p *platform) deploy(def []byte, timeout time.Duration) app {
	p.t.Helper()
	var created app
	p.mustAPI("POST", "/v2/apps", def, &created)
	return p.waitSettled(created.ID, created.Instances, timeout)
}

// get fetches url (with an optional Host header) and returns the body of a 200.
func (p *platform) get(url, host string) (string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return "", err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s (Host %q): %s", url, host, resp.Status)
	}
	return string(b), nil
}

// waitServes waits until url answers 200 with a body containing want.
func (p *platform) waitServes(url, host, want string) string {
	p.t.Helper()
	var body string
	testenv.WaitFor(p.t, 60*time.Second, fmt.Sprintf("%s (Host %q) serving %q", url, host, want), func() error {
		var err error
		if body, err = p.get(url, host); err != nil {
			return err
		}
		if !strings.Contains(body, want) {
			return fmt.Errorf("body %q", body)
		}
		return nil
	})
	return body
}

func (p *platform) servicePortURL(port int, path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(port) + path
}

type routes struct {
	Services []struct {
		Name        string `json:"name"`
		ServicePort int    `json:"servicePort"`
		VHosts      []string
		Backends    []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
		} `json:"backends"`
	} `json:"services"`
}

// backends is the sorted host ports lbsync routes servicePort to.
func (p *platform) backends(servicePort int) ([]int, error) {
	var r routes
	resp, err := p.http.Get(p.stack.LBSyncURL + "/routes")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	var ports []int
	for _, s := range r.Services {
		if s.ServicePort == servicePort {
			for _, b := range s.Backends {
				ports = append(ports, b.Port)
			}
		}
	}
	sort.Ints(ports)
	return ports, nil
}

// waitRoutesMatch waits until lbsync routes the app's servicePort to
// exactly its tasks' host ports.
func (p *platform) waitRoutesMatch(id string) {
	p.t.Helper()
	testenv.WaitFor(p.t, 60*time.Second, "routes of "+id+" following its tasks", func() error {
		a, err := p.app(id)
		if err != nil {
			return err
		}
		var want []int
		for _, t := range a.Tasks {
			if t.State == "TASK_RUNNING" {
				want = append(want, t.Ports[0])
			}
		}
		sort.Ints(want)
		got, err := p.backends(a.servicePort())
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("routes %v, tasks %v", got, want)
		}
		return nil
	})
}

func hostsOf(a app) map[string]int {
	out := map[string]int{}
	for _, t := range a.Tasks {
		out[t.Host]++
	}
	return out
}

func httpAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// checkHelloImage fails clearly when the local berth/hello predates the
// rule the BRIDGE examples rely on (listen on 80 when $PORT_80 is set):
// an image built from an older checkout would leave them unreachable.
func checkHelloImage(t testing.TB, cli *client.Client) {
	t.Helper()
	ctx := context.Background()
	label := fmt.Sprintf("e2e-image-check-%d", os.Getpid())
	testenv.CleanupContainers(t, cli, "berth.test", label)
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: "berth/hello",
		Env: []string{"PORT0=31005", "PORT_80=31005"}, Labels: map[string]string{"berth.test": label}},
		nil, nil, nil, "")
	if err != nil {
		t.Fatalf("berth/hello: %v", err)
	}
	defer cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("berth/hello: %v", err)
	}
	var logs string
	testenv.WaitFor(t, 30*time.Second, "berth/hello saying where it listens", func() error {
		rc, err := cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			return err
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		if logs = string(b); !strings.Contains(logs, "listening") {
			return fmt.Errorf("logs %q", logs)
		}
		return nil
	})
	if !strings.Contains(logs, "addr=:80 ") {
		t.Fatalf("the local berth/hello image is stale (with $PORT_80 set it must listen on :80; it logged %q): run `make images`", logs)
	}
}

// dumpHAProxy logs the rendered haproxy.cfg and HAProxy's runtime server
// state, for a failed test.
func dumpHAProxy(t testing.TB, dir string) {
	b, _ := os.ReadFile(filepath.Join(dir, "haproxy.cfg"))
	t.Logf("---- haproxy.cfg\n%s", b)
	c, err := net.DialTimeout("unix", filepath.Join(dir, "haproxy.sock"), 2*time.Second)
	if err != nil {
		t.Logf("haproxy socket: %v", err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "show servers state\n")
	state, _ := io.ReadAll(c)
	t.Logf("---- show servers state\n%s", state)
}
