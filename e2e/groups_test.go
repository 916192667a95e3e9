package e2e

import (
	"fmt"
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
// removes both apps in one deployment and their routes.
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

	p.mustAPI("DELETE", "/v2/groups/e2e/shop", nil, nil)
	testenv.WaitFor(t, 60*time.Second, "group's tasks, containers and routes gone", func() error {
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
		return nil
	})
}
