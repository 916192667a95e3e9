package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// tierGroup is a two-tier group: a backend and a frontend that depends
// on it, both with automatic servicePorts and HTTP health checks.
const tierGroup = `{"id": "/e2e/shop", "apps": [
  {"id": "backend", "cpus": 0.05, "mem": 32, "instances": 2,
   "networks": [{"mode": "container/bridge"}],
   "container": {"type": "DOCKER", "docker": {"image": "berth/hello"},
     "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "name": "http"}]},
   "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 10,
     "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}],
   "labels": {"HAPROXY_0_MODE": "http"}},
  {"id": "frontend", "cpus": 0.05, "mem": 32, "instances": 1, "dependencies": ["backend"],
   "networks": [{"mode": "container/bridge"}],
   "container": {"type": "DOCKER", "docker": {"image": "berth/hello"},
     "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 0, "name": "http"}]},
   "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 10,
     "intervalSeconds": 1, "timeoutSeconds": 1, "maxConsecutiveFailures": 3}],
   "labels": {"HAPROXY_0_MODE": "http"}}]}`

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

// TestTwoTierGroup: one POST /v2/groups brings up a backend and the
// frontend that depends on it; the frontend's task is staged only after
// every backend task is running and healthy (task timestamps); both
// answer through HAProxy on their servicePorts; DELETE of the group
// under load removes both apps in one deployment and leaves no task,
// container, Consul service or route.
func TestTwoTierGroup(t *testing.T) {
	p := startPlatform(t)
	var res struct {
		DeploymentID string `json:"deploymentId"`
	}
	p.mustAPI("POST", "/v2/groups", []byte(tierGroup), &res)
	back := p.waitSettled("/e2e/shop/backend", 2, 120*time.Second)
	front := p.waitSettled("/e2e/shop/frontend", 1, 120*time.Second)

	var latestReady string
	for _, bt := range p.timedTasks("/e2e/shop/backend") {
		if len(bt.Health) == 0 || bt.Health[0].FirstSuccess == "" {
			t.Fatalf("backend task %s has no first health success", bt.ID)
		}
		latestReady = max(latestReady, bt.Health[0].FirstSuccess, bt.StartedAt)
	}
	ft := p.timedTasks("/e2e/shop/frontend")[0]
	t.Logf("backend ready at %s (latest of its tasks); frontend staged at %s, started at %s",
		latestReady, ft.StagedAt, ft.StartedAt)
	if ft.StagedAt < latestReady {
		t.Fatalf("frontend staged at %s, before the backend was running and healthy (%s)", ft.StagedAt, latestReady)
	}

	for _, a := range []app{back, front} {
		p.waitServes(p.servicePortURL(a.servicePort(), "/"), "", "")
		p.waitRoutesMatch(a.ID)
	}
	var g struct {
		ID   string `json:"id"`
		Apps []struct {
			ID string `json:"id"`
		} `json:"apps"`
	}
	p.mustAPI("GET", "/v2/groups/e2e/shop", nil, &g)
	if len(g.Apps) != 2 {
		t.Fatalf("GET /v2/groups/e2e/shop = %+v", g)
	}

	if n := p.consulInstances("/e2e/shop/"); n != 3 {
		t.Fatalf("Consul has %d instances of the group's apps, want 3", n)
	}
	// Delete under load: requests on both servicePorts while the group goes.
	ctx, stop := context.WithCancel(context.Background())
	loads := []*load{runLoad(ctx, p.servicePortURL(front.servicePort(), "/"), 50, 4),
		runLoad(ctx, p.servicePortURL(back.servicePort(), "/"), 50, 4)}
	defer stop()
	testenv.WaitFor(t, 10*time.Second, "load running", func() error {
		if loads[0].sent.Load() < 10 || loads[1].sent.Load() < 10 {
			return fmt.Errorf("sent %d, %d", loads[0].sent.Load(), loads[1].sent.Load())
		}
		return nil
	})
	p.mustAPI("DELETE", "/v2/groups/e2e/shop", nil, nil)
	testenv.WaitFor(t, 60*time.Second, "group's tasks, containers, Consul services and routes gone", func() error {
		var apps struct {
			Apps []any `json:"apps"`
		}
		if err := p.api("GET", "/v2/apps", nil, &apps); err != nil {
			return err
		}
		if len(apps.Apps) != 0 {
			return fmt.Errorf("%d apps left", len(apps.Apps))
		}
		for _, a := range []app{back, front} {
			if n := p.containers(a.ID); n != 0 {
				return fmt.Errorf("%s: %d containers", a.ID, n)
			}
			if b, err := p.backends(a.servicePort()); err != nil || len(b) != 0 {
				return fmt.Errorf("%s: routes %v (%v)", a.ID, b, err)
			}
		}
		if n := p.consulInstances("/e2e/shop/"); n != 0 {
			return fmt.Errorf("%d Consul instances", n)
		}
		return nil
	})
	stop()
	t.Logf("load during the delete: frontend %d sent (%d failed), backend %d sent (%d failed)",
		loads[0].sent.Load(), loads[0].failed.Load(), loads[1].sent.Load(), loads[1].failed.Load())
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
