package master

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-platform/berth/placement/oracle"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The Marathon JSON Schemas (package placement/oracle) are the oracle
// every app, task and group the API answers is checked against (see
// harness.do).

type schemas = oracle.Schemas

// loadSchemas compiles the oracle once per test binary.
func loadSchemas(t testing.TB) schemas {
	t.Helper()
	s, err := oracle.Load()
	if err != nil {
		t.Fatalf("schemas: %v", err)
	}
	return s
}

func validateJSON(sch *jsonschema.Schema, v any) error { return oracle.Validate(sch, v) }

// oracleCheck validates a successful GET answer from the apps, tasks and
// groups endpoints against Marathon's schemas.
func oracleCheck(t testing.TB, method, rawPath string, code int, body []byte) {
	t.Helper()
	for _, b := range oracle.Check(loadSchemas(t), method, rawPath, code, body) {
		t.Errorf("schema oracle: %s", b)
	}
}

// TestExamplesMatchMarathonSchema validates every example app against the
// AppDefinition schema, posts it to a master with an agent and validates
// what the API answers (through the harness oracle).
func TestExamplesMatchMarathonSchema(t *testing.T) {
	s := loadSchemas(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "apps", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	h := newHarness(t, func(c *Config) {
		c.Validation.AllowHostVolumes, c.Validation.AllowDockerParameters = true, true
	})
	a := h.agent("node-1", map[string]string{"rack": "r1"})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := validateJSON(s.App, v); err != nil {
			t.Errorf("%s does not match Marathon's AppDefinition schema: %v", filepath.Base(f), err)
			continue
		}
		r := h.do("POST", "/v2/apps", string(b))
		if r.code != 201 {
			t.Errorf("%s: POST = %d %s", filepath.Base(f), r.code, r.body)
			continue
		}
		if err := validateJSON(s.AppInfo, withCounts(r.json(t))); err != nil {
			t.Errorf("%s: POST answer: %v", filepath.Base(f), err)
		}
	}
	h.converge(a)
	h.must(200, "GET", "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure&embed=apps.taskStats", "")
	h.must(200, "GET", "/v2/tasks", "")
}

// TestGroupExamplesMatchMarathonSchema validates every example group
// (examples/groups, also the body of e2e TestTwoTierGroup) against the
// Group schema, posts it and checks the group the API answers (harness
// oracle) and that its apps were created with their dependencies.
func TestGroupExamplesMatchMarathonSchema(t *testing.T) {
	s := loadSchemas(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "groups", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no group examples: %v", err)
	}
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var g struct {
			ID   string `json:"id"`
			Apps []struct {
				ID           string   `json:"id"`
				Dependencies []string `json:"dependencies"`
			} `json:"apps"`
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil || json.Unmarshal(b, &g) != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := validateJSON(s.Group, v); err != nil {
			t.Errorf("%s does not match Marathon's Group schema: %v", filepath.Base(f), err)
			continue
		}
		h.must(201, "POST", "/v2/groups", string(b))
		h.converge(a)
		got := h.must(200, "GET", "/v2/groups"+g.ID+"?embed=group.apps&embed=group.apps.tasks", "").json(t)
		apps, _ := got["apps"].([]any)
		if len(apps) != len(g.Apps) || len(g.Apps) == 0 {
			t.Errorf("%s: GET answered %d apps, want %d", filepath.Base(f), len(apps), len(g.Apps))
		}
		for _, ga := range g.Apps {
			app := h.app(g.ID + "/" + ga.ID)
			if deps, _ := json.Marshal(app["dependencies"]); len(ga.Dependencies) > 0 && !strings.Contains(string(deps), g.ID+"/") {
				t.Errorf("%s: %s dependencies %s not resolved below %s", filepath.Base(f), ga.ID, deps, g.ID)
			}
		}
	}
}

// withCounts adds the AppInfo counters a POST answer (a bare definition in
// Marathon) does not carry, so it can be checked against AppInfo.
func withCounts(app map[string]any) map[string]any {
	for _, k := range []string{"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy"} {
		if _, ok := app[k]; !ok {
			app[k] = 0
		}
	}
	if _, ok := app["deployments"]; !ok {
		app["deployments"] = []any{}
	}
	return app
}

// TestSchemaOracleRejects shows the oracle can fail: Marathon-foreign
// keys and wrong types are caught.
func TestSchemaOracleRejects(t *testing.T) {
	s := loadSchemas(t)
	for _, tc := range []struct{ name, doc string }{
		{"unknown key", `{"id":"/a","cmd":"x","agentTimeout":3}`},
		{"instances as string", `{"id":"/a","cmd":"x","instances":"2"}`},
		{"bad id", `{"id":"/A_b","cmd":"x"}`},
		{"bad killSelection", `{"id":"/a","cmd":"x","killSelection":"RANDOM"}`},
		{"two readiness checks", `{"id":"/a","cmd":"x","readinessChecks":[{},{}]}`},
		{"version not a Marathon timestamp", `{"id":"/a","cmd":"x","version":"yesterday"}`},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
			t.Fatal(err)
		}
		if validateJSON(s.App, v) == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	var g any
	_ = json.Unmarshal([]byte(`{"id":"/g","apps":[{"id":"/g/a","cmd":"x"}],"groups":[{"id":"/g/h","bogus":1}]}`), &g)
	if validateJSON(s.Group, g) == nil {
		t.Error("group with an unknown key in a nested group: accepted")
	}
}
