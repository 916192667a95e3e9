package devstack

import (
	"net"
	"strings"
	"testing"
)

func TestAgentTopology(t *testing.T) {
	tests := []struct {
		i, n   int
		lo, hi int
		attrs  string
	}{
		{1, 3, 31000, 31499, ""},
		{2, 3, 31500, 31999, "rack:rack-1"},
		{3, 3, 32000, 32499, "rack:rack-2"},
		{1, 1, 31000, 31999, ""},
		{10, 10, 31900, 31999, "rack:rack-9"},
	}
	for _, tt := range tests {
		lo, hi := AgentPorts(tt.i, tt.n)
		if lo != tt.lo || hi != tt.hi || AgentAttributes(tt.i) != tt.attrs {
			t.Errorf("agent %d of %d: ports %d-%d attrs %q, want %d-%d %q", tt.i, tt.n, lo, hi, AgentAttributes(tt.i), tt.lo, tt.hi, tt.attrs)
		}
		if hi >= 32768 {
			t.Errorf("agent %d of %d: range reaches the ephemeral ports (%d)", tt.i, tt.n, hi)
		}
	}
	// The fixed-ports example needs host port 31030 on agent-1.
	for n := 1; n <= MaxAgents; n++ {
		if lo, hi := AgentPorts(1, n); lo > 31030 || hi < 31030 {
			t.Errorf("with %d agents agent-1 does not own 31030", n)
		}
	}
}

func TestCheckPortsNamesTheTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := Config{Berth: "b", Consul: "c", HAProxy: "h", Nginx: "n", Listen: l.Addr().String(),
		HTTPPort: 1, StatsPort: 2}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckPorts()
	if err == nil || !strings.Contains(err.Error(), l.Addr().String()) || !strings.Contains(err.Error(), "master API") {
		t.Fatalf("CheckPorts = %v, want an error naming %s (master API)", err, l.Addr())
	}
}

func TestValidate(t *testing.T) {
	cfg := Config{Berth: "b", Consul: "c", HAProxy: "h", Nginx: "n", Agents: 11}
	cfg.Defaults()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--agents 11") {
		t.Errorf("Validate = %v, want --agents rejected", err)
	}
	cfg = Config{HAProxy: "h", Nginx: "n"}
	cfg.Defaults()
	if err := cfg.Validate(); err == nil {
		t.Error("Validate accepted a config without the berth and consul binaries")
	}
}
