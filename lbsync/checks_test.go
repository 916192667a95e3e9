package lbsync

import (
	"strings"
	"testing"
)

func TestParseCheck(t *testing.T) {
	tests := []struct {
		name string
		meta map[string]string
		want *HealthCheck
		warn string
	}{
		{"none", map[string]string{}, nil, ""},
		{"http", map[string]string{MetaCheckProtocol: "HTTP", MetaCheckPath: "/health?deep=1", MetaCheckInterval: "2",
			MetaCheckTimeout: "1", MetaCheckMaxFailures: "2"}, &HealthCheck{Protocol: "HTTP", Path: "/health?deep=1", Interval: 2, Timeout: 1, Fall: 2}, ""},
		{"marathon defaults", map[string]string{MetaCheckProtocol: "https"}, &HealthCheck{Protocol: "HTTPS", Path: "/", Interval: 60, Timeout: 20, Fall: 3}, ""},
		{"tcp has no path", map[string]string{MetaCheckProtocol: "TCP", MetaCheckPath: "/x", MetaCheckMaxFailures: "0"},
			&HealthCheck{Protocol: "TCP", Interval: 60, Timeout: 20, Fall: 1}, ""},
		{"command checks are not HAProxy's", map[string]string{MetaCheckProtocol: "COMMAND"}, nil, "not HTTP, HTTPS or TCP"},
		{"bad interval", map[string]string{MetaCheckProtocol: "TCP", MetaCheckInterval: "0"}, nil, "out of range"},
	}
	for _, tt := range tests {
		var warns []string
		got := parseCheck(tt.meta, func(f string, a ...any) { warns = append(warns, f) })
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
		if tt.warn == "" && len(warns) > 0 || tt.warn != "" && len(warns) == 0 {
			t.Errorf("%s: warnings %v", tt.name, warns)
		}
	}
	// Hostile values never become a check.
	for _, v := range hostileValues() {
		for _, key := range []string{MetaCheckPath, MetaCheckInterval, MetaCheckTimeout, MetaCheckMaxFailures, MetaCheckProtocol} {
			meta := map[string]string{MetaCheckProtocol: "HTTP", key: v}
			n := 0
			if c := parseCheck(meta, func(string, ...any) { n++ }); c != nil || n != 1 {
				t.Errorf("%s=%q: check %+v, %d warnings", key, v, c, n)
			}
		}
	}
	if c := parseCheck(map[string]string{MetaCheckProtocol: "HTTP", MetaCheckPath: "/a b"}, func(string, ...any) {}); c != nil && strings.Contains(c.Path, " ") {
		t.Error("a path with a space was accepted")
	}
}

// TestRuntimeCommandsCarryWeights: a weight change alone is one `set
// server … weight`; a slot filled with a weighted backend gets its weight
// before it is made ready; an emptied one goes back to weight 1.
func TestRuntimeCommandsCarryWeights(t *testing.T) {
	b := Backend{Address: "10.0.0.1", Port: 1}
	heavy := b
	heavy.Weight = 5
	tests := []struct {
		prev, next Slots
		want       []string
	}{
		{Slots{"x": {b}}, Slots{"x": {heavy}}, []string{"set server x/s1 weight 5"}},
		{Slots{"x": {{}}}, Slots{"x": {heavy}}, []string{"set server x/s1 addr 10.0.0.1 port 1", "set server x/s1 weight 5", "set server x/s1 state ready"}},
		{Slots{"x": {heavy}}, Slots{"x": {{}}}, []string{"set server x/s1 state maint", "set server x/s1 addr 127.0.0.1 port 1", "set server x/s1 weight 1"}},
		{Slots{"x": {b}}, Slots{"x": {b}}, nil},
	}
	for i, tt := range tests {
		if got := RuntimeCommands(tt.prev, tt.next); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%d: %q, want %q", i, got, tt.want)
		}
	}
}

func TestParseServerStates(t *testing.T) {
	out := "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord\n" +
		"5 web_1 1 s1 10.0.0.1 2 0 1 1 5 15 3 2 6 0 0 0 - 31001 -\n" +
		"5 web_1 2 s2 10.0.0.2 0 4 1 1 5 17 2 0 6 0 0 0 - 31002 -\n" +
		"5 web_1 3 s3 10.0.0.3 2 8 1 1 5 15 3 2 6 0 0 0 - 31003 -\n" +
		"5 web_1 4 s4 10.0.0.4 0 1 1 1 5 15 3 2 6 0 0 0 - 31004 -\n" +
		"5 web_1 5 s5 127.0.0.1 0 5 1 1 5 15 3 2 6 0 0 0 - 1 -\n"
	got := parseServerStates(out)
	want := map[string]string{"web_1/10.0.0.1:31001": "UP", "web_1/10.0.0.2:31002": "DOWN",
		"web_1/10.0.0.3:31003": "DRAIN", "web_1/10.0.0.4:31004": "MAINT"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
