package marathon

import (
	"bytes"
	"encoding/json"
)

// readOnly are fields GET adds that an update never sets.
var readOnly = []string{"version", "versionInfo", "ports", "tasksStaged", "tasksRunning",
	"tasksHealthy", "tasksUnhealthy", "deployments", "tasks", "lastTaskFailure", "taskStats",
	"readinessCheckResults"}

// ObjectKeys decodes a JSON object's top level; a non-object is a 400.
func ObjectKeys(body []byte) (map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, InvalidJSON(err)
	}
	if m == nil {
		return nil, &Error{Status: 400, Message: "Invalid JSON",
			Details: []Detail{{Path: "/", Errors: []string{"error.expected.jsobject"}}}}
	}
	return m, nil
}

// MergeUpdate implements partialUpdate=true: top-level fields present in
// patch replace the current app's (a nested object replaces the whole
// sub-object), an explicit null resets a field to its default, and fields
// absent keep their value. Alternative spellings (cmd/args, ports/
// portDefinitions, docker.network/networks) given in the patch displace
// their counterparts. The result is a JSON document for Decode.
func MergeUpdate(current *App, patch map[string]json.RawMessage) ([]byte, error) {
	raw, err := json.Marshal(current)
	if err != nil {
		return nil, err
	}
	base := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &base); err != nil {
		return nil, err
	}
	for _, k := range readOnly {
		delete(base, k)
	}
	displaces := map[string][]string{
		"cmd": {"args"}, "args": {"cmd"}, "ports": {"portDefinitions"},
		"portDefinitions": {"ports"}, "ipAddress": {"networks"},
	}
	for k := range patch {
		for _, d := range displaces[k] {
			delete(base, d)
		}
	}
	if c, ok := patch["container"]; ok && containerHasDockerNetwork(c) {
		if _, ok := patch["networks"]; !ok {
			delete(base, "networks")
		}
	}
	for k, v := range patch {
		if isNull(v) {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	if _, given := patch["portDefinitions"]; !given && mergedNonHost(base) {
		delete(base, "portDefinitions")
	}
	return json.Marshal(base)
}

func isNull(v json.RawMessage) bool {
	return string(bytes.TrimSpace(v)) == "null"
}

func containerHasDockerNetwork(c json.RawMessage) bool {
	var probe struct {
		Docker *struct {
			Network *string `json:"network"`
		} `json:"docker"`
	}
	if json.Unmarshal(c, &probe) != nil || probe.Docker == nil {
		return false
	}
	return probe.Docker.Network != nil
}

// mergedNonHost reports whether the merged document asks for a non-host
// network (then the current app's host portDefinitions no longer apply).
func mergedNonHost(doc map[string]json.RawMessage) bool {
	var in appIn
	probe := map[string]json.RawMessage{}
	for _, k := range []string{"networks", "container", "ipAddress"} {
		if v, ok := doc[k]; ok {
			probe[k] = v
		}
	}
	b, err := json.Marshal(probe)
	if err != nil || json.Unmarshal(b, &in) != nil {
		return false
	}
	var v Violations
	mode, _ := networkMode(&in, &v)
	return mode != NetworkHost
}
