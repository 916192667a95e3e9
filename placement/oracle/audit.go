package oracle

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// MarathonTime matches Marathon's timestamps (UTC, milliseconds).
var MarathonTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// timeKeys are Marathon's timestamp fields; nullTimeKeys may be null.
var timeKeys = map[string]bool{"version": true, "stagedAt": true, "startedAt": true, "timestamp": true,
	"since": true, "lastScalingAt": true, "lastConfigChangeAt": true, "firstSuccess": true,
	"lastSuccess": true, "lastFailure": true, "lastUnusedOfferAt": true}

// A task not started yet has "startedAt": null, as Marathon's task
// writer puts the Option it holds (the Task schema says the same).
var nullTimeKeys = map[string]bool{"firstSuccess": true, "lastSuccess": true, "lastFailure": true, "startedAt": true}

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
				if !(ok && MarathonTime.MatchString(s)) && !(val == nil && nullTimeKeys[k]) {
					*bad = append(*bad, p+" is not a Marathon timestamp: "+jsonText(val))
				}
			case numberKeys[k]:
				checkNumbers(p, val, bad)
			}
			audit(p, val, bad)
		}
	case []any:
		for i, e := range x {
			audit(path+"("+strconv.Itoa(i)+")", e, bad)
		}
	}
}

func checkNumbers(p string, v any, bad *[]string) {
	switch x := v.(type) {
	case float64:
	case []any:
		for i, e := range x {
			if _, ok := e.(float64); !ok {
				*bad = append(*bad, p+"("+strconv.Itoa(i)+") is not a number: "+jsonText(e))
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

// Audit walks a decoded response and returns every timestamp not in
// Marathon's format and every numeric field that is not a JSON number.
func Audit(v any) []string {
	var bad []string
	audit("", v, &bad)
	return bad
}
