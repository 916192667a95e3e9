package marathon

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, body string) *App {
	t.Helper()
	a, err := Parse([]byte(body), "/", Options{})
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return a
}

func TestDefaults(t *testing.T) {
	a := mustParse(t, `{"id":"web","cmd":"sleep 100"}`)
	b, _ := json.Marshal(a)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	want := map[string]any{
		"id": "/web", "instances": 1.0, "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0.0,
		"backoffSeconds": 1.0, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 3600.0,
		"requirePorts": false, "killSelection": "YOUNGEST_FIRST", "executor": "",
		"upgradeStrategy":     map[string]any{"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
		"unreachableStrategy": map[string]any{"inactiveAfterSeconds": 0.0, "expungeAfterSeconds": 0.0},
		"networks":            []any{map[string]any{"mode": "host"}},
		"ports":               []any{0.0},
		"portDefinitions":     []any{map[string]any{"port": 0.0, "protocol": "tcp", "name": "default", "labels": map[string]any{}}},
		"env":                 map[string]any{}, "labels": map[string]any{}, "constraints": []any{},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if _, ok := got["container"]; ok {
		t.Errorf("container present without one in the request")
	}
}

func TestExplicitNullsTakeDefaults(t *testing.T) {
	a := mustParse(t, `{"id":"/a","cmd":"x","instances":null,"cpus":null,"portDefinitions":null,"env":null,"container":null,"upgradeStrategy":null}`)
	if a.Instances != 1 || a.CPUs != 1 || len(a.PortDefinitions) != 1 || a.Env == nil || a.Container != nil || a.UpgradeStrategy.MinimumHealthCapacity != 1 {
		t.Fatalf("nulls did not default: %+v", a)
	}
}

func TestNetworkForms(t *testing.T) {
	old := mustParse(t, `{"id":"/shop/web","container":{"type":"DOCKER","docker":{"image":"berth/hello","network":"BRIDGE",
		"portMappings":[{"containerPort":80,"hostPort":0,"servicePort":0,"protocol":"tcp","name":"http"}]}}}`)
	newer := mustParse(t, `{"id":"/shop/web","networks":[{"mode":"container/bridge"}],"container":{"type":"DOCKER","docker":{"image":"berth/hello"},
		"portMappings":[{"containerPort":80,"hostPort":0,"name":"http"}]}}`)
	if !reflect.DeepEqual(old, newer) {
		a, _ := json.Marshal(old)
		b, _ := json.Marshal(newer)
		t.Fatalf("forms differ:\n%s\n%s", a, b)
	}
	if old.NetworkMode() != NetworkBridge || len(old.PortDefinitions) != 0 || *old.Container.PortMappings[0].HostPort != 0 {
		t.Fatalf("unexpected canonical form: %+v", old)
	}
	user := mustParse(t, `{"id":"/u","container":{"docker":{"image":"x","network":"USER"}},"ipAddress":{"networkName":"net1"}}`)
	if user.NetworkMode() != NetworkContainer || user.Networks[0].Name != "net1" || user.Container.PortMappings[0].HostPort != nil {
		t.Fatalf("USER network: %+v", user.Networks)
	}
	bridgeDefault := mustParse(t, `{"id":"/b","networks":[{"mode":"container/bridge"}],"container":{"docker":{"image":"x"}}}`)
	if len(bridgeDefault.Container.PortMappings) != 1 || bridgeDefault.Container.PortMappings[0].Name != "default" {
		t.Fatalf("bridge default mapping: %+v", bridgeDefault.Container.PortMappings)
	}
	ports := mustParse(t, `{"id":"/p","cmd":"x","ports":[0,10005],"requirePorts":true}`)
	if len(ports.PortDefinitions) != 2 || ports.PortDefinitions[1].Port != 10005 || !ports.RequirePorts {
		t.Fatalf("ports → portDefinitions: %+v", ports.PortDefinitions)
	}
	mustParse(t, `{"id":"/p","cmd":"x","ports":[10005],"portDefinitions":[{"port":10005}]}`)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		path, msg  string
	}{
		{"malformed", `{"id":`, 400, "/", "error.invalid.json"},
		{"not an object", `[1,2]`, 400, "/", "error.expected.jsobject"},
		{"wrong type", `{"id":"/a","cmd":"x","cpus":"lots"}`, 400, "/cpus", "error.expected.jsnumber"},
		{"nested wrong type", `{"id":"/a","container":{"docker":{"image":5}}}`, 400, "/container/docker/image", "error.expected.jsstring"},
		{"numeric constraint", `{"id":"/a","cmd":"x","constraints":[["rack","MAX_PER",2]]}`, 400, "/constraints", "error.expected.jsstring"},
		{"negative cpus", `{"id":"/a","cmd":"x","cpus":-1}`, 422, "/cpus", "got -1.0, expected 0.0 or more"},
		{"negative instances", `{"id":"/a","cmd":"x","instances":-3}`, 422, "/instances", "got -3, expected 0 or more"},
		{"bad id", `{"id":"/Shop/web","cmd":"x"}`, 422, "/id", "must fully match regular expression"},
		{"reserved id", `{"id":"/shop/tasks","cmd":"x"}`, 422, "/id", "reserved keywords"},
		{"missing id", `{"cmd":"x"}`, 422, "/id", "error.path.missing"},
		{"cmd and args", `{"id":"/a","cmd":"x","args":["y"]}`, 422, "/", "AppDefinition must either contain one of 'cmd' or 'args'"},
		{"nothing to run", `{"id":"/a"}`, 422, "/", "AppDefinition must either contain one of 'cmd' or 'args'"},
		{"upgrade out of range", `{"id":"/a","cmd":"x","upgradeStrategy":{"minimumHealthCapacity":1.2}}`, 422, "/upgradeStrategy/minimumHealthCapacity", "got 1.2, expected between 0.0 and 1.0"},
		{"bad constraint op", `{"id":"/a","cmd":"x","constraints":[["hostname","SOMETIMES"]]}`, 422, "/constraints(0)", "operator must be one of"},
		{"unique with value", `{"id":"/a","cmd":"x","constraints":[["hostname","UNIQUE","x"]]}`, 422, "/constraints(0)", "UNIQUE does not accept a value"},
		{"max_per no int", `{"id":"/a","cmd":"x","constraints":[["rack","MAX_PER","two"]]}`, 422, "/constraints(0)", "MAX_PER requires an integer value"},
		{"constraint arity", `{"id":"/a","cmd":"x","constraints":[["rack"]]}`, 422, "/constraints(0)", "Each constraint must have either 2 or 3 fields"},
		{"duplicate service ports", `{"id":"/a","cmd":"x","portDefinitions":[{"port":10001},{"port":10001}]}`, 422, "/portDefinitions", "ports must be unique"},
		{"duplicate port names", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"web"},{"port":0,"name":"web"}]}`, 422, "/portDefinitions", "Port names must be unique."},
		{"bad port name", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"Web_1"}]}`, 422, "/portDefinitions(0)/name", "must fully match regular expression"},
		{"duplicate mapping service ports", `{"id":"/a","container":{"type":"DOCKER","docker":{"image":"x"},"portMappings":[{"containerPort":80,"servicePort":10005},{"containerPort":81,"servicePort":10005}]},"networks":[{"mode":"container/bridge"}]}`, 422, "/container/portMappings", "Service ports must be unique"},
		{"mappings with host", `{"id":"/a","networks":[{"mode":"host"}],"container":{"docker":{"image":"x"},"portMappings":[{"containerPort":80}]}}`, 422, "/container/portMappings", "portMappings are not allowed with host-networking"},
		{"portDefinitions with bridge", `{"id":"/a","networks":[{"mode":"container/bridge"}],"container":{"docker":{"image":"x"}},"portDefinitions":[{"port":0}]}`, 422, "/portDefinitions", "only allowed with host-networking"},
		{"both network forms", `{"id":"/a","networks":[{"mode":"host"}],"container":{"docker":{"image":"x","network":"HOST"}}}`, 422, "/networks", "must not specify both"},
		{"privileged", `{"id":"/a","container":{"docker":{"image":"x","privileged":true}}}`, 422, "/container/docker/privileged", "--allow-privileged"},
		{"parameters", `{"id":"/a","container":{"docker":{"image":"x","parameters":[{"key":"label","value":"a=b"}]}}}`, 422, "/container/docker/parameters", "--allow-docker-parameters"},
		{"host volume", `{"id":"/a","container":{"docker":{"image":"x"},"volumes":[{"containerPath":"/d","hostPath":"/etc","mode":"RO"}]}}`, 422, "/container/volumes(0)/hostPath", "--allow-host-volumes"},
		{"health port index", `{"id":"/a","cmd":"x","portDefinitions":[],"healthChecks":[{"protocol":"HTTP"}]}`, 422, "/healthChecks(0)", "Health check port indices"},
		{"uris and fetch", `{"id":"/a","cmd":"x","uris":["http://a"],"fetch":[{"uri":"http://b"}]}`, 422, "/uris", "may not be set in conjunction with fetch"},
		{"gpus", `{"id":"/a","cmd":"x","gpus":1}`, 422, "/gpus", "gpu_resources"},
		{"single instance", `{"id":"/a","cmd":"x","instances":2,"labels":{"MARATHON_SINGLE_INSTANCE_APP":"true"}}`, 422, "/instances", "Single instance app"},
		{"bad unreachable", `{"id":"/a","cmd":"x","unreachableStrategy":"sometimes"}`, 400, "/unreachableStrategy", "error.expected.jsobject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body), "/", Options{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", e.Status, tt.status, e)
			}
			for _, d := range e.Details {
				if d.Path == tt.path && strings.Contains(strings.Join(d.Errors, "|"), tt.msg) {
					return
				}
			}
			t.Fatalf("no detail %s %q in %v", tt.path, tt.msg, e)
		})
	}
}

func TestSecurityOptionsAllowed(t *testing.T) {
	body := `{"id":"/a","container":{"docker":{"image":"x","privileged":true,"parameters":[{"key":"label","value":"a=b"}]},
		"volumes":[{"containerPath":"/d","hostPath":"/tmp","mode":"RW"}]}}`
	if _, err := Parse([]byte(body), "/", Options{AllowPrivileged: true, AllowDockerParameters: true, AllowHostVolumes: true}); err != nil {
		t.Fatal(err)
	}
}

func TestResolveID(t *testing.T) {
	for _, tt := range []struct{ id, base, want string }{
		{"web", "/", "/web"}, {"/a/b", "/x", "/a/b"}, {"web", "/shop", "/shop/web"},
		{"../web", "/shop/x", "/shop/web"}, {"./web", "/shop", "/shop/web"},
	} {
		if got := ResolveID(tt.id, tt.base); got != tt.want {
			t.Errorf("ResolveID(%q,%q) = %q, want %q", tt.id, tt.base, got, tt.want)
		}
	}
}

func TestHealthCheckDefaults(t *testing.T) {
	a := mustParse(t, `{"id":"/a","cmd":"x","healthChecks":[{"protocol":"http"},{"protocol":"TCP","portIndex":0},{"protocol":"COMMAND","command":{"value":"true"}}]}`)
	h := a.HealthChecks[0]
	if h.Protocol != "HTTP" || h.Path != "/" || *h.PortIndex != 0 || h.GracePeriodSeconds != 300 || h.IntervalSeconds != 60 ||
		h.TimeoutSeconds != 20 || h.MaxConsecutiveFailures != 3 {
		t.Fatalf("HTTP defaults: %+v", h)
	}
	if a.HealthChecks[1].Path != "" || a.HealthChecks[2].PortIndex != nil {
		t.Fatalf("TCP/COMMAND defaults: %+v %+v", a.HealthChecks[1], a.HealthChecks[2])
	}
}

func TestMergeUpdate(t *testing.T) {
	cur := mustParse(t, `{"id":"/a","cmd":"sleep 1","instances":2,"labels":{"x":"1"},"portDefinitions":[{"port":10001}],
		"container":{"docker":{"image":"old"}}}`)
	cur.Version = "2020-01-01T00:00:00.000Z"
	tests := []struct {
		name, patch string
		check       func(a *App) bool
	}{
		{"scale keeps everything", `{"instances":5}`, func(a *App) bool {
			return a.Instances == 5 && a.Cmd == "sleep 1" && a.Labels["x"] == "1" && a.PortDefinitions[0].Port == 10001
		}},
		{"args displaces cmd", `{"args":["a"]}`, func(a *App) bool { return a.Cmd == "" && a.Args[0] == "a" }},
		{"container replaced whole", `{"container":{"docker":{"image":"new"}}}`, func(a *App) bool {
			return a.Container.Docker.Image == "new" && a.PortDefinitions[0].Port == 10001
		}},
		{"null resets", `{"labels":null}`, func(a *App) bool { return len(a.Labels) == 0 }},
		{"switch to bridge drops portDefinitions", `{"container":{"docker":{"image":"n","network":"BRIDGE"}}}`, func(a *App) bool {
			return a.NetworkMode() == NetworkBridge && len(a.PortDefinitions) == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch, err := ObjectKeys([]byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			merged, err := MergeUpdate(cur, patch)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Parse(merged, "/", Options{})
			if err != nil {
				t.Fatalf("%s: %v", merged, err)
			}
			if !tt.check(a) {
				t.Fatalf("unexpected merge result %s", merged)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	a := mustParse(t, `{"id":"/shop/web","cmd":"./s","instances":3,"container":{"docker":{"image":"i","network":"BRIDGE",
		"portMappings":[{"containerPort":8080,"servicePort":10004,"name":"http"}]}},"healthChecks":[{"path":"/h"}],
		"constraints":[["hostname","UNIQUE"]],"unreachableStrategy":"disabled","fetch":[{"uri":"http://x/y.tgz"}]}`)
	a.Version = "2020-01-01T00:00:00.000Z"
	b, _ := json.Marshal(a)
	again, err := Parse(b, "/", Options{})
	if err != nil {
		t.Fatalf("re-parse of %s: %v", b, err)
	}
	again.Version = a.Version
	if !reflect.DeepEqual(a, again) {
		b2, _ := json.Marshal(again)
		t.Fatalf("round trip differs:\n%s\n%s", b, b2)
	}
}

func TestReadinessValidation(t *testing.T) {
	for _, tc := range []struct{ name, body, path string }{
		{"unknown portName", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"web"}],"readinessChecks":[{}]}`, "/readinessChecks(0)/portName"},
		{"two checks", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"http-api"}],"readinessChecks":[{},{}]}`, "/readinessChecks"},
		{"timeout not below interval", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"http-api"}],"readinessChecks":[{"intervalSeconds":5,"timeoutSeconds":5}]}`, "/readinessChecks(0)/timeoutSeconds"},
		{"bad protocol", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"http-api"}],"readinessChecks":[{"protocol":"TCP"}]}`, "/readinessChecks(0)/protocol"},
		{"unknown key", `{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"http-api"}],"readinessChecks":[{"bogus":1}]}`, "/readinessChecks(0)"},
	} {
		_, err := Parse([]byte(tc.body), "/", Options{})
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		b, _ := json.Marshal(err)
		if !strings.Contains(string(b), `"path":"`+tc.path+`"`) {
			t.Errorf("%s: %s does not name %s", tc.name, b, tc.path)
		}
	}
	a, err := Parse([]byte(`{"id":"/a","cmd":"x","portDefinitions":[{"port":0,"name":"http-api"}],"readinessChecks":[{"path":"/r"}]}`), "/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := a.Readiness()[0]
	want := ReadinessDefaults()
	want.Path = "/r"
	if got.Path != want.Path || got.IntervalSeconds != 30 || got.TimeoutSeconds != 10 || got.PortName != "http-api" {
		t.Fatalf("defaults: %+v", got)
	}
}
