package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// The workload every scenario runs under: a Docker app with an HTTP check
// and a process app, each behind its servicePort.
const (
	webID  = "/chaos/web"
	procID = "/chaos/proc"
	// loadRate is each app's request rate; both together ≥ 200 req/s.
	loadRate = 150
)

func webApp() string {
	return fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 32, "instances": 3,
	"networks": [{"mode": "container/bridge"}],
	"container": {"type": "DOCKER", "docker": {"image": "berth/hello"},
		"portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "protocol": "tcp", "name": "http"}]},
	"healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 10,
		"intervalSeconds": 1, "timeoutSeconds": 2, "maxConsecutiveFailures": 3}],
	"labels": {"SERVICE_NAME": "chaos-web", "HAPROXY_0_MODE": "http"}}`, webID)
}

func procApp() string {
	return fmt.Sprintf(`{"id": %q, "cpus": 0.05, "mem": 16, "instances": 2,
	"cmd": "mkdir -p www && echo \"proc $MESOS_TASK_ID\" > www/index.html && exec busybox httpd -f -p $PORT0 -h www",
	"portDefinitions": [{"port": 0, "protocol": "tcp", "name": "http"}],
	"labels": {"HAPROXY_0_MODE": "http"}}`, procID)
}

// TestChaos starts one cluster, runs the workload, then each scenario
// under load, and prints the table. BERTH_CHAOS picks the profile.
func TestChaos(t *testing.T) {
	prof, err := ProfileFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c := startCluster(t)
	w := c.deployWorkload()
	t.Logf("cluster and workload ready in %.1fs (profile %s)", time.Since(t0).Seconds(), prof.Name)
	var rows []Row
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *cluster, workload, Profile) Row
	}{
		{"agent restart under load", testAgentRestart},
		{"Consul killed and restarted", testConsulRestart},
	} {
		n := len(rows)
		ok := t.Run(sc.name, func(t *testing.T) {
			c.t = t
			row := sc.run(t, c, w, prof)
			row.Scenario = sc.name
			rows = append(rows, row)
		})
		c.t = t
		if !ok { // the table still names it, with whatever it measured
			rows = append(rows[:n], Row{Scenario: sc.name})
			rows[n].Scenario += " FAILED"
		}
	}
	table := TableString(rows)
	t.Logf("profile %s, %.0fs in all\n%s", prof.Name, time.Since(t0).Seconds(), table)
	if out := os.Getenv("BERTH_CHAOS_TABLE"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Errorf("write the table: %v", err)
		}
	}
}

// workload is the deployed apps' servicePorts.
type workload struct {
	web, proc app
}

func (c *cluster) deployWorkload() workload {
	c.t.Helper()
	w := workload{web: c.deploy(webApp()), proc: c.deploy(procApp())}
	for _, a := range []app{w.web, w.proc} {
		testenv.WaitFor(c.t, 60*time.Second, a.ID+" routed", func() error {
			if err := c.routesMatch(a); err != nil {
				return err
			}
			return c.getOK(servicePortURL(a))
		})
	}
	return w
}

func servicePortURL(a app) string { return "http://127.0.0.1:" + strconv.Itoa(servicePort(a)) + "/" }

func (c *cluster) getOK(url string) error {
	resp, err := c.http.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// loads is one load generator per app.
type loads []*Load

// startLoads sends loadRate req/s through each app's servicePort, for at
// most limit (and as many requests as that takes at the rate).
func startLoads(ctx context.Context, w workload, limit time.Duration) loads {
	var ls loads
	for _, a := range []app{w.web, w.proc} {
		ls = append(ls, StartLoad(ctx, LoadConfig{URL: servicePortURL(a), Rate: loadRate, Workers: 16,
			For: limit, Max: int64(loadRate * limit.Seconds())}))
	}
	return ls
}

func (ls loads) stop() (sent, failed int64) {
	for _, l := range ls {
		l.Stop()
		sent += l.Sent()
		failed += l.Failed()
	}
	return sent, failed
}

func (ls loads) errorsBetween(from, to time.Time) []ReqError {
	var out []ReqError
	for _, l := range ls {
		out = append(out, l.ErrorsBetween(from, to)...)
	}
	return out
}

func (ls loads) firstErrors(n int) []ReqError {
	var out []ReqError
	for _, l := range ls {
		out = append(out, l.Errors()...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out[:min(n, len(out))]
}

// snapshot is what must survive a fault unchanged.
type snapshot struct {
	apps, tasks, ports []string          // app ids, task ids, appID:servicePort
	containers         []string          // id/state of every container of the agents
	pids               map[string]string // process task → pid@starttime
}

func (c *cluster) snapshot() (snapshot, error) {
	var s snapshot
	apps, err := c.apps()
	if err != nil {
		return s, err
	}
	for _, a := range apps {
		s.apps = append(s.apps, a.ID)
		s.ports = append(s.ports, a.ID+":"+strconv.Itoa(servicePort(a)))
		for _, t := range a.Tasks {
			s.tasks = append(s.tasks, t.ID)
		}
	}
	for i := 1; i <= c.cfg.Agents; i++ {
		ids, err := c.containers("berth.agent-id=" + c.stack.AgentID(i))
		if err != nil {
			return s, err
		}
		s.containers = append(s.containers, ids...)
	}
	s.pids = c.processPIDs()
	for _, l := range [][]string{s.apps, s.tasks, s.ports, s.containers} {
		sort.Strings(l)
	}
	return s, nil
}

// countLoss fills row's lost/duplicated apps, tasks and servicePorts.
func countLoss(row *Row, before, after snapshot) {
	row.AppsLost, row.AppsDup = Diff(before.apps, after.apps)
	row.TasksLost, row.TasksDup = Diff(before.tasks, after.tasks)
	row.PortsLost, row.PortsDup = Diff(before.ports, after.ports)
}

// steady is nil when every app is settled with exactly before's tasks and
// lbsync routes each to its tasks.
func (c *cluster) steady(before snapshot) error {
	apps, err := c.apps()
	if err != nil {
		return err
	}
	var tasks []string
	for _, a := range apps {
		if err := settled(a, a.Instances); err != nil {
			return err
		}
		if err := c.routesMatch(a); err != nil {
			return err
		}
		for _, t := range a.Tasks {
			tasks = append(tasks, t.ID)
		}
	}
	sort.Strings(tasks)
	if !reflect.DeepEqual(tasks, before.tasks) {
		return fmt.Errorf("tasks %v, before %v", tasks, before.tasks)
	}
	return nil
}

func shortErrs(errs []ReqError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s %s", e.At.Format("15:04:05.000"), e.Err)
	}
	return b.String()
}
