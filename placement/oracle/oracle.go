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
}

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
	for _, name := range []string{"AppDefinition", "AppInfo", "Task", "Group"} {
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
	}{{&s.App, "AppDefinition"}, {&s.AppInfo, "AppInfo"}, {&s.Task, "Task"}, {&s.Group, "Group"}} {
		sch, err := c.Compile(base + x.name + ".json")
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

// Check validates a successful GET answer of the apps, tasks and groups
// endpoints against the schemas and returns what does not match.
func Check(s Schemas, method, rawPath string, code int, body []byte) []string {
	if method != "GET" || code != 200 || len(body) == 0 || body[0] != '{' {
		return nil
	}
	u, err := url.Parse(rawPath)
	if err != nil {
		return nil
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil // text/plain listings
	}
	var bad []string
	check := func(sch *jsonschema.Schema, what string, v any) {
		if err := Validate(sch, v); err != nil {
			bad = append(bad, fmt.Sprintf("GET %s: %s does not match Marathon's schema: %v", rawPath, what, err))
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
		check(s.App, "the app version", doc)
	case strings.HasPrefix(p, "/v2/apps") && strings.HasSuffix(p, "/versions"):
	case strings.HasPrefix(p, "/v2/apps") && doc["app"] != nil:
		check(s.AppInfo, "app", doc["app"])
	case strings.HasPrefix(p, "/v2/apps") && doc["apps"] != nil:
		each(s.AppInfo, "apps")
	case strings.HasPrefix(p, "/v2/apps") && doc["*"] != nil:
		each(s.AppInfo, "*")
	case strings.HasPrefix(p, "/v2/tasks") || (strings.HasPrefix(p, "/v2/apps") && doc["tasks"] != nil):
		each(s.Task, "tasks")
	case strings.HasPrefix(p, "/v2/groups") && !strings.Contains(p, "/versions"):
		check(s.Group, "group", doc)
	}
	return bad
}
