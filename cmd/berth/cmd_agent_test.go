package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAgentDurationFlags(t *testing.T) {
	base := agentFlags{master: "http://127.0.0.1:8080", listen: "127.0.0.1:5051", containerizers: "process", workDir: "w"}
	f := base
	f.retainExited = -time.Second
	if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--retain-exited") {
		t.Fatalf("negative --retain-exited: %v", err)
	}
	f = base
	f.orphanGrace = -time.Second
	if _, err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--orphan-grace") {
		t.Fatalf("negative --orphan-grace: %v", err)
	}
	f = base
	f.orphanGrace, f.retainExited = 0, 90*time.Minute
	og, re := agentDurations(f)
	if og != time.Nanosecond || re != 90*time.Minute {
		t.Fatalf("durations %v %v", og, re)
	}
	var out strings.Builder
	if code := runAgent(context.Background(), []string{"--retain-exited", "xyz"}, &out, &out); code != 2 || !strings.Contains(out.String(), "retain-exited") {
		t.Fatalf("bad --retain-exited: exit %d, %s", code, out.String())
	}
}
