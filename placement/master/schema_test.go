package master

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The Marathon JSON Schemas in testdata/schema were written for Berth
// from Marathon's REST documentation; they are the oracle every app, task
// and group the API answers is checked against (see harness.do).

const schemaBase = "https://berth.example/schema/"

type schemas struct {
	app, appInfo, task, group *jsonschema.Schema
}

var (
	schemaOnce sync.Once
	schemaSet  schemas
	schemaErr  error
)

// loadSchemas compiles the oracle once per test binary.
func loadSchemas(t testing.TB) schemas {
	t.Helper()
	schemaOnce.Do(func() { schemaSet, schemaErr = compileSchemas() })
	if schemaErr != nil {
		t.Fatalf("schemas: %v", schemaErr)
	}
	return schemaSet
}

func compileSchemas() (schemas, error) {
	c := jsonschema.NewCompiler()
	for _, name := range []string{"AppDefinition", "AppInfo", "Task", "Group"} {
		b, err := os.ReadFile(filepath.Join("testdata", "schema", name+".json"))
		if err != nil {
			return schemas{}, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return schemas{}, fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource(schemaBase+name+".json", doc); err != nil {
			return schemas{}, err
		}
	}
	var s schemas
	for _, x := range []struct {
		dst  **jsonschema.Schema
		name string
	}{{&s.app, "AppDefinition"}, {&s.appInfo, "AppInfo"}, {&s.task, "Task"}, {&s.group, "Group"}} {
		sch, err := c.Compile(schemaBase + x.name + ".json")
		if err != nil {
			return schemas{}, err
		}
		*x.dst = sch
	}
	return s, nil
}

// validateJSON checks one JSON value against a schema.
func validateJSON(sch *jsonschema.Schema, v any) error {
	// Round-trip so numbers are what the library expects.
	b, _ := json.Marshal(v)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// oracle validates a successful GET answer from the apps, tasks and
// groups endpoints against Marathon's schemas.
func oracle(t testing.TB, method, rawPath string, code int, body []byte) {
	t.Helper()
	if method != "GET" || code != 200 || len(body) == 0 || body[0] != '{' {
		return
	}
	u, err := url.Parse(rawPath)
	if err != nil {
		return
	}
	s := loadSchemas(t)
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return // text/plain listings
	}
	check := func(sch *jsonschema.Schema, what string, v any) {
		if err := validateJSON(sch, v); err != nil {
			t.Errorf("schema oracle: GET %s: %s does not match Marathon's schema: %v", rawPath, what, err)
		}
	}
	each := func(sch *jsonschema.Schema, key string) {
		list, _ := doc[key].([]any)
		for i, v := range list {
			check(sch, fmt.Sprintf("%s[%d]", key, i), v)
		}
	}
	p := u.Path
	switch {
	case strings.HasPrefix(p, "/v2/apps") && strings.Contains(p, "/versions/"):
		check(s.app, "the app version", doc)
	case strings.HasPrefix(p, "/v2/apps") && strings.HasSuffix(p, "/versions"):
	case strings.HasPrefix(p, "/v2/apps") && doc["app"] != nil:
		check(s.appInfo, "app", doc["app"])
	case strings.HasPrefix(p, "/v2/apps") && doc["apps"] != nil:
		each(s.appInfo, "apps")
	case strings.HasPrefix(p, "/v2/apps") && doc["*"] != nil:
		each(s.appInfo, "*")
	case strings.HasPrefix(p, "/v2/tasks") || (strings.HasPrefix(p, "/v2/apps") && doc["tasks"] != nil):
		each(s.task, "tasks")
	case strings.HasPrefix(p, "/v2/groups") && !strings.Contains(p, "/versions"):
		check(s.group, "group", doc)
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
		if err := validateJSON(s.app, v); err != nil {
			t.Errorf("%s does not match Marathon's AppDefinition schema: %v", filepath.Base(f), err)
			continue
		}
		r := h.do("POST", "/v2/apps", string(b))
		if r.code != 201 {
			t.Errorf("%s: POST = %d %s", filepath.Base(f), r.code, r.body)
			continue
		}
		if err := validateJSON(s.appInfo, withCounts(r.json(t))); err != nil {
			t.Errorf("%s: POST answer: %v", filepath.Base(f), err)
		}
	}
	h.converge(a)
	h.must(200, "GET", "/v2/apps?embed=apps.tasks&embed=apps.lastTaskFailure&embed=apps.taskStats", "")
	h.must(200, "GET", "/v2/tasks", "")
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
		if validateJSON(s.app, v) == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	var g any
	_ = json.Unmarshal([]byte(`{"id":"/g","apps":[{"id":"/g/a","cmd":"x"}],"groups":[{"id":"/g/h","bogus":1}]}`), &g)
	if validateJSON(s.group, g) == nil {
		t.Error("group with an unknown key in a nested group: accepted")
	}
}
