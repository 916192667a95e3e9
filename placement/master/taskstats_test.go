package master

import (
	"testing"
	"time"
)

func TestTaskStatsByVersion(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/ts","cmd":"x","cpus":0.1,"mem":16,"instances":2,
		"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":0}}`)
	h.converge(a)
	stats := func() map[string]any {
		return h.must(200, "GET", "/v2/apps/ts?embed=app.taskStats", "").json(t)["app"].(map[string]any)["taskStats"].(map[string]any)
	}
	count := func(s map[string]any, key, field string) any {
		c, ok := s[key].(map[string]any)
		if !ok {
			return nil
		}
		return c["stats"].(map[string]any)["counts"].(map[string]any)[field]
	}
	h.clock.Advance(10 * time.Second)
	s := stats()
	if count(s, "totalSummary", "running") != 2.0 || count(s, "withLatestConfig", "running") != 2.0 ||
		s["withOutdatedConfig"] != nil {
		t.Fatalf("after start: %v", s)
	}
	life := s["totalSummary"].(map[string]any)["stats"].(map[string]any)["lifeTime"].(map[string]any)
	if life["averageSeconds"] != 10.0 || life["medianSeconds"] != 10.0 {
		t.Fatalf("lifeTime = %v", life)
	}
	// Scale up: one task started after the last scaling, all on the latest config.
	h.must(200, "PUT", "/v2/apps/ts", `{"instances":3}`)
	h.converge(a)
	s = stats()
	if count(s, "startedAfterLastScaling", "running") != 1.0 || count(s, "withLatestConfig", "running") != 3.0 {
		t.Fatalf("after scaling: %v", s)
	}
	// A config change with a restart held at its first step: old tasks are outdated.
	h.must(200, "PUT", "/v2/apps/ts", `{"cmd":"y"}`)
	h.pass()
	s = stats()
	if count(s, "withOutdatedConfig", "running") != 3.0 {
		t.Fatalf("after a config change: %v", s)
	}
	h.converge(a)
	if s = stats(); s["withOutdatedConfig"] != nil || count(s, "withLatestConfig", "running") != 3.0 {
		t.Fatalf("after the restart: %v", s)
	}
}
