package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/berth-platform/berth/internal/apiclient"
	"github.com/berth-platform/berth/internal/devstack"
	"github.com/berth-platform/berth/internal/testenv"
)

// cluster is a running devstack and what the scenarios ask it.
type cluster struct {
	t     testing.TB
	stack *devstack.Stack
	cfg   devstack.Config
	http  *http.Client
	cli   *client.Client
}

// startCluster starts the whole platform on free ports in a temp dir; it
// stops (every task removed) when the test ends, and fails the test if
// anything was left behind.
func startCluster(t testing.TB) *cluster {
	t.Helper()
	testenv.Image(t, "berth/hello")
	testenv.Image(t, "berth/busybox")
	cli := testenv.Docker(t)
	free := func() int { return testenv.FreePort(t) }
	cfg := devstack.Config{
		Berth: testenv.BerthBinary(t), Consul: testenv.ConsulBinary(t),
		HAProxy: testenv.HAProxyBinary(t), Nginx: testenv.NginxBinary(t),
		WorkDir: t.TempDir(), Listen: fmt.Sprintf("127.0.0.1:%d", free()),
		Agents: 3, AgentListen: []int{free(), free(), free()},
		ConsulPorts: devstack.ConsulPorts{HTTP: free(), DNS: free(), Server: free(),
			SerfLAN: free(), SerfWAN: free()},
		HTTPPort: free(), StatsPort: free(), ClassicPort: free(),
		LBSyncListen:    fmt.Sprintf("127.0.0.1:%d", free()),
		ClassicTemplate: filepath.Join(testenv.RepoRoot(t), "examples", "nginx", "nginx.ctmpl"),
		StackTag:        fmt.Sprintf("chaos-%d-%d", os.Getpid(), time.Now().UnixNano()),
		// HAProxy binds with SO_REUSEPORT, so two stacks on one servicePort
		// would share connections silently: e2e takes 30000-30999, testenv's
		// free ports are 20000-29999, the agents' host ports 31000-32767,
		// other masters start at the bottom of 10000-20000; chaos takes a
		// block of 100 in 19000-19999 by pid.
		MasterArgs: []string{"--service-ports", servicePortBlock(os.Getpid())},
		Progress:   io.Discard,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("devstack: %v", err)
	}
	c := &cluster{t: t, stack: s, cfg: s.Config(), http: &http.Client{Timeout: 5 * time.Second}, cli: cli}
	for i := 1; i <= cfg.Agents; i++ {
		testenv.CleanupContainers(t, cli, "berth.agent-id", s.AgentID(i))
	}
	t.Cleanup(c.stop)
	return c
}

func servicePortBlock(pid int) string {
	lo := 19000 + 100*(pid%10)
	return fmt.Sprintf("%d-%d", lo, lo+99)
}

func (c *cluster) stop() {
	t := c.t
	if t.Failed() {
		entries, _ := os.ReadDir(c.stack.LogsDir())
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(c.stack.LogsDir(), e.Name()))
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("---- %s (tail)\n%s", e.Name(), b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.stack.Stop(ctx); err != nil {
		t.Errorf("devstack stop: %v", err)
	}
	if left := devstack.Leftovers(c.cfg.WorkDir); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
	for i := 1; i <= c.cfg.Agents; i++ {
		ids, err := c.containers("berth.agent-id=" + c.stack.AgentID(i))
		if err != nil || len(ids) > 0 {
			t.Errorf("containers of %s left behind: %v (%v)", devstack.AgentName(i), ids, err)
		}
	}
}

// api calls the master; a status outside 2xx is an error with the body.
func (c *cluster) api(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.stack.MasterURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

func (c *cluster) getJSON(url string, out any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

func (c *cluster) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// app is an app of GET /v2/apps?embed=apps.tasks as the CLI reads it.
type app = apiclient.App

// servicePort is the app's first servicePort (0 without one).
func servicePort(a app) int {
	if sp := a.ServicePorts(); len(sp) > 0 {
		return sp[0]
	}
	return 0
}

// settled is nil once a has no deployment and n running tasks, healthy
// where it has health checks.
func settled(a app, n int) error {
	running := 0
	for _, t := range a.Tasks {
		healthy := len(a.HealthChecks) == 0 || len(t.HealthCheckResults) > 0
		for _, h := range t.HealthCheckResults {
			healthy = healthy && h.Alive
		}
		if t.State == "TASK_RUNNING" && healthy {
			running++
		}
	}
	if len(a.Deployments) > 0 || running != n || len(a.Tasks) != n {
		return fmt.Errorf("%s: %d deployments, %d tasks, %d running and healthy, want %d",
			a.ID, len(a.Deployments), len(a.Tasks), running, n)
	}
	return nil
}

func (c *cluster) apps() ([]app, error) {
	var out struct {
		Apps []app `json:"apps"`
	}
	err := c.api(http.MethodGet, "/v2/apps?embed=apps.tasks", nil, &out)
	return out.Apps, err
}

func (c *cluster) app(id string) (app, error) {
	var out struct {
		App app `json:"app"`
	}
	err := c.api(http.MethodGet, "/v2/apps"+id, nil, &out)
	return out.App, err
}

// deploy POSTs def and waits until the app settles.
func (c *cluster) deploy(def string) app {
	c.t.Helper()
	var created app
	if err := c.api(http.MethodPost, "/v2/apps", []byte(def), &created); err != nil {
		c.t.Fatal(err)
	}
	var a app
	testenv.WaitFor(c.t, 90*time.Second, created.ID+" settled", func() error {
		var err error
		if a, err = c.app(created.ID); err != nil {
			return err
		}
		return settled(a, created.Instances)
	})
	return a
}

// backends are the sorted host ports lbsync routes servicePort to.
func (c *cluster) backends(servicePort int) ([]int, error) {
	var r struct {
		Services []struct {
			ServicePort int `json:"servicePort"`
			Backends    []struct {
				Port int `json:"port"`
			} `json:"backends"`
		} `json:"services"`
	}
	if err := c.getJSON(c.stack.LBSyncURL+"/routes", &r); err != nil {
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

// routesMatch is nil when lbsync routes a's servicePort to exactly its
// running tasks' host ports.
func (c *cluster) routesMatch(a app) error {
	var want []int
	for _, t := range a.Tasks {
		if t.State == "TASK_RUNNING" && len(t.Ports) > 0 {
			want = append(want, t.Ports[0])
		}
	}
	sort.Ints(want)
	got, err := c.backends(servicePort(a))
	if err != nil {
		return err
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s: routes of :%d %v, tasks %v", a.ID, servicePort(a), got, want)
	}
	return nil
}

// catalog is the Consul catalog's service IDs for name ("" with an error
// while Consul does not answer).
func (c *cluster) catalog(name string) ([]string, error) {
	var entries []struct{ ServiceID string }
	if err := c.getJSON("http://"+c.stack.ConsulHTTP+"/v1/catalog/service/"+name, &entries); err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ServiceID)
	}
	sort.Strings(ids)
	return ids, nil
}

// containers are the ids of the running containers with label (k=v).
func (c *cluster) containers(label string) ([]string, error) {
	list, err := c.cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", label))})
	var ids []string
	for _, ct := range list {
		ids = append(ids, ct.ID[:12]+"/"+ct.State)
	}
	sort.Strings(ids)
	return ids, err
}

// processPIDs maps each live process task recorded by the agents to its
// pid and start time ("pid@start").
func (c *cluster) processPIDs() map[string]string {
	out := map[string]string{}
	for _, dir := range c.stack.AgentDirs {
		entries, _ := os.ReadDir(filepath.Join(dir, "process"))
		for _, e := range entries {
			var pf struct {
				PID       int    `json:"pid"`
				StartTime uint64 `json:"startTime"`
				Exited    bool   `json:"exited"`
			}
			b, err := os.ReadFile(filepath.Join(dir, "process", e.Name(), "process.json"))
			if err != nil || json.Unmarshal(b, &pf) != nil || pf.Exited {
				continue
			}
			out[e.Name()] = strconv.Itoa(pf.PID) + "@" + strconv.FormatUint(pf.StartTime, 10)
		}
	}
	return out
}

// pollEvery calls cond every 50 ms until it is nil (returning how long it
// took) or timeout passes (returning cond's last error).
func pollEvery(timeout time.Duration, cond func() error) (time.Duration, error) {
	t0 := time.Now()
	for {
		err := cond()
		if err == nil {
			return time.Since(t0), nil
		}
		if time.Since(t0) > timeout {
			return time.Since(t0), fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func joinKeys(m map[string]string) string {
	var ks []string
	for k, v := range m {
		ks = append(ks, k+"="+v)
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}
