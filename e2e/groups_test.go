package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

type timedTask struct {
	ID        string `json:"id"`
	StagedAt  string `json:"stagedAt"`
	StartedAt string `json:"startedAt"`
	Health    []struct {
		FirstSuccess string `json:"firstSuccess"`
	} `json:"healthCheckResults"`
}

func (p *platform) timedTasks(id string) []timedTask {
	p.t.Helper()
	var out struct {
		App struct {
			Tasks []timedTask `json:"tasks"`
		} `json:"app"`
	}
	p.mustAPI("GET", "/v2/apps"+id, nil, &out)
	return out.App.Tasks
}

// TestTwoTierGroup: one POST /v2/groups of examples/groups/two-tier.json
// brings up a backend and the frontend that depends on it; the
// frontend's task is staged only after every backend task is running and
// healthy (task timestamps); both answer through HAProxy on their
// servicePorts. DELETE of the group under load is one deployment that
// stops both apps (its deployment_success plan); every request answered
// before the DELETE succeeded; afterwards no task, container, Consul
// service or route is left and the servicePorts refuse or answer 503.
func TestTwoTierGroup(t *testing.T) {
	p := startPlatform(t)
	body, err := os.ReadFile(filepath.Join(p.root, "examples", "groups", "two-tier.json"))
	if err != nil {
		t.Fatal(err)
	}
	p.mustAPI("POST", "/v2/groups", body, nil)
	back := p.waitSettled("/shop/backend", 2, 120*time.Second)
	front := p.waitSettled("/shop/frontend", 1, 120*time.Second)
	p.checkStagedAfterReady(back.ID, front.ID)
	for _, a := range []app{back, front} {
		p.waitServes(p.servicePortURL(a.servicePort(), "/"), "", "")
		p.waitRoutesMatch(a.ID)
	}
	p.waitServes("http://"+httpAddr(p.stack.Config().HTTPPort)+"/", "shop.berth.local", "")
	var g struct {
		Apps []struct {
			ID string `json:"id"`
		} `json:"apps"`
	}
	p.mustAPI("GET", "/v2/groups/shop", nil, &g)
	if len(g.Apps) != 2 {
		t.Fatalf("GET /v2/groups/shop = %+v", g)
	}
	if n := p.consulInstances("/shop/"); n != 3 {
		t.Fatalf("Consul has %d instances of the group's apps, want 3", n)
	}
	for _, a := range []app{back, front} {
		if n, err := p.routeEntries(a.servicePort()); err != nil || n != 1 {
			t.Fatalf("%s: %d lbsync routes on servicePort %d before the delete (%v)", a.ID, n, a.servicePort(), err)
		}
	}
	plans := p.watchDeploymentPlans(t)

	// Delete under load: requests on both servicePorts while the group goes.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	loads := []*load{runLoad(ctx, p.servicePortURL(front.servicePort(), "/"), 50, 4),
		runLoad(ctx, p.servicePortURL(back.servicePort(), "/"), 50, 4)}
	testenv.WaitFor(t, 10*time.Second, "load running", func() error {
		if loads[0].sent.Load() < 20 || loads[1].sent.Load() < 20 {
			return fmt.Errorf("sent %d, %d", loads[0].sent.Load(), loads[1].sent.Load())
		}
		return nil
	})
	for i, l := range loads {
		if n := l.failed.Load(); n != 0 {
			l.mu.Lock()
			t.Errorf("load %d: %d of %d requests failed before the DELETE: %v", i, n, l.sent.Load(), l.firstErrs)
			l.mu.Unlock()
		}
	}
	var del struct {
		DeploymentID string `json:"deploymentId"`
	}
	p.mustAPI("DELETE", "/v2/groups/shop", nil, &del)
	if del.DeploymentID == "" {
		t.Fatal("DELETE /v2/groups/shop answered no deploymentId")
	}
	p.checkDeploymentsDuringDelete(del.DeploymentID)
	p.waitGroupGone([]app{back, front})
	stop()
	for i, l := range loads {
		l.mu.Lock()
		t.Logf("load %d during and after the delete: %d sent, %d failed (the group is gone), first errors %v",
			i, l.sent.Load(), l.failed.Load(), l.firstErrs)
		l.mu.Unlock()
	}
	plan := plans.wait(t, del.DeploymentID)
	if got := plan.stopped(); fmt.Sprint(got) != "[/shop/backend /shop/frontend]" {
		t.Errorf("deployment %s stops %v, want both apps in one deployment (plan %+v)", del.DeploymentID, got, plan)
	}
	for _, a := range []app{back, front} {
		url := p.servicePortURL(a.servicePort(), "/")
		testenv.WaitFor(t, 30*time.Second, url+" refused or 503", func() error {
			code, _, err := p.status(url, "")
			if err != nil || code == 503 {
				return nil
			}
			return fmt.Errorf("answered %d", code)
		})
	}
}

// checkStagedAfterReady fails unless every task of dependent was staged
// after the latest of dep's tasks was running and healthy.
func (p *platform) checkStagedAfterReady(dep, dependent string) {
	p.t.Helper()
	var latestReady string
	for _, bt := range p.timedTasks(dep) {
		if len(bt.Health) == 0 || bt.Health[0].FirstSuccess == "" {
			p.t.Fatalf("%s task %s has no first health success", dep, bt.ID)
		}
		latestReady = max(latestReady, bt.Health[0].FirstSuccess, bt.StartedAt)
	}
	for _, ft := range p.timedTasks(dependent) {
		p.t.Logf("%s ready at %s (latest of its tasks); %s staged at %s", dep, latestReady, dependent, ft.StagedAt)
		if ft.StagedAt < latestReady {
			p.t.Fatalf("%s staged at %s, before %s was running and healthy (%s)", dependent, ft.StagedAt, dep, latestReady)
		}
	}
}

// checkDeploymentsDuringDelete: while the delete runs, /v2/deployments
// lists it as the only deployment, affecting both apps. (The stop steps
// are checked on its deployment_success plan, which cannot be missed.)
func (p *platform) checkDeploymentsDuringDelete(id string) {
	p.t.Helper()
	var list []struct {
		ID           string   `json:"id"`
		AffectedApps []string `json:"affectedApps"`
	}
	p.mustAPI("GET", "/v2/deployments", nil, &list)
	if len(list) == 0 {
		p.t.Log("the delete finished before GET /v2/deployments")
		return
	}
	sort.Strings(list[0].AffectedApps)
	if len(list) != 1 || list[0].ID != id || fmt.Sprint(list[0].AffectedApps) != "[/shop/backend /shop/frontend]" {
		p.t.Errorf("/v2/deployments during the group delete: %+v, want one (%s) affecting both apps", list, id)
	}
}

// waitGroupGone waits until the apps, their containers, Consul services
// and lbsync backends are gone.
func (p *platform) waitGroupGone(apps []app) {
	p.t.Helper()
	testenv.WaitFor(p.t, 60*time.Second, "group's tasks, containers, Consul services and routes gone", func() error {
		var list struct {
			Apps []any `json:"apps"`
		}
		if err := p.api("GET", "/v2/apps", nil, &list); err != nil {
			return err
		}
		if len(list.Apps) != 0 {
			return fmt.Errorf("%d apps left", len(list.Apps))
		}
		for _, a := range apps {
			if n := p.containers(a.ID); n != 0 {
				return fmt.Errorf("%s: %d containers", a.ID, n)
			}
			if n, err := p.routeEntries(a.servicePort()); err != nil || n != 0 {
				return fmt.Errorf("%s: lbsync has %d routes on servicePort %d (%v)", a.ID, n, a.servicePort(), err)
			}
		}
		if n := p.consulInstances("/shop/"); n != 0 {
			return fmt.Errorf("%d Consul instances", n)
		}
		return nil
	})
}

// routeEntries counts lbsync's routes (with or without backends) on
// servicePort.
func (p *platform) routeEntries(servicePort int) (int, error) {
	resp, err := p.http.Get(p.stack.LBSyncURL + "/routes")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r routes
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range r.Services {
		if s.ServicePort == servicePort {
			n++
		}
	}
	return n, nil
}

// deploymentPlan is the plan of a deployment_success event.
type deploymentPlan struct {
	ID    string `json:"id"`
	Steps []struct {
		Actions []struct {
			Action string `json:"action"`
			App    string `json:"app"`
		} `json:"actions"`
	} `json:"steps"`
}

// stopped lists the apps the plan stops, sorted.
func (d deploymentPlan) stopped() []string {
	var out []string
	for _, s := range d.Steps {
		for _, a := range s.Actions {
			if a.Action == "StopApplication" {
				out = append(out, a.App)
			}
		}
	}
	sort.Strings(out)
	return out
}

type planWatch struct {
	mu    sync.Mutex
	plans map[string]deploymentPlan
}

// watchDeploymentPlans collects the plans of deployment_success events.
func (p *platform) watchDeploymentPlans(t *testing.T) *planWatch {
	req, _ := http.NewRequest("GET", p.masterURL+"/v2/events?event_type=deployment_success", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req) // a stream: no timeout
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	w := &planWatch{plans: map[string]deploymentPlan{}}
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			var ev struct{ Plan deploymentPlan }
			if ok && json.Unmarshal([]byte(data), &ev) == nil {
				w.mu.Lock()
				w.plans[ev.Plan.ID] = ev.Plan
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *planWatch) wait(t *testing.T, id string) deploymentPlan {
	t.Helper()
	var d deploymentPlan
	testenv.WaitFor(t, 30*time.Second, "deployment_success of "+id, func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		var ok bool
		if d, ok = w.plans[id]; !ok {
			return fmt.Errorf("got plans of %d other deployments", len(w.plans))
		}
		return nil
	})
	return d
}

// consulInstances counts the Consul services (on the dev agent) whose
// berth_app is below prefix.
func (p *platform) consulInstances(prefix string) int {
	p.t.Helper()
	resp, err := p.http.Get("http://" + p.stack.ConsulHTTP + "/v1/agent/services")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var svcs map[string]struct {
		Meta map[string]string `json:"Meta"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&svcs); err != nil {
		p.t.Fatal(err)
	}
	n := 0
	for _, s := range svcs {
		if strings.HasPrefix(s.Meta["berth_app"], prefix) {
			n++
		}
	}
	return n
}
