package master

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPostAppEchoesDefaults(t *testing.T) {
	h := newHarness(t, nil)
	r := h.must(201, "POST", "/v2/apps", `{"id":"web","cmd":"sleep 1000"}`)
	if r.header.Get("Location") != "/v2/apps/web" || r.header.Get("Marathon-Deployment-Id") == "" {
		t.Fatalf("headers: %v", r.header)
	}
	app := r.json(t)
	checks := map[string]any{"id": "/web", "instances": 1.0, "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0.0,
		"backoffSeconds": 1.0, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 3600.0, "requirePorts": false,
		"killSelection": "YOUNGEST_FIRST", "tasksRunning": 0.0, "tasksStaged": 0.0, "tasksHealthy": 0.0, "tasksUnhealthy": 0.0}
	for k, v := range checks {
		if app[k] != v {
			t.Errorf("%s = %v, want %v", k, app[k], v)
		}
	}
	if _, ok := app["tasks"]; ok {
		t.Error("POST answer includes tasks")
	}
	if v, _ := app["version"].(string); len(v) != len("2006-01-02T15:04:05.000Z") || !strings.HasSuffix(v, "Z") {
		t.Errorf("version %q is not a millisecond timestamp", v)
	}
	deps := app["deployments"].([]any)
	if len(deps) != 1 || deps[0].(map[string]any)["id"] != r.header.Get("Marathon-Deployment-Id") {
		t.Errorf("deployments = %v", deps)
	}
	if ports := app["ports"].([]any); len(ports) != 1 || ports[0] != 10000.0 {
		t.Errorf("servicePort not assigned from the pool: ports = %v", ports)
	}
	pd := app["portDefinitions"].([]any)[0].(map[string]any)
	if pd["port"] != 10000.0 {
		t.Errorf("portDefinitions[0].port = %v", pd["port"])
	}
	// A bridge app's mapping shows its servicePort too.
	r = h.must(201, "POST", "/v2/apps", `{"id":"/b","container":{"docker":{"image":"berth/hello","network":"BRIDGE",
		"portMappings":[{"containerPort":80}]}}}`)
	pm := r.json(t)["container"].(map[string]any)["portMappings"].([]any)[0].(map[string]any)
	if pm["servicePort"] != 10001.0 || pm["hostPort"] != 0.0 || pm["containerPort"] != 80.0 {
		t.Errorf("bridge mapping = %v", pm)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/exists","cmd":"x","portDefinitions":[{"port":12000}]}`)
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"malformed", "POST", "/v2/apps", `{"id":`, 400, `"message":"Invalid JSON"`},
		{"wrong type", "POST", "/v2/apps", `{"id":"/a","cmd":"x","instances":"two"}`, 400, `"path":"/instances"`},
		{"semantic", "POST", "/v2/apps", `{"id":"/a","cmd":"x","cpus":-1}`, 422, `{"message":"Object is not valid","details":[{"path":"/cpus","errors":["got -1.0, expected 0.0 or more"]}]}`},
		{"bad id", "POST", "/v2/apps", `{"id":"/A_b","cmd":"x"}`, 422, `"path":"/id"`},
		{"existing", "POST", "/v2/apps", `{"id":"/exists","cmd":"x"}`, 409, `{"message":"An app with id [/exists] already exists."}`},
		{"servicePort conflict", "POST", "/v2/apps", `{"id":"/other","cmd":"x","portDefinitions":[{"port":12000}]}`, 422, `already used by app /exists`},
		{"privileged refused", "POST", "/v2/apps", `{"id":"/p","container":{"docker":{"image":"x","privileged":true}}}`, 422, `/container/docker/privileged`},
		{"unknown app", "GET", "/v2/apps/nope", "", 404, `{"message":"App '/nope' does not exist"}`},
		{"patch unknown", "PATCH", "/v2/apps/nope", `{"instances":2}`, 404, `does not exist`},
		{"version with fields", "PUT", "/v2/apps/exists", `{"version":"2020-01-01T00:00:00.000Z","cmd":"y"}`, 422, `The 'version' field may only be combined with the 'id' field.`},
		{"unknown version", "GET", "/v2/apps/exists/versions/2001-01-01T00:00:00.000Z", "", 404, `does not exist in version 2001-01-01T00:00:00.000Z`},
		{"bulk not array", "PUT", "/v2/apps", `{"id":"/x"}`, 400, `error.expected.jsarray`},
		{"scale and wipe", "DELETE", "/v2/apps/exists/tasks?scale=true&wipe=true", "", 400, `scale and wipe`},
		{"unknown task", "DELETE", "/v2/apps/exists/tasks/exists.nope", "", 404, `Task 'exists.nope' does not exist`},
		{"unknown deployment", "DELETE", "/v2/deployments/nope", "", 404, `DeploymentPlan nope does not exist`},
		{"too large", "POST", "/v2/apps", `{"id":"/big","cmd":"` + strings.Repeat("x", 1<<20) + `"}`, 413, `too large`},
	}
	before := string(h.must(200, "GET", "/v2/apps", "").body)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, tt.body)
			if r.code != tt.code || !strings.Contains(string(r.body), tt.want) {
				t.Fatalf("%s %s: %d %s; want %d containing %s", tt.method, tt.path, r.code, r.body, tt.code, tt.want)
			}
		})
	}
	if after := string(h.must(200, "GET", "/v2/apps", "").body); after != before {
		t.Fatalf("bad requests changed state:\n%s\n%s", before, after)
	}
}

func TestNestedIDsUpdatesAndVersions(t *testing.T) {
	h := newHarness(t, nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/prod/shop/web","cmd":"serve","instances":2,"labels":{"team":"a"}}`)
	v1 := h.app("/prod/shop/web")["version"].(string)
	h.clock.Advance(1)
	// Partial update keeps what is not sent.
	r := h.must(200, "PUT", "/v2/apps/prod/shop/web?force=true", `{"cmd":"serve --v2"}`)
	if r.json(t)["deploymentId"] == "" {
		t.Fatal("no deploymentId")
	}
	app := h.app("/prod/shop/web")
	if app["cmd"] != "serve --v2" || app["instances"] != 2.0 || app["labels"].(map[string]any)["team"] != "a" {
		t.Fatalf("partial update lost fields: %v", app)
	}
	if app["ports"].([]any)[0] != 10000.0 {
		t.Fatalf("servicePort changed on update: %v", app["ports"])
	}
	// partialUpdate=false replaces: instances back to the default.
	h.must(200, "PUT", "/v2/apps/prod/shop/web?partialUpdate=false&force=true", `{"cmd":"serve --v3"}`)
	app = h.app("/prod/shop/web")
	if app["instances"] != 1.0 || len(app["labels"].(map[string]any)) != 0 {
		t.Fatalf("full replacement kept old fields: %v", app)
	}
	vs := h.must(200, "GET", "/v2/apps/prod/shop/web/versions", "").json(t)["versions"].([]any)
	if len(vs) != 3 || vs[2] != v1 {
		t.Fatalf("versions = %v (want 3, oldest %s last)", vs, v1)
	}
	old := h.must(200, "GET", "/v2/apps/prod/shop/web/versions/"+v1, "").json(t)
	if old["cmd"] != "serve" || old["instances"] != 2.0 {
		t.Fatalf("version %s = %v", v1, old)
	}
	// Roll back with {"version"}.
	h.must(200, "PUT", "/v2/apps/prod/shop/web?force=true", `{"id":"/prod/shop/web","version":"`+v1+`"}`)
	if app = h.app("/prod/shop/web"); app["cmd"] != "serve" || app["instances"] != 2.0 {
		t.Fatalf("rollback: %v", app)
	}
	// Group listing and filters.
	h.must(201, "POST", "/v2/apps", `{"id":"/prod/db","cmd":"db","labels":{"tier":"data"}}`)
	h.must(201, "POST", "/v2/apps", `{"id":"/dev/web","cmd":"x"}`)
	star := h.must(200, "GET", "/v2/apps/prod/*", "").json(t)["*"].([]any)
	if len(star) != 2 {
		t.Fatalf("/v2/apps/prod/* = %d apps", len(star))
	}
	for q, n := range map[string]int{"?id=WEB": 2, "?cmd=db": 1, "?label=tier==data": 1, "?label=tier": 1,
		"?label=tier+notin+(data)": 2, "?label=team!=a": 2} {
		if got := len(h.must(200, "GET", "/v2/apps"+q, "").json(t)["apps"].([]any)); got != n {
			t.Errorf("GET /v2/apps%s: %d apps, want %d", q, got, n)
		}
	}
	// PUT creates when absent: 201 with Location.
	r = h.must(201, "PUT", "/v2/apps/new/one", `{"cmd":"x"}`)
	if r.header.Get("Location") != "/v2/apps/new/one" {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	// PATCH never creates, updates partially.
	h.must(200, "PATCH", "/v2/apps/new/one?force=true", `{"mem":64}`)
	if app = h.app("/new/one"); app["mem"] != 64.0 || app["cmd"] != "x" {
		t.Fatalf("PATCH: %v", app)
	}
	// Bulk PUT and PATCH.
	h.must(200, "PUT", "/v2/apps?force=true", `[{"id":"/bulk/a","cmd":"a"},{"id":"/new/one","instances":0}]`)
	h.must(200, "PATCH", "/v2/apps?force=true", `[{"id":"/bulk/a","instances":3}]`)
	if app = h.app("/bulk/a"); app["instances"] != 3.0 {
		t.Fatalf("bulk PATCH: %v", app)
	}
	h.must(404, "PATCH", "/v2/apps", `[{"id":"/bulk/zzz","instances":3}]`)
	// DELETE.
	h.must(200, "DELETE", "/v2/apps/dev/web", "")
	h.must(404, "GET", "/v2/apps/dev/web", "")
}

func TestLockedAppAnswers409(t *testing.T) {
	h := newHarness(t, nil)
	// No agents: the deployment cannot finish, so the app stays locked.
	r := h.must(201, "POST", "/v2/apps", `{"id":"/locked","cmd":"x","instances":2}`)
	dep := r.header.Get("Marathon-Deployment-Id")
	h.pass()
	r = h.do("PUT", "/v2/apps/locked", `{"instances":3}`)
	if r.code != 409 {
		t.Fatalf("PUT on locked app: %d %s", r.code, r.body)
	}
	body := r.json(t)
	if !strings.Contains(body["message"].(string), "App is locked by one or more deployments") ||
		body["deployments"].([]any)[0].(map[string]any)["id"] != dep {
		t.Fatalf("409 body = %s", r.body)
	}
	h.must(409, "POST", "/v2/apps/locked/restart", "")
	r = h.must(200, "PUT", "/v2/apps/locked?force=true", `{"instances":3}`)
	if r.json(t)["deploymentId"] == dep || h.deploymentCount() != 1 {
		t.Fatalf("force did not replace the deployment")
	}
	var list []map[string]any
	_ = json.Unmarshal(h.must(200, "GET", "/v2/deployments", "").body, &list)
	d := list[0]
	if d["currentStep"] != 1.0 || d["totalSteps"] != 1.0 || d["steps"].([]any)[0].(map[string]any)["actions"].([]any)[0].(map[string]any)["action"] != "ScaleApplication" {
		t.Fatalf("deployment = %v", d)
	}
}
