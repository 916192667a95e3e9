package master

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

var marathonTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// timeKeys are Marathon's timestamp fields; nullTimeKeys may be null.
var timeKeys = map[string]bool{"version": true, "stagedAt": true, "startedAt": true, "timestamp": true,
	"since": true, "lastScalingAt": true, "lastConfigChangeAt": true, "firstSuccess": true,
	"lastSuccess": true, "lastFailure": true, "lastUnusedOfferAt": true}
var nullTimeKeys = map[string]bool{"firstSuccess": true, "lastSuccess": true, "lastFailure": true}

// numberKeys are Marathon's numeric fields (scalars or arrays of numbers).
var numberKeys = map[string]bool{"instances": true, "cpus": true, "mem": true, "disk": true, "gpus": true,
	"ports": true, "servicePorts": true, "servicePort": true, "containerPort": true, "hostPort": true,
	"port": true, "tasksStaged": true, "tasksRunning": true, "tasksHealthy": true, "tasksUnhealthy": true,
	"currentStep": true, "totalSteps": true, "count": true, "timeLeftSeconds": true,
	"backoffSeconds": true, "backoffFactor": true, "maxLaunchDelaySeconds": true, "portIndex": true,
	"gracePeriodSeconds": true, "intervalSeconds": true, "timeoutSeconds": true,
	"maxConsecutiveFailures": true, "consecutiveFailures": true, "minimumHealthCapacity": true,
	"maximumOverCapacity": true, "processedOffersCount": true, "unusedOffersCount": true,
	"inactiveAfterSeconds": true, "expungeAfterSeconds": true, "declined": true, "processed": true}

// audit walks a decoded response and reports every timestamp not in
// Marathon's format and every numeric field that is not a JSON number.
func audit(path string, v any, bad *[]string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val, p := x[k], path+"/"+k
			switch {
			case timeKeys[k] && path != "" && !strings.HasSuffix(path, "/versions"):
				s, ok := val.(string)
				if !(ok && marathonTime.MatchString(s)) && !(val == nil && nullTimeKeys[k]) {
					*bad = append(*bad, p+" is not a Marathon timestamp: "+jsonText(val))
				}
			case numberKeys[k]:
				checkNumbers(p, val, bad)
			}
			audit(p, val, bad)
		}
	case []any:
		for i, e := range x {
			audit(path+"("+itoa(i)+")", e, bad)
		}
	}
}

func checkNumbers(p string, v any, bad *[]string) {
	switch x := v.(type) {
	case float64:
	case []any:
		for i, e := range x {
			if _, ok := e.(float64); !ok {
				*bad = append(*bad, p+"("+itoa(i)+") is not a number: "+jsonText(e))
			}
		}
	case map[string]any: // "ports" in a status event or similar object: not ours to judge
	default:
		*bad = append(*bad, p+" is not a number: "+jsonText(v))
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestResponseDrift audits every read endpoint with a running app, a
// health check, a failure, a queued app and a running deployment.
func TestResponseDrift(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Advertise = "127.0.0.1:8080" })
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/shop/web","cmd":"x","cpus":0.1,"mem":16,"instances":2,
		"portDefinitions":[{"port":0,"name":"http"}],
		"healthChecks":[{"protocol":"HTTP","path":"/","portIndex":0}]}`)
	h.converge(a)
	ts0 := ts(h.clock.Now())
	for id := range a.running {
		a.health[id] = []wire.HealthResult{{Alive: true, FirstSuccess: ts0, LastSuccess: ts0}}
		a.report(wire.TaskStatus{TaskID: id, State: wire.TaskRunning})
		a.report(wire.TaskStatus{TaskID: id, State: wire.TaskFailed, Message: "exit 1"})
		delete(a.running, id)
		break
	}
	h.must(201, "POST", "/v2/apps", `{"id":"/nowhere","cmd":"x","cpus":0.1,"mem":16,
		"constraints":[["rack","LIKE","r9"]]}`)
	h.pass()
	if app := h.app("/shop/web"); app["lastTaskFailure"] == nil || len(app["tasks"].([]any)) == 0 {
		t.Fatalf("the audit needs a failure and tasks: %v", app)
	}
	if q := h.must(200, "GET", "/v2/queue", "").json(t)["queue"].([]any); len(q) == 0 {
		t.Fatal("the audit needs a queued app")
	}
	for _, path := range []string{"/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.lastTaskFailure",
		"/v2/apps/shop/web", "/v2/apps/shop/web/tasks", "/v2/tasks", "/v2/deployments", "/v2/queue",
		"/v2/leader", "/v2/info", "/v2/apps/shop/web/versions"} {
		var v any
		if err := json.Unmarshal(h.must(200, "GET", path, "").body, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var bad []string
		audit("", v, &bad)
		for _, b := range bad {
			t.Errorf("%s: %s", path, b)
		}
	}
}

// TestAuditCatchesDrift: the audit itself flags the drift it looks for.
func TestAuditCatchesDrift(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want int
	}{
		{`{"app":{"instances":"2","version":"2026-01-02T03:04:05Z"}}`, 2},
		{`{"tasks":[{"ports":[31000,"31001"],"stagedAt":"2026-01-02T03:04:05.000Z"}]}`, 1},
		{`{"tasks":[{"healthCheckResults":[{"lastFailure":null,"firstSuccess":"x"}]}]}`, 1},
		{`{"app":{"instances":2,"version":"2026-01-02T03:04:05.123Z","ports":[1]}}`, 0},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
			t.Fatal(err)
		}
		var bad []string
		audit("", v, &bad)
		if len(bad) != tc.want {
			t.Errorf("%s: %d findings %v, want %d", tc.doc, len(bad), bad, tc.want)
		}
	}
}
