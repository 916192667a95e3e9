package master

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return append(buf.Bytes(), '\n')
}

// TestInfoGolden: GET /v2/info has Marathon's keys with Marathon's JSON
// types, and Berth's settings only under "berth".
func TestInfoGolden(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Advertise = "127.0.0.1:8080"; c.AgentTimeout = 15 * time.Second })
	body := bytes.ReplaceAll(h.must(200, "GET", "/v2/info", "").body, []byte(h.m.ClusterID()), []byte("CLUSTER-ID")) // a fresh uuid per store
	golden(t, "info.golden", indentJSON(t, body))
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

// TestInfoTypes pins the JSON type of every key strict Marathon clients
// build objects from, and that marathon_config holds no foreign key.
func TestInfoTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want map[string]string
	}{
		{"plain", func(c *Config) { c.Advertise = "10.0.0.1:8080" }, map[string]string{
			"name": "string", "version": "string", "buildref": "string", "elected": "boolean",
			"leader": "string", "frameworkId": "string", "event_subscriber": "null",
			"http_config.http_port": "number", "http_config.https_port": "number",
			"marathon_config.local_port_min": "number", "marathon_config.local_port_max": "number",
			"marathon_config.hostname": "string", "marathon_config.ha": "boolean",
			"marathon_config.task_launch_timeout": "number", "marathon_config.features": "array",
			"marathon_config.failover_timeout": "number", "marathon_config.mesos_role": "null",
			"zookeeper_config.zk": "string", "zookeeper_config.zk_max_versions": "number",
			"berth.agentTimeoutSeconds": "number",
		}},
		{"tls", func(c *Config) { c.Advertise = "10.0.0.1:8443"; c.TLS = true }, map[string]string{
			"http_config.https_port": "number",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.mod)
			info := h.must(200, "GET", "/v2/info", "").json(t)
			for path, kind := range tc.want {
				v := any(info)
				for _, k := range splitDots(path) {
					v = v.(map[string]any)[k]
				}
				if got := jsonKind(v); got != kind {
					t.Errorf("%s is %s (%v), want %s", path, got, v, kind)
				}
			}
			mc := info["marathon_config"].(map[string]any)
			for _, foreign := range []string{"agent_timeout_seconds", "http_port"} {
				if _, ok := mc[foreign]; ok {
					t.Errorf("marathon_config has %q, which Marathon does not", foreign)
				}
			}
			hc := info["http_config"].(map[string]any)
			if tc.name == "tls" && hc["https_port"] != 8443.0 || tc.name == "plain" && hc["http_port"] != 8080.0 {
				t.Errorf("http_config = %v", hc)
			}
		})
	}
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestPodsNotSupported(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct{ method, path string }{{"GET", "/v2/pods"}, {"POST", "/v2/pods"},
		{"GET", "/v2/pods/x::status"}, {"DELETE", "/v2/pods/a/b"}} {
		r := h.do(c.method, c.path, "")
		if r.code != 501 || r.json(t)["message"] != podsUnsupported {
			t.Errorf("%s %s = %d %s", c.method, c.path, r.code, r.body)
		}
	}
	if r := h.do("HEAD", "/v2/pods", ""); r.code != 501 {
		t.Errorf("HEAD /v2/pods = %d", r.code)
	}
}
