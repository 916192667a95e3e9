package livetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

// sleeper is a process app that runs until killed.
func sleeper(id string) string {
	return fmt.Sprintf(`{"id":%q,"cmd":"sleep 600","cpus":0.01,"mem":8}`, id)
}

// apiErr is Marathon's error body: a message, and for a 422 the details
// of each violation, for a 409 of a locked app the deployments.
type apiErr struct {
	Message string
	Details []struct {
		Path   string
		Errors []string
	}
	Deployments []struct{ ID string }
}

func (s *stack) apiErr(method, path, body string, want int) apiErr {
	s.t.Helper()
	var e apiErr
	if err := json.Unmarshal(s.must(method, path, body, want), &e); err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return e
}

// TestGroupEndpointsLive drives the group endpoints' less travelled paths
// against a real master and agent: a subgroup created by a POST to its
// parent's path (with and without an id in the body), Marathon's 409 and
// 422 bodies (existing group, id outside its group, dependency cycle), a change refused while a deployment runs and a forced
// DELETE of the group during it.
func TestGroupEndpointsLive(t *testing.T) {
	s := newStack(t)
	a := s.agent("node-a")
	s.must("POST", "/v2/groups", `{"id":"/lv","apps":[`+sleeper("a")+`]}`, 201)
	s.noDeployments()

	h, _, err := s.callHeader("POST", "/v2/groups/lv", `{"id":"sub","apps":[`+sleeper("b")+`]}`, 201)
	if err != nil {
		t.Fatal(err)
	}
	if loc := h.Get("Location"); loc != "/v2/groups/lv/sub" {
		t.Errorf("POST /v2/groups/lv: Location %q, want /v2/groups/lv/sub", loc)
	}
	s.must("POST", "/v2/groups/lv/sub2", `{"apps":[`+sleeper("c")+`]}`, 201)
	s.waitTasks("/lv/sub/b", "created below /lv", 30*time.Second, running(1))
	s.waitTasks("/lv/sub2/c", "created at the posted path", 30*time.Second, running(1))
	var g struct{ Groups []struct{ ID string } }
	_ = json.Unmarshal(s.must("GET", "/v2/groups/lv", "", 200), &g)
	if fmt.Sprint(g.Groups) != "[{/lv/sub} {/lv/sub2}]" {
		t.Errorf("GET /v2/groups/lv groups = %v", g.Groups)
	}

	if e := s.apiErr("POST", "/v2/groups/lv", `{"id":"sub"}`, 409); e.Message != "Group /lv/sub is already created. Use PUT to change this group." {
		t.Errorf("POST of an existing subgroup: %+v", e)
	}
	e := s.apiErr("POST", "/v2/groups/lv", `{"id":"sub3","apps":[`+sleeper("/elsewhere/x")+`]}`, 422)
	if e.Message != "Object is not valid" || len(e.Details) != 1 || e.Details[0].Path != "/apps(0)/id" ||
		!strings.Contains(strings.Join(e.Details[0].Errors, " "), "is not child of '/lv/sub3'") {
		t.Errorf("app id outside its group: %+v", e)
	}
	e = s.apiErr("POST", "/v2/groups/lv", `{"id":"cyc","apps":[
		{"id":"x","cmd":"sleep 600","cpus":0.01,"mem":8,"dependencies":["y"]},
		{"id":"y","cmd":"sleep 600","cpus":0.01,"mem":8,"dependencies":["x"]}]}`, 422)
	if e.Message != "Object is not valid" || len(e.Details) != 1 || e.Details[0].Path != "/dependencies" ||
		!strings.Contains(strings.Join(e.Details[0].Errors, " "), "cyclic") {
		t.Errorf("dependency cycle: %+v", e)
	}
	if e := s.apiErr("PUT", "/v2/groups/lv/sub", `{"id":"/lv/other"}`, 422); len(e.Details) != 1 || e.Details[0].Path != "/id" {
		t.Errorf("PUT with another group's id: %+v", e)
	}
	for _, p := range []string{"/v2/groups/lv/sub3", "/v2/groups/lv/cyc", "/v2/apps/lv/cyc/x"} {
		if _, err := s.call("GET", p, "", 404); err != nil {
			t.Errorf("a refused body left something behind: %v", err)
		}
	}

	// A deployment that cannot finish (no agent has the memory) locks /lv/a.
	s.must("PUT", "/v2/apps/lv/a", `{"mem":900000}`, 200)
	var deps []struct{ ID string }
	_ = json.Unmarshal(s.must("GET", "/v2/deployments", "", 200), &deps)
	if len(deps) != 1 {
		t.Fatalf("deployments: %+v", deps)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v2/groups/lv", `{"apps":[` + sleeper("a") + `]}`},
		{"DELETE", "/v2/groups/lv", ""},
	} {
		e := s.apiErr(c.method, c.path, c.body, 409)
		if len(e.Deployments) != 1 || e.Deployments[0].ID != deps[0].ID ||
			e.Message != "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/"+deps[0].ID+"'." {
			t.Errorf("%s %s during deployment %s: %+v", c.method, c.path, deps[0].ID, e)
		}
	}
	var del struct{ DeploymentID, Version string }
	_ = json.Unmarshal(s.must("DELETE", "/v2/groups/lv?force=true", "", 200), &del)
	if del.DeploymentID == "" || del.DeploymentID == deps[0].ID || del.Version == "" {
		t.Errorf("forced DELETE answered %+v", del)
	}
	s.noDeployments()
	if _, err := s.call("GET", "/v2/groups/lv", "", 404); err != nil {
		t.Error(err)
	}
	testenv.WaitFor(t, 30*time.Second, "no task process left", func() error {
		if live := a.live(); len(live) != 0 {
			return fmt.Errorf("running: %v", keys(live))
		}
		return nil
	})
}

// TestGroupLastTaskFailureEmbed: a failing app of a group shows its
// lastTaskFailure under embed=group.apps.lastTaskFailure, and not without.
func TestGroupLastTaskFailureEmbed(t *testing.T) {
	s := newStack(t)
	s.agent("node-a")
	s.must("POST", "/v2/groups", `{"id":"/lf","apps":[{"id":"bad","cmd":"echo bye; exit 3","cpus":0.01,"mem":8,"backoffSeconds":60}]}`, 201)
	var app struct{ Version string }
	_ = json.Unmarshal(s.must("GET", "/v2/apps/lf/bad", "", 200), &struct{ App any }{&app})
	type failure struct {
		AppID, Host, Message, State, TaskID, Timestamp, Version, SlaveID string
	}
	var got *failure
	testenv.WaitFor(t, 30*time.Second, "lastTaskFailure of /lf/bad in the group", func() error {
		var g struct {
			Apps []struct{ LastTaskFailure *failure }
		}
		if err := json.Unmarshal(s.must("GET", "/v2/groups/lf?embed=group.apps&embed=group.apps.lastTaskFailure", "", 200), &g); err != nil {
			return err
		}
		if len(g.Apps) != 1 || g.Apps[0].LastTaskFailure == nil {
			return fmt.Errorf("apps %+v", g.Apps)
		}
		got = g.Apps[0].LastTaskFailure
		return nil
	})
	if got.AppID != "/lf/bad" || got.Host != "node-a" || got.State != "TASK_FAILED" || got.Version != app.Version ||
		!strings.HasPrefix(got.TaskID, "lf_bad.") || got.SlaveID == "" || got.Message == "" || got.Timestamp < got.Version {
		t.Errorf("lastTaskFailure %+v (app version %s)", got, app.Version)
	}
	if b := s.must("GET", "/v2/groups/lf?embed=group.apps", "", 200); strings.Contains(string(b), "lastTaskFailure") {
		t.Errorf("lastTaskFailure without its embed: %s", b)
	}
	s.must("DELETE", "/v2/groups/lf?force=true", "", 200) // its deployment never finishes
	s.noDeployments()
}

// TestGroupReadinessDependency: the dependency of a group's app has a
// readiness check on /ready, which the task (a file server in its
// sandbox) answers 404 until the test writes the file. While it waits,
// /v2/deployments shows the check's result (ready false, the 404 kept
// by preserveLastResponse) and the dependent has no task; once the file
// exists the dependent is staged, after that moment.
func TestGroupReadinessDependency(t *testing.T) {
	s := newStack(t)
	a := s.agent("node-a")
	s.must("POST", "/v2/groups", fmt.Sprintf(`{"id":"/rd","apps":[
		{"id":"db","cmd":%q,"cpus":0.01,"mem":32,"portDefinitions":[{"port":0,"name":"http"}],
		 "readinessChecks":[{"name":"ready","protocol":"HTTP","path":"/ready","portName":"http",
		   "intervalSeconds":2,"timeoutSeconds":1,"preserveLastResponse":true}]},
		{"id":"web","cmd":"sleep 600","cpus":0.01,"mem":8,"dependencies":["db"]}]}`, webCmd), 201)
	db := s.waitTasks("/rd/db", "running", 30*time.Second, running(1))[0]
	testenv.WaitFor(t, 30*time.Second, "/v2/deployments shows db's failed readiness probe", func() error {
		return pendingReadiness(s.must("GET", "/v2/deployments", "", 200), "/rd/db", db.ID)
	})
	if ts, _ := s.tasks("/rd/web"); len(ts) != 0 {
		t.Fatalf("/rd/web staged while /rd/db is not ready: %+v", ts)
	}
	ready := time.Now().Truncate(time.Millisecond)
	if err := os.WriteFile(filepath.Join(a.sandbox(db.ID), "ready"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	web := s.waitTasks("/rd/web", "staged after db is ready", 30*time.Second, running(1))[0]
	staged, err := time.Parse(time.RFC3339, web.StagedAt)
	if err != nil || staged.Before(ready) {
		t.Errorf("/rd/web staged at %s, before /rd/db became ready (%s)", web.StagedAt, ready.UTC().Format(time.RFC3339Nano))
	}
	t.Logf("db ready from %s, web staged at %s", ready.UTC().Format(time.StampMilli), staged.Format(time.StampMilli))
	s.noDeployments()
	var g struct {
		Apps []struct {
			ID                    string
			ReadinessCheckResults []struct{ Ready bool }
		}
	}
	_ = json.Unmarshal(s.must("GET", "/v2/groups/rd?embed=group.apps&embed=group.apps.readiness", "", 200), &g)
	if len(g.Apps) != 2 || g.Apps[0].ID != "/rd/db" || len(g.Apps[0].ReadinessCheckResults) != 1 || !g.Apps[0].ReadinessCheckResults[0].Ready {
		t.Errorf("embed=group.apps.readiness after ready: %+v", g.Apps)
	}
	s.must("DELETE", "/v2/groups/rd", "", 200)
	s.noDeployments()
}

// pendingReadiness accepts a /v2/deployments answer whose current action
// for app carries a not-ready result of task with a kept 404 response.
func pendingReadiness(body []byte, app, task string) error {
	var deps []struct {
		CurrentActions []struct {
			Action, App           string
			ReadinessCheckResults []struct {
				Name, TaskID string
				Ready        bool
				LastResponse *struct{ Status int }
			}
		}
	}
	if err := json.Unmarshal(body, &deps); err != nil {
		return err
	}
	for _, d := range deps {
		for _, a := range d.CurrentActions {
			for _, r := range a.ReadinessCheckResults {
				if a.App == app && r.TaskID == task && r.Name == "ready" && !r.Ready &&
					r.LastResponse != nil && r.LastResponse.Status == 404 {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("deployments: %s", body)
}
