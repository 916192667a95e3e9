package master

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

const twoTier = `{"id":"/shop","apps":[
 {"id":"db","cmd":"db","cpus":0.1,"mem":16,"instances":2,
  "healthChecks":[{"protocol":"COMMAND","command":{"value":"true"}}]},
 {"id":"web","cmd":"web","cpus":0.1,"mem":16,"dependencies":["db"]}]}`

// desiredApps lists the app ids of the tasks the agent is told to run.
func desiredApps(a *fakeAgent) map[string]int {
	out := map[string]int{}
	for _, s := range a.desired().Tasks {
		out[s.AppID]++
	}
	return out
}

func TestGroupPostStartsDependenciesFirst(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	r := h.must(201, "POST", "/v2/groups", twoTier)
	if r.header.Get("Location") != "/v2/groups/shop" || r.header.Get("Marathon-Deployment-Id") == "" ||
		r.json(t)["deploymentId"] == nil {
		t.Fatalf("POST: %v %s", r.header, r.body)
	}
	h.pass()
	if got := desiredApps(a); got["/shop/db"] != 2 || got["/shop/web"] != 0 {
		t.Fatalf("first pass launches %v, want only /shop/db", got)
	}
	a.sync() // db RUNNING but not healthy yet
	h.pass()
	if got := desiredApps(a); got["/shop/web"] != 0 {
		t.Fatalf("web launched before db is healthy: %v", got)
	}
	for id := range a.running {
		a.health[id] = []wire.HealthResult{{Alive: true}}
		a.report(wire.TaskStatus{TaskID: id, State: wire.TaskRunning})
	}
	h.clock.Advance(1e9)
	h.pass()
	h.pass()
	if got := desiredApps(a); got["/shop/web"] != 1 {
		t.Fatalf("web not launched once db is healthy: %v", got)
	}
	h.converge(a)
	db, web := h.tasks("/shop/db"), h.tasks("/shop/web")
	if len(db) != 2 || len(web) != 1 {
		t.Fatalf("tasks: db %d web %d", len(db), len(web))
	}
	for _, d := range db {
		if d.StagedAt >= web[0].StagedAt {
			t.Errorf("db task staged %s, not before web's %s", d.StagedAt, web[0].StagedAt)
		}
	}
	if h.deploymentCount() != 0 {
		t.Fatal("deployment did not finish")
	}
	apps := h.must(200, "GET", "/v2/apps", "").json(t)["apps"].([]any)
	if len(apps) != 2 || apps[0].(map[string]any)["id"] != "/shop/db" || apps[1].(map[string]any)["id"] != "/shop/web" {
		t.Fatalf("/v2/apps = %v", apps)
	}
	if deps := h.app("/shop/web")["dependencies"].([]any); len(deps) != 1 || deps[0] != "/shop/db" {
		t.Fatalf("relative dependency not resolved: %v", deps)
	}
}

func TestGroupGetEmbed(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/groups", `{"id":"/a","dependencies":["/z"],"groups":[{"id":"b","apps":[{"id":"x","cmd":"x","cpus":0.1,"mem":8}]},{"id":"empty"}]}`)
	h.converge(a)
	root := h.must(200, "GET", "/v2/groups", "").json(t)
	if root["id"] != "/" || len(root["groups"].([]any)) != 1 || root["apps"] == nil || root["pods"] == nil {
		t.Fatalf("root = %s", jsonText(root))
	}
	g := h.must(200, "GET", "/v2/groups/a", "").json(t)
	subs := g["groups"].([]any)
	if len(subs) != 2 || subs[0].(map[string]any)["id"] != "/a/b" || subs[1].(map[string]any)["id"] != "/a/empty" {
		t.Fatalf("/a groups = %s", jsonText(subs))
	}
	if deps := g["dependencies"].([]any); len(deps) != 1 || deps[0] != "/z" {
		t.Fatalf("dependencies = %v", deps)
	}
	x := subs[0].(map[string]any)["apps"].([]any)[0].(map[string]any)
	if x["id"] != "/a/b/x" || x["tasks"] != nil || x["tasksRunning"] != nil {
		t.Fatalf("default embed app = %s", jsonText(x))
	}
	for _, tc := range []struct {
		embed string
		check func(g map[string]any) bool
	}{
		{"group.groups", func(g map[string]any) bool { return g["apps"] == nil && g["groups"] != nil }},
		{"group.apps", func(g map[string]any) bool { return g["groups"] == nil && g["apps"] != nil }},
		{"group.apps.tasks", func(g map[string]any) bool {
			ts := g["apps"].([]any)[0].(map[string]any)["tasks"]
			return ts != nil && len(ts.([]any)) == 1
		}},
		{"group.apps.counts", func(g map[string]any) bool {
			return g["apps"].([]any)[0].(map[string]any)["tasksRunning"] == 1.0
		}},
		{"group.apps.deployments", func(g map[string]any) bool {
			return g["apps"].([]any)[0].(map[string]any)["deployments"] != nil
		}},
		{"group.apps.taskStats", func(g map[string]any) bool {
			return g["apps"].([]any)[0].(map[string]any)["taskStats"] != nil
		}},
	} {
		g := h.must(200, "GET", "/v2/groups/a/b?embed="+tc.embed, "").json(t)
		if !tc.check(g) {
			t.Errorf("embed=%s: %s", tc.embed, jsonText(g))
		}
	}
	if r := h.do("GET", "/v2/groups/nope", ""); r.code != 404 || r.json(t)["message"] != "Group '/nope' does not exist" {
		t.Fatalf("unknown group: %d %s", r.code, r.body)
	}
	h.restart()
	if g := h.must(200, "GET", "/v2/groups/a/empty", "").json(t); g["id"] != "/a/empty" {
		t.Fatalf("empty group lost on restart: %v", g)
	}
	if g := h.must(200, "GET", "/v2/groups/a", "").json(t); len(g["dependencies"].([]any)) != 1 {
		t.Fatalf("group dependencies lost on restart: %v", g)
	}
	var vs []string
	if err := json.Unmarshal(h.must(200, "GET", "/v2/groups/a/versions", "").body, &vs); err != nil || len(vs) != 1 {
		t.Fatalf("group versions after restart: %v %v", vs, err)
	}
}

func TestGroupErrors(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct {
		name, body, path string
		code             int
		inBody           string
	}{
		{"outside", `{"id":"/a","apps":[{"id":"/other/x","cmd":"x"}]}`, "/apps(0)/id", 422, "is not child of '/a'"},
		{"nested outside", `{"id":"/a","groups":[{"id":"/b"}]}`, "/groups(0)/id", 422, "is not child of '/a'"},
		{"bad app field", `{"id":"/a","apps":[{"id":"x","cmd":"x","cpus":-1}]}`, "/apps(0)/cpus", 422, "expected 0.0 or more"},
		{"bad id", `{"id":"/A_b"}`, "/id", 422, "must fully match"},
		{"cycle", `{"id":"/c","apps":[{"id":"x","cmd":"x","dependencies":["y"]},{"id":"y","cmd":"y","dependencies":["x"]}]}`,
			"/dependencies", 422, "cyclic"},
		{"group cycle", `{"id":"/g","groups":[{"id":"p","dependencies":["/g/q"],"apps":[{"id":"x","cmd":"x"}]},
			{"id":"q","dependencies":["/g/p"],"apps":[{"id":"y","cmd":"y"}]}]}`, "/dependencies", 422, "cyclic"},
		{"pods", `{"id":"/p","pods":[{"id":"x"}]}`, "/pods", 422, "not supported"},
		{"version with apps", `{"id":"/v","version":"2026-01-01T00:00:00.000Z","apps":[]}`, "/", 422, "may only be combined"},
	} {
		r := h.do("POST", "/v2/groups", tc.body)
		body := r.json(t)
		details, _ := json.Marshal(body["details"])
		if r.code != tc.code || body["message"] != "Object is not valid" || !strings.Contains(string(details), `"path":"`+tc.path+`"`) ||
			!strings.Contains(string(details), tc.inBody) {
			t.Errorf("%s: %d %s", tc.name, r.code, r.body)
		}
	}
	if n := len(h.must(200, "GET", "/v2/apps", "").json(t)["apps"].([]any)); n != 0 {
		t.Fatalf("rejected bodies created %d apps", n)
	}
	h.must(201, "POST", "/v2/groups", `{"id":"/a","apps":[{"id":"x","cmd":"x","cpus":0.1,"mem":8}]}`)
	if r := h.do("POST", "/v2/groups", `{"id":"/a"}`); r.code != 409 ||
		r.json(t)["message"] != "Group /a is already created. Use PUT to change this group." {
		t.Fatalf("POST existing: %d %s", r.code, r.body)
	}
	// the deployment of /a still runs (no agent): a change is locked
	r := h.do("PUT", "/v2/groups/a", `{"apps":[{"id":"x","cmd":"x2","cpus":0.1,"mem":8}]}`)
	if r.code != 409 || r.json(t)["deployments"] == nil || !strings.Contains(string(r.body), "force=true") {
		t.Fatalf("locked: %d %s", r.code, r.body)
	}
	h.must(200, "PUT", "/v2/groups/a?force=true", `{"apps":[{"id":"x","cmd":"x2","cpus":0.1,"mem":8}]}`)
	if h.app("/a/x")["cmd"] != "x2" {
		t.Fatal("forced PUT not applied")
	}
	if r := h.do("POST", "/v2/groups", `{"id":"/a/x"}`); r.code != 422 {
		t.Fatalf("group over an app id: %d %s", r.code, r.body)
	}
	if r := h.do("POST", "/v2/apps", `{"id":"/a/x/y","cmd":"y"}`); r.code != 422 || !strings.Contains(string(r.body), "is an app, not a group") {
		t.Fatalf("app below an app: %d %s", r.code, r.body)
	}
	h.must(201, "POST", "/v2/groups", `{"id":"/empty"}`)
	if r := h.do("POST", "/v2/apps", `{"id":"/empty","cmd":"y"}`); r.code != 422 {
		t.Fatalf("app over a group id: %d %s", r.code, r.body)
	}
}

func TestGroupPutPatchScaleDelete(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/groups", `{"id":"/g","apps":[{"id":"a","cmd":"a","cpus":0.1,"mem":8},
		{"id":"b","cmd":"b","cpus":0.1,"mem":8,"dependencies":["a"]}]}`)
	h.converge(a)
	// PATCH keeps unlisted apps
	h.must(200, "PATCH", "/v2/groups/g", `{"apps":[{"id":"c","cmd":"c","cpus":0.1,"mem":8}]}`)
	h.converge(a)
	if h.app("/g/a") == nil || h.app("/g/c") == nil {
		t.Fatal("PATCH lost an app")
	}
	// an unchanged re-PUT is no deployment step for that app
	// scaleBy doubles every app below
	h.must(200, "PUT", "/v2/groups/g", `{"scaleBy":2}`)
	h.converge(a)
	for _, id := range []string{"/g/a", "/g/b", "/g/c"} {
		if n := h.app(id)["instances"]; n != 2.0 {
			t.Fatalf("%s instances = %v after scaleBy 2", id, n)
		}
	}
	if n := len(h.tasks("/g/a")); n != 2 {
		t.Fatalf("/g/a runs %d tasks", n)
	}
	// PUT with apps replaces the group's apps: c goes
	h.must(200, "PUT", "/v2/groups/g", `{"apps":[{"id":"a","cmd":"a","cpus":0.1,"mem":8,"instances":2},
		{"id":"b","cmd":"b","cpus":0.1,"mem":8,"instances":2,"dependencies":["a"]}]}`)
	h.converge(a)
	if r := h.do("GET", "/v2/apps/g/c", ""); r.code != 404 {
		t.Fatalf("PUT kept an unlisted app: %d", r.code)
	}
	vs := h.must(200, "GET", "/v2/groups/g/versions", "")
	var versions []string
	if err := json.Unmarshal(vs.body, &versions); err != nil || len(versions) < 4 {
		t.Fatalf("versions = %s", vs.body)
	}
	old := versions[len(versions)-1] // the POST
	def := h.must(200, "GET", "/v2/groups/g/versions/"+old, "").json(t)
	if len(def["apps"].([]any)) != 2 {
		t.Fatalf("stored version = %s", jsonText(def))
	}
	// DELETE: one deployment, b (dependent) stops before a
	r := h.must(200, "DELETE", "/v2/groups/g", "")
	var plan []map[string]any
	_ = json.Unmarshal(h.must(200, "GET", "/v2/deployments", "").body, &plan)
	if len(plan) != 1 || r.json(t)["deploymentId"] != plan[0]["id"] {
		t.Fatalf("deployments after DELETE: %s", jsonText(plan))
	}
	steps := jsonText(plan[0]["steps"])
	if steps != `[{"actions":[{"action":"StopApplication","app":"/g/b"}]},{"actions":[{"action":"StopApplication","app":"/g/a"}]}]` {
		t.Fatalf("stop order: %s", steps)
	}
	d := a.desired()
	for _, s := range d.Tasks {
		if s.AppID != "/g/a" {
			t.Fatalf("still desired: %s", s.TaskID)
		}
	}
	if len(d.Kill) != 2 {
		t.Fatalf("first step kills %v, want b's 2 tasks", d.Kill)
	}
	h.converge(a)
	if len(a.running) != 0 || h.deploymentCount() != 0 {
		t.Fatalf("after DELETE: running %v, deployments %d", a.running, h.deploymentCount())
	}
	if r := h.do("GET", "/v2/groups/g", ""); r.code != 404 {
		t.Fatalf("deleted group answers %d", r.code)
	}
	// roll the deleted group back from its first version: not kept
	if r := h.do("PUT", "/v2/groups/g", `{"version":"`+old+`"}`); r.code != 404 {
		t.Fatalf("rollback of a deleted group: %d %s", r.code, r.body)
	}
}

func TestGroupRollbackAndGroupDependencies(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/groups", `{"id":"/t","groups":[
		{"id":"front","dependencies":["../back"],"apps":[{"id":"web","cmd":"w","cpus":0.1,"mem":8}]},
		{"id":"back","apps":[{"id":"api","cmd":"a","cpus":0.1,"mem":8}]}]}`)
	var plan []map[string]any
	_ = json.Unmarshal(h.must(200, "GET", "/v2/deployments", "").body, &plan)
	steps := jsonText(plan[0]["steps"])
	if !strings.Contains(steps, `[{"action":"ScaleApplication","app":"/t/back/api"}]},{"actions":[{"action":"ScaleApplication","app":"/t/front/web"}]`) {
		t.Fatalf("group dependency not ordered: %s", steps)
	}
	h.converge(a)
	var versions []string
	_ = json.Unmarshal(h.must(200, "GET", "/v2/groups/t/versions", "").body, &versions)
	h.must(200, "PUT", "/v2/groups/t", `{"groups":[{"id":"back","apps":[{"id":"api","cmd":"a2","cpus":0.1,"mem":8}]}]}`)
	h.converge(a)
	if h.app("/t/back/api")["cmd"] != "a2" {
		t.Fatal("update not applied")
	}
	if r := h.do("GET", "/v2/apps/t/front/web", ""); r.code != 404 {
		t.Fatalf("PUT with groups kept the unlisted group front: %d", r.code)
	}
	dry := h.must(200, "PUT", "/v2/groups/t?dryRun=true", `{"version":"`+versions[0]+`"}`).json(t)
	if got := jsonText(dry["steps"]); got != `[{"actions":[{"action":"RestartApplication","app":"/t/back/api"}]},`+
		`{"actions":[{"action":"StartApplication","app":"/t/front/web"}]},{"actions":[{"action":"ScaleApplication","app":"/t/front/web"}]}]` {
		t.Fatalf("dryRun steps = %s", got)
	}
	if h.app("/t/back/api")["cmd"] != "a2" || h.deploymentCount() != 0 {
		t.Fatal("dryRun changed something")
	}
	h.must(200, "PUT", "/v2/groups/t/version/"+versions[0], "")
	h.converge(a)
	if h.app("/t/back/api")["cmd"] != "a" || h.app("/t/front/web")["cmd"] != "w" {
		t.Fatal("rollback did not restore the group")
	}
	if n := len(h.tasks("/t/front/web")); n != 1 {
		t.Fatalf("rolled-back web runs %d tasks", n)
	}
}

// TestGroupDeleteCanceledKillsDeferredStops: a forced deployment that
// cancels a group delete still kills the tasks whose stop step was not
// reached yet.
func TestGroupDeleteCanceledKillsDeferredStops(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/groups", `{"id":"/g","apps":[{"id":"a","cmd":"a","cpus":0.1,"mem":8},
		{"id":"b","cmd":"b","cpus":0.1,"mem":8,"dependencies":["a"]}]}`)
	h.converge(a)
	h.must(200, "DELETE", "/v2/groups/g", "")
	if d := a.desired(); len(d.Kill) != 1 || len(d.Tasks) != 1 {
		t.Fatalf("first stop step: kill %v, run %d", d.Kill, len(d.Tasks))
	}
	// a forced deployment touching /g/a cancels the delete
	h.must(201, "POST", "/v2/apps?force=true", `{"id":"/g/a","cmd":"new","cpus":0.1,"mem":8,"instances":0}`)
	if d := a.desired(); len(d.Kill) != 2 {
		t.Fatalf("after cancel: kill %v, want both old tasks", d.Kill)
	}
	h.converge(a)
	if len(a.running) != 0 {
		t.Fatalf("still running: %v", a.running)
	}
}

// TestDeferredStopsSurviveRestart: a group delete whose second stop
// step (b's dependency a) is not reached yet keeps a's task running
// across a master restart, and the restarted master stops it once b is
// gone.
func TestDeferredStopsSurviveRestart(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/groups", `{"id":"/g","apps":[{"id":"a","cmd":"a","cpus":0.1,"mem":8},
		{"id":"b","cmd":"b","cpus":0.1,"mem":8,"dependencies":["a"]}]}`)
	h.converge(a)
	h.must(200, "DELETE", "/v2/groups/g", "")
	h.restart()
	d := a.desired()
	if len(d.Kill) != 1 || len(d.Tasks) != 1 || !strings.HasPrefix(d.Tasks[0].TaskID, "g_a.") {
		t.Fatalf("after restart: kill %v, run %+v; want b killed, a still running", d.Kill, d.Tasks)
	}
	h.converge(a)
	if len(a.running) != 0 || h.deploymentCount() != 0 {
		t.Fatalf("still running: %v, deployments %d", a.running, h.deploymentCount())
	}
}

// TestDeploymentRollbackRestoresGroupRecords: DELETE /v2/deployments/{id}
// of a group update that changed dependencies and added an empty group
// restores the group records as well as the app, also after a restart.
func TestDeploymentRollbackRestoresGroupRecords(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/groups", `{"id":"/base","apps":[{"id":"db","cmd":"d","cpus":0.1,"mem":8}]}`)
	h.must(201, "POST", "/v2/groups", `{"id":"/r","dependencies":["/base"],"apps":[{"id":"a","cmd":"a","cpus":0.1,"mem":8}]}`)
	h.converge(a)
	// mem no agent has: the deployment cannot finish.
	h.must(200, "PUT", "/v2/groups/r", `{"dependencies":[],"apps":[{"id":"a","cmd":"a2","cpus":0.1,"mem":900000}],"groups":[{"id":"extra"}]}`)
	h.converge(a)
	var plans []map[string]any
	_ = json.Unmarshal(h.must(200, "GET", "/v2/deployments", "").body, &plans)
	if len(plans) != 1 {
		t.Fatalf("deployments: %v", plans)
	}
	if g := h.must(200, "GET", "/v2/groups/r", "").json(t); jsonText(g["dependencies"]) != `[]` || len(g["groups"].([]any)) != 1 {
		t.Fatalf("update not applied: %s", jsonText(g))
	}
	h.restart()
	h.must(200, "DELETE", "/v2/deployments/"+plans[0]["id"].(string), "")
	h.converge(a)
	g := h.must(200, "GET", "/v2/groups/r", "").json(t)
	if jsonText(g["dependencies"]) != `["/base"]` || len(g["groups"].([]any)) != 0 || h.app("/r/a")["cmd"] != "a" {
		t.Fatalf("after rollback: %s", jsonText(g))
	}
	if r := h.do("GET", "/v2/groups/r/extra", ""); r.code != 404 {
		t.Fatalf("the added group survived the rollback: %d %s", r.code, r.body)
	}
	if n := h.deploymentCount(); n != 0 {
		t.Fatalf("%d deployments after the rollback converged", n)
	}
}

// TestGroupVersionRollbackRestoresGroupRecords: PUT /v2/groups/{id} with
// a version brings back the group's dependencies and drops a group added
// since.
func TestGroupVersionRollbackRestoresGroupRecords(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/groups", `{"id":"/base","apps":[{"id":"db","cmd":"d","cpus":0.1,"mem":8}]}`)
	h.must(201, "POST", "/v2/groups", `{"id":"/r","dependencies":["/base"],"groups":[{"id":"keep"}],"apps":[{"id":"a","cmd":"a","cpus":0.1,"mem":8}]}`)
	h.converge(a)
	v := h.must(200, "GET", "/v2/groups/r", "").json(t)["version"].(string)
	h.must(200, "PUT", "/v2/groups/r", `{"dependencies":[],"apps":[{"id":"a","cmd":"a2","cpus":0.1,"mem":8}],"groups":[{"id":"extra"}]}`)
	h.converge(a)
	h.must(200, "PUT", "/v2/groups/r", `{"version":"`+v+`"}`)
	h.converge(a)
	g := h.must(200, "GET", "/v2/groups/r", "").json(t)
	var ids []string
	for _, sg := range g["groups"].([]any) {
		ids = append(ids, sg.(map[string]any)["id"].(string))
	}
	if jsonText(g["dependencies"]) != `["/base"]` || strings.Join(ids, ",") != "/r/keep" || h.app("/r/a")["cmd"] != "a" {
		t.Fatalf("after PUT version: %s", jsonText(g))
	}
}
