package hatest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election/failover"
)

// taskCmd runs until killed (it ignores SIGTERM, so every kill takes the
// app's kill grace period) or until the test process is gone. It becomes
// ready (its COMMAND health check passes) a second after it starts, so a
// rolling restart goes in waves: the next old tasks are killed only once
// the new ones are healthy. Both make the restart last long enough to kill
// the leader in its middle.
func taskCmd() string {
	return fmt.Sprintf(`trap "" TERM; sleep 1; touch ready; while kill -0 %d 2>/dev/null; do sleep 1; done`, os.Getpid())
}

func appJSON(id string, instances int, ports int, env string) string {
	pd := "[]"
	if ports == 1 {
		pd = `[{"port":0}]`
	} else if ports == 2 {
		pd = `[{"port":0},{"port":0}]`
	}
	return fmt.Sprintf(`{"id":%q,"cmd":%q,"cpus":0.01,"mem":8,"instances":%d,"portDefinitions":%s,
		"env":{"GEN":%q},"taskKillGracePeriodSeconds":3,"labels":{"BERTH_DRAIN_SECONDS":"0"},
		"healthChecks":[{"protocol":"COMMAND","command":{"value":"test -f ready"},"gracePeriodSeconds":30,
			"intervalSeconds":1,"timeoutSeconds":2,"maxConsecutiveFailures":0}],
		"upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0}}`, id, taskCmd(), instances, pd, env)
}

type appView struct {
	ID           string `json:"id"`
	Version      string `json:"version"`
	Instances    int    `json:"instances"`
	ServicePorts []int  `json:"servicePorts"`
	Env          map[string]string
}

type taskView struct {
	ID      string `json:"id"`
	AppID   string `json:"appId"`
	State   string `json:"state"`
	Version string `json:"version"`
	Ports   []int  `json:"ports"`
}

// snapshot is everything the failover must keep.
type snapshot struct {
	apps     map[string]appView
	versions map[string][]string
	tasks    map[string][]taskView // by app, sorted by id
}

func takeSnapshot(t testing.TB, base string) snapshot {
	t.Helper()
	var apps struct{ Apps []appView }
	getJSON(t, base+"/v2/apps", &apps)
	s := snapshot{apps: map[string]appView{}, versions: map[string][]string{}, tasks: map[string][]taskView{}}
	for _, a := range apps.Apps {
		s.apps[a.ID] = a
		var v struct{ Versions []string }
		getJSON(t, base+"/v2/apps"+a.ID+"/versions", &v)
		sort.Strings(v.Versions)
		s.versions[a.ID] = v.Versions
	}
	var tasks struct{ Tasks []taskView }
	getJSON(t, base+"/v2/tasks", &tasks)
	for _, tk := range tasks.Tasks {
		s.tasks[tk.AppID] = append(s.tasks[tk.AppID], tk)
	}
	for _, ts := range s.tasks {
		sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	}
	return s
}

func taskIDs(ts []taskView) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// settled reports whether no deployment runs and every app has exactly its
// instances, running, of its current version.
func settled(base string) error {
	_, b, err := call(http.MethodGet, base+"/v2/deployments", "", 200)
	if err != nil {
		return err
	}
	var ds []any
	if err := json.Unmarshal(b, &ds); err != nil || len(ds) > 0 {
		return fmt.Errorf("deployments still running: %s", b)
	}
	_, b, err = call(http.MethodGet, base+"/v2/apps?embed=apps.tasks", "", 200)
	if err != nil {
		return err
	}
	var apps struct {
		Apps []struct {
			appView
			Tasks []taskView `json:"tasks"`
		}
	}
	if err := json.Unmarshal(b, &apps); err != nil {
		return err
	}
	for _, a := range apps.Apps {
		if len(a.Tasks) != a.Instances {
			return fmt.Errorf("%s: %d tasks for %d instances", a.ID, len(a.Tasks), a.Instances)
		}
		for _, tk := range a.Tasks {
			if tk.State != "TASK_RUNNING" || tk.Version != a.Version {
				return fmt.Errorf("%s: task %s is %s of version %s (app version %s)", a.ID, tk.ID, tk.State, tk.Version, a.Version)
			}
		}
	}
	return nil
}

// TestFailoverDuringRollingRestart: three masters, one agent, two apps;
// a rolling restart of one app; SIGKILL the leader in its middle.
func TestFailoverDuringRollingRestart(t *testing.T) {
	c := newCluster(t, 3, 2*time.Second)
	leader := c.leader()
	ag := startAgent(t, c, "ha-agent-1")
	base := c.masters[0].url // any master: the others forward
	testenv.WaitFor(t, 30*time.Second, "the agent registers with the leader", func() error {
		var st struct {
			Active int `json:"activated_slaves"`
		}
		_, b, err := call(http.MethodGet, base+"/master/state", "", 200)
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err == nil && st.Active != 1 {
			err = fmt.Errorf("%d active agents", st.Active)
		}
		return err
	})
	for _, body := range []string{appJSON("/ha/stable", 2, 1, "1"), appJSON("/ha/roll", 4, 2, "1")} {
		if _, _, err := call(http.MethodPost, base+"/v2/apps", body, 201); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, 60*time.Second, "both apps deployed and running", func() error { return settled(base) })
	before := takeSnapshot(t, base)
	livesBefore := ag.live()

	// A new generation of /ha/roll: a rolling restart, two tasks at a time.
	_, b, err := call(http.MethodPut, base+"/v2/apps/ha/roll", appJSON("/ha/roll", 4, 2, "2"), 200)
	if err != nil {
		t.Fatal(err)
	}
	var put struct{ Version, DeploymentID string }
	if err := json.Unmarshal(b, &put); err != nil || put.DeploymentID == "" {
		t.Fatalf("PUT answer %s: %v", b, err)
	}
	// Half-way: the first wave of new tasks exists, the second does not
	// yet (it waits for the first to be healthy), so the new leader has to
	// launch it.
	testenv.WaitFor(t, 30*time.Second, "the rolling restart is half-way", func() error {
		var tasks struct{ Tasks []taskView }
		_, b, err := call(http.MethodGet, leader.url+"/v2/apps/ha/roll/tasks", "", 200)
		if err == nil {
			err = json.Unmarshal(b, &tasks)
		}
		if err != nil {
			return err
		}
		var old, cur int
		for _, tk := range tasks.Tasks {
			if tk.Version == put.Version {
				cur++
			} else {
				old++
			}
		}
		if cur == 0 || cur >= 4 {
			return fmt.Errorf("%d old and %d new tasks", old, cur)
		}
		t.Logf("killing the leader with %d old and %d new tasks of /ha/roll", old, cur)
		return nil
	})
	survivors := c.without(leader)
	var urls []string
	for _, s := range survivors {
		urls = append(urls, s.url)
	}
	probe := func(ctx context.Context, u string) error {
		code, b, err := callCtx(ctx, http.MethodPost, u+"/v2/apps", `{"id":"/ha/probe","cmd":"true","instances":0,"portDefinitions":[{"port":0}]}`, 0)
		if err == nil && code != 201 && code != 409 { // 409: an earlier, unanswered attempt landed
			err = fmt.Errorf("POST via %s: %d %s", u, code, b)
		}
		return err
	}
	d, via, err := failover.Measure(context.Background(), failover.Config{Survivors: urls, Kill: leader.kill,
		Probe: probe, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("%v\nsurvivor log:\n%s", err, survivors[0].logTail())
	}
	t.Logf("failover: SIGKILL of %s → first write through %s in %s", leader.url, via, d.Round(time.Millisecond))
	c.masters = survivors
	base = urls[0]
	testenv.WaitFor(t, 60*time.Second, "the rolling restart completes under the new leader", func() error { return settled(base) })
	after := takeSnapshot(t, base)
	t.Logf("before: apps %v tasks /ha/roll %v; after: apps %v tasks /ha/roll %v", keys(before.apps),
		taskIDs(before.tasks["/ha/roll"]), keys(after.apps), taskIDs(after.tasks["/ha/roll"]))
	checkNothingLost(t, before, after, put.Version)
	// Running tasks kept running; the agent runs exactly the master's tasks.
	testenv.WaitFor(t, 30*time.Second, "the agent runs exactly the master's tasks", func() error {
		live := ag.live()
		want := map[string]bool{}
		for _, ts := range after.tasks {
			for _, tk := range ts {
				want[tk.ID] = true
			}
		}
		for id := range live {
			if !want[id] {
				return fmt.Errorf("task %s still runs on the agent but not in the master", id)
			}
		}
		for id := range want {
			if _, ok := live[id]; !ok {
				return fmt.Errorf("task %s is in the master but does not run on the agent", id)
			}
		}
		return nil
	})
	// Every task ever launched is one the master knows, before or after:
	// no launch was lost (and redone) or duplicated across the failover.
	known := map[string]bool{}
	for _, s := range []snapshot{before, after} {
		for _, ts := range s.tasks {
			for _, tk := range ts {
				known[tk.ID] = true
			}
		}
	}
	if launched := ag.launched(); !slices.Equal(keys(launched), keys(known)) {
		t.Errorf("the agent launched %d tasks, the master knows %d: launched %v, known %v",
			len(launched), len(known), keys(launched), keys(known))
	}
	for _, tk := range before.tasks["/ha/stable"] {
		if now := ag.live()[tk.ID]; now.PID != livesBefore[tk.ID].PID {
			t.Errorf("stable task %s was restarted (pid %d → %d)", tk.ID, livesBefore[tk.ID].PID, now.PID)
		}
	}
}

// checkNothingLost compares the state before the rolling restart and the
// failover with the state after both.
func checkNothingLost(t *testing.T, before, after snapshot, newVersion string) {
	t.Helper()
	ports := map[int]string{}
	for id, a := range after.apps {
		for _, p := range a.ServicePorts {
			if other, dup := ports[p]; dup {
				t.Errorf("servicePort %d allocated to both %s and %s", p, other, id)
			}
			ports[p] = id
		}
	}
	for id, a := range before.apps {
		got, ok := after.apps[id]
		if !ok {
			t.Errorf("app %s lost", id)
			continue
		}
		if !slices.Equal(got.ServicePorts, a.ServicePorts) {
			t.Errorf("%s servicePorts %v → %v", id, a.ServicePorts, got.ServicePorts)
		}
	}
	if len(after.apps) != len(before.apps)+1 || after.apps["/ha/probe"].ID == "" {
		t.Errorf("apps after: %v (want the %d before plus /ha/probe)", keys(after.apps), len(before.apps))
	}
	if !slices.Equal(after.versions["/ha/stable"], before.versions["/ha/stable"]) {
		t.Errorf("/ha/stable versions %v → %v", before.versions["/ha/stable"], after.versions["/ha/stable"])
	}
	if want := append(slices.Clone(before.versions["/ha/roll"]), newVersion); !slices.Equal(after.versions["/ha/roll"], want) {
		t.Errorf("/ha/roll versions %v, want %v", after.versions["/ha/roll"], want)
	}
	if !slices.Equal(taskIDs(after.tasks["/ha/stable"]), taskIDs(before.tasks["/ha/stable"])) {
		t.Errorf("/ha/stable tasks %v → %v", taskIDs(before.tasks["/ha/stable"]), taskIDs(after.tasks["/ha/stable"]))
	}
	roll := after.tasks["/ha/roll"]
	if len(roll) != 4 {
		t.Errorf("/ha/roll has %d tasks, want 4: %v", len(roll), taskIDs(roll))
	}
	hostPorts := map[int]string{}
	for _, tk := range append(slices.Clone(roll), after.tasks["/ha/stable"]...) {
		if tk.AppID == "/ha/roll" && (tk.Version != newVersion || slices.Contains(taskIDs(before.tasks["/ha/roll"]), tk.ID)) {
			t.Errorf("/ha/roll task %s of version %s survived the restart (new version %s)", tk.ID, tk.Version, newVersion)
		}
		for _, p := range tk.Ports {
			if other, dup := hostPorts[p]; dup {
				t.Errorf("host port %d given to both %s and %s", p, other, tk.ID)
			}
			hostPorts[p] = tk.ID
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// BenchmarkFailover: SIGKILL the leader of three real `berth master --zk`
// processes (session timeout 2 s) and time the first successful POST
// /v2/apps through a survivor; a new master replaces the dead one each
// round. Run with -benchtime 20x; reports p50/p99/max in seconds.
func BenchmarkFailover(b *testing.B) {
	c := newCluster(b, 3, 2*time.Second)
	var times []time.Duration
	for i := range b.N {
		leader := c.leader()
		survivors := c.without(leader)
		var urls []string
		for _, s := range survivors {
			urls = append(urls, s.url)
		}
		id := fmt.Sprintf("/bench/app-%d", i)
		probe := func(ctx context.Context, u string) error {
			code, body, err := callCtx(ctx, http.MethodPost, u+"/v2/apps",
				fmt.Sprintf(`{"id":%q,"cmd":"true","instances":0,"portDefinitions":[{"port":0}]}`, id), 0)
			if err == nil && code != 201 && code != 409 {
				err = fmt.Errorf("POST via %s: %d %s", u, code, body)
			}
			return err
		}
		d, _, err := failover.Measure(context.Background(), failover.Config{Survivors: urls, Kill: leader.kill,
			Probe: probe, Timeout: 60 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, d)
		c.masters = append(survivors, c.startMaster())
	}
	var apps struct{ Apps []appView }
	getJSON(b, c.masters[0].url+"/v2/apps", &apps)
	if len(apps.Apps) != b.N {
		b.Fatalf("%d apps after %d failovers with one POST each", len(apps.Apps), b.N)
	}
	s := failover.Summarize(times)
	b.Logf("failover %s", s)
	b.ReportMetric(s.P50.Seconds(), "p50-s")
	b.ReportMetric(s.P99.Seconds(), "p99-s")
	b.ReportMetric(s.Max.Seconds(), "max-s")
}
