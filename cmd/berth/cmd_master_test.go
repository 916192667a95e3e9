package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHAFlags: --zk and zk:// masters are checked before anything starts.
func TestHAFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"master: bad zk url", []string{"master", "--zk", "zk://h:2181"}, "want a path after the servers"},
		{"master: not zk", []string{"master", "--zk", "http://h:2181/berth"}, "want zk://"},
		{"master: session", []string{"master", "--zk", "zk://h:2181/berth", "--zk-session-timeout", "0s"}, "must be positive"},
		{"master: advertise", []string{"master", "--zk", "zk://h:2181/berth", "--advertise", "nohost"}, "--advertise"},
		{"agent: bad zk url", []string{"agent", "--master", "zk:///berth"}, "no servers"},
		{"agent: scheme", []string{"agent", "--master", "ftp://h"}, "zk://host:2181"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := dispatch(context.Background(), tt.args, &out, &errb); code != 2 {
				t.Fatalf("exit code = %d, want 2 (stderr %q)", code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.wantErr)
			}
		})
	}
	var f masterFlags
	f.servicePorts, f.agentTimeout, f.zkSession, f.zkRetry = "10000-20000", 1, 1, 1
	f.zk = "zk://h1:2181,h2/berth"
	if err := f.Validate(); err != nil {
		t.Fatalf("valid --zk refused: %v", err)
	}
	a := agentFlags{master: "zk://h1:2181/berth", listen: "127.0.0.1:5051", containerizers: "process", workDir: "w"}
	if _, err := a.Validate(); err != nil {
		t.Fatalf("valid zk:// master refused: %v", err)
	}
}
