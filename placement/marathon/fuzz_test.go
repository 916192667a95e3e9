package marathon

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeApp feeds arbitrary bytes to the decoder, validator and merge:
// every outcome is an app or a 400/422 *Error, never a panic; an accepted
// app marshals and re-parses.
func FuzzDecodeApp(f *testing.F) {
	seeds := []string{
		`{"id":"/a","cmd":"x"}`,
		`{"id":"web","container":{"type":"DOCKER","docker":{"image":"i","network":"BRIDGE","portMappings":[{"containerPort":80,"servicePort":10001}]}}}`,
		`{"id":"/u","networks":[{"mode":"container","name":"n"}],"container":{"docker":{"image":"i"},"portMappings":[{"containerPort":80,"hostPort":0}]}}`,
		`{"id":"/p","cmd":"x","ports":[0,10005],"portDefinitions":[{"port":0},{"port":10005}],"requirePorts":true}`,
		`{"id":"/h","cmd":"x","healthChecks":[{"protocol":"COMMAND","command":{"value":"true"}},{"portIndex":5}]}`,
		`{"id":"/c","cmd":"x","constraints":[["hostname","UNIQUE"],["rack","GROUP_BY","3"],["a","LIKE","("]]}`,
		`{"id":"/n","cmd":null,"args":null,"instances":null,"unreachableStrategy":"disabled","env":{"A":"b","S":{"secret":"x"}}}`,
		`[]`, `null`, `{"id":1}`, `{"id":"/../..","cpus":-1e400}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data, "/g", Options{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != 400 && e.Status != 422) || len(e.Details) == 0 {
				t.Fatalf("error %v is not a 400/422 *Error with details", err)
			}
		} else {
			b, err := json.Marshal(a)
			if err != nil {
				t.Fatalf("marshal accepted app: %v", err)
			}
			if _, err := Parse(b, "/", Options{}); err != nil {
				t.Fatalf("accepted app does not re-parse: %s: %v", b, err)
			}
		}
		cur := &App{ID: "/a", Cmd: "x", Instances: 1, CPUs: 1, BackoffFactor: 1.15}
		if patch, err := ObjectKeys(data); err == nil {
			if merged, err := MergeUpdate(cur, patch); err == nil {
				_, _ = Parse(merged, "/", Options{})
			}
		}
	})
}
