package marathon

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestNewerFieldsAndUnknownKeys pins what Berth does with app fields it
// does not implement (COMPAT.md, App fields). Like Marathon, whose JSON
// readers skip keys they do not know, an unknown key is accepted and
// dropped — a typo is not an error. Fields of newer Marathon versions that
// Berth has no runtime for are accepted, dropped and not echoed; those
// whose silent loss would change what runs are refused with a 422 naming
// the field.
func TestNewerFieldsAndUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		dropped     string // the key that must not be echoed
		path, msg   string // a refused field: the violation's path and text
	}{
		{"unknown key", `"helthChecks":[{"protocol":"HTTP"}]`, "helthChecks", "", ""},
		{"tty (1.5+)", `"tty":true`, "tty", "", ""},
		{"role (1.9+)", `"role":"slave_public"`, "role", "", ""},
		{"executorResources", `"executorResources":{"cpus":0.1,"mem":32}`, "executorResources", "", ""},
		{"resourceLimits (1.10)", `"resourceLimits":{"cpus":"unlimited"}`, "resourceLimits", "", ""},
		{"check (Mesos app check)", `"check":{"http":{"portIndex":0,"path":"/"}}`, "check", "", ""},
		{"container.linuxInfo (1.8+)", `"container":{"type":"DOCKER","docker":{"image":"berth/hello"},"linuxInfo":{"seccomp":{"unconfined":true}}}`, "linuxInfo", "", ""},
		{"docker.credential", `"container":{"type":"DOCKER","docker":{"image":"berth/hello","credential":{"principal":"p","secret":"s"}}}`, "credential", "", ""},
		{"docker.pullConfig", `"container":{"type":"DOCKER","docker":{"image":"berth/hello","pullConfig":{"secret":"s"}}}`, "pullConfig", "", ""},
		{"secret volume", `"container":{"type":"DOCKER","docker":{"image":"berth/hello"},"volumes":[{"containerPath":"/s","mode":"RO","secret":"db"}]}`,
			"", "/container/volumes(0)/secret", "secret volumes are not supported by Berth"},
		{"persistent volume", `"container":{"type":"DOCKER","docker":{"image":"berth/hello"},"volumes":[{"containerPath":"data","mode":"RW","persistent":{"size":10}}]}`,
			"", "/container/volumes(0)", "persistent and external volumes are not supported by Berth"},
		{"env secret", `"env":{"PW":{"secret":"pw"}},"secrets":{"pw":{"source":"/db/pw"}}`, "", "/env/PW", "secret references are not supported by Berth"},
		{"docker.network NONE", `"container":{"type":"DOCKER","docker":{"image":"berth/hello","network":"NONE"}}`, "", "/container/docker/network", "must be one of HOST, BRIDGE, USER"},
	} {
		body := `{"id":"/f","cmd":"sleep 1",` + tc.extra + `}`
		a, err := Parse([]byte(body), "/", Options{AllowHostVolumes: true})
		if tc.path != "" {
			var me *Error
			if !errors.As(err, &me) || me.Status != 422 || !hasViolation(me, tc.path, tc.msg) {
				t.Errorf("%s: %v, want 422 at %s %q", tc.name, err, tc.path, tc.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: refused: %v", tc.name, err)
			continue
		}
		out, _ := json.Marshal(a)
		if strings.Contains(string(out), `"`+tc.dropped+`"`) {
			t.Errorf("%s: echoed although Berth ignores it: %s", tc.name, out)
		}
	}
}

func hasViolation(e *Error, path, msg string) bool {
	for _, d := range e.Details {
		if d.Path == path && strings.Contains(strings.Join(d.Errors, " "), msg) {
			return true
		}
	}
	return false
}
