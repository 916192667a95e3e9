package oracle

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schema/*.json
var files embed.FS

const base = "https://berth.example/schema/"

// Schemas are the compiled Marathon schemas.
type Schemas struct {
	App, AppInfo, Task, Group *jsonschema.Schema
	// Deployment is one item of GET /v2/deployments, Queue the answer of
	// GET /v2/queue; GroupVersions and AppVersions the version lists.
	Deployment, Queue, GroupVersions, AppVersions *jsonschema.Schema
}

// names are the schema files, schema/<name>.json.
var names = []string{"AppDefinition", "AppInfo", "Task", "Group", "Deployment", "Queue", "Versions"}

var (
	once    sync.Once
	loaded  Schemas
	loadErr error
)

// Load compiles the schemas once per process.
func Load() (Schemas, error) {
	once.Do(func() { loaded, loadErr = compile() })
	return loaded, loadErr
}

func compile() (Schemas, error) {
	c := jsonschema.NewCompiler()
	for _, name := range names {
		b, err := files.ReadFile("schema/" + name + ".json")
		if err != nil {
			return Schemas{}, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return Schemas{}, fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource(base+name+".json", doc); err != nil {
			return Schemas{}, err
		}
	}
	var s Schemas
	for _, x := range []struct {
		dst  **jsonschema.Schema
		name string
	}{{&s.App, "AppDefinition.json"}, {&s.AppInfo, "AppInfo.json"}, {&s.Task, "Task.json"}, {&s.Group, "Group.json"},
		{&s.Deployment, "Deployment.json"}, {&s.Queue, "Queue.json"},
		{&s.GroupVersions, "Versions.json#/$defs/group"}, {&s.AppVersions, "Versions.json#/$defs/app"}} {
		sch, err := c.Compile(base + x.name)
		if err != nil {
			return Schemas{}, err
		}
		*x.dst = sch
	}
	return s, nil
}

// Validate checks one decoded JSON value against a schema.
func Validate(sch *jsonschema.Schema, v any) error {
	// Round-trip so numbers are what the library expects.
	b, _ := json.Marshal(v)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// Check validates a successful GET answer of the apps, tasks, groups,
// deployments and queue endpoints against the schemas and returns what
// does not match.
func Check(s Schemas, method, rawPath string, code int, body []byte) []string {
	if method != "GET" || code != 200 || len(body) == 0 {
		return nil
	}
	u, err := url.Parse(rawPath)
	if err != nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil // text/plain listings
	}
	var bad []string
	check := func(sch *jsonschema.Schema, what string, v any) {
		if err := Validate(sch, v); err != nil {
			bad = append(bad, fmt.Sprintf("GET %s: %s does not match Marathon's schema: %v", rawPath, what, err))
		}
	}
	p := u.Path
	if list, ok := v.([]any); ok {
		switch {
		case p == "/v2/deployments":
			for i, d := range list {
				check(s.Deployment, fmt.Sprintf("deployment[%d]", i), d)
			}
		case strings.HasPrefix(p, "/v2/groups") && strings.HasSuffix(p, "/versions"):
			check(s.GroupVersions, "the group's version list", v)
		}
		return bad
	}
	doc, _ := v.(map[string]any)
	each := func(sch *jsonschema.Schema, key string) {
		list, _ := doc[key].([]any)
		for i, v := range list {
			check(sch, fmt.Sprintf("%s[%d]", key, i), v)
		}
	}
	switch {
	case doc == nil:
	case p == "/v2/queue":
		check(s.Queue, "the queue", doc)
	case strings.HasPrefix(p, "/v2/apps") && strings.Contains(p, "/versions/"):
		check(s.App, "the app version", doc)
	case strings.HasPrefix(p, "/v2/apps") && strings.HasSuffix(p, "/versions"):
		check(s.AppVersions, "the app's version list", doc)
	case strings.HasPrefix(p, "/v2/apps") && doc["app"] != nil:
		check(s.AppInfo, "app", doc["app"])
	case strings.HasPrefix(p, "/v2/apps") && doc["apps"] != nil:
		each(s.AppInfo, "apps")
	case strings.HasPrefix(p, "/v2/apps") && doc["*"] != nil:
		each(s.AppInfo, "*")
	case strings.HasPrefix(p, "/v2/tasks") || (strings.HasPrefix(p, "/v2/apps") && doc["tasks"] != nil):
		each(s.Task, "tasks")
	case strings.HasPrefix(p, "/v2/groups"):
		check(s.Group, "group", doc) // also /v2/groups/{id}/versions/{v}
	}
	return bad
}
