package ui

import (
	"encoding/json"
	"testing"

	"github.com/berth-platform/berth/internal/apiclient"
)

// Fields the pages show when the API sends them: Mesos' drain_info,
// lbsync's cluster/ownership/Consul status and backend times.

// TestAgentState: Mesos' drain_info and deactivated, when the master
// sends them.
func TestAgentState(t *testing.T) {
	for js, want := range map[string]string{
		`{"active":true}`: "active",
		`{"active":false,"drain_info":{"state":"DRAINING"}}`: "unreachable",
		`{"active":true,"drain_info":{"state":"DRAINING"}}`:  "draining",
		`{"active":true,"drain_info":{"state":"DRAINED"}}`:   "drained",
		`{"active":true,"deactivated":true}`:                 "deactivated",
	} {
		var a agentJSON
		if err := json.Unmarshal([]byte(js), &a); err != nil {
			t.Fatal(err)
		}
		if got := agentState(a); got != want {
			t.Errorf("%s: %q, want %q", js, got, want)
		}
	}
}

// TestClusterLB: what lbsync routes, whose ports, and its Consul source
// when /routes carries one.
func TestClusterLB(t *testing.T) {
	var r routesJSON
	if err := json.Unmarshal([]byte(`{"services":[{"backends":[{},{}]},{"backends":[{}]}],"warnings":["w"],
		"ownership":"master","clusterId":"c1","consul":{"address":"127.0.0.1:8500",
		"lastSnapshot":"2026-01-02T03:04:50Z","lastIndex":42}}`), &r); err != nil {
		t.Fatal(err)
	}
	s := routesSummary(r, fixedNow)
	if s.Services != 2 || s.Backends != 3 || s.Warnings != 1 || s.Ownership != "master, cluster c1" ||
		s.Consul != "127.0.0.1:8500 · last snapshot 10s ago (index 42)" {
		t.Errorf("summary %+v", s)
	}
	if s := routesSummary(routesJSON{}, fixedNow); s.Consul != "" {
		t.Errorf("no consul status: %q", s.Consul)
	}
}

// TestTimelineWithLBTimes: with lbsync's inConsulAt/routedAt the last two
// steps are durations and the total runs to routed; without them routed
// is a yes/no.
func TestTimelineWithLBTimes(t *testing.T) {
	started := "2026-01-02T03:00:00.300Z"
	tasks := []apiclient.Task{{ID: "a.1", Version: "2026-01-02T03:00:00.000Z", StagedAt: "2026-01-02T03:00:00.100Z",
		StartedAt: &started, Raw: json.RawMessage(`{"healthCheckResults":[{"firstSuccess":"2026-01-02T03:00:00.500Z"}]}`)},
		{ID: "a.2", Version: "2026-01-02T03:00:00.000Z", StagedAt: "2026-01-02T03:00:00.100Z", StartedAt: &started}}
	var r routesJSON
	if err := json.Unmarshal([]byte(`{"services":[{"backends":[{"task":"a.1","inConsulAt":"2026-01-02T03:00:00.520Z",
		"routedAt":"2026-01-02T03:00:00.560Z"},{"task":"a.2"}]}]}`), &r); err != nil {
		t.Fatal(err)
	}
	g := Timeline(tasks, routedTasks(&r))
	if len(g) != 1 || len(g[0].Tasks) != 2 {
		t.Fatalf("timeline %+v", g)
	}
	a1, a2 := g[0].Tasks[0], g[0].Tasks[1]
	if a1.Placed != "100" || a1.Started != "200" || a1.Healthy != "200" || a1.InConsul != "20" || a1.Routed != "+40" || a1.Total != "560" {
		t.Errorf("a.1 %+v", a1)
	}
	if a2.InConsul != "" || a2.Routed != "yes" || a2.Total != "300" {
		t.Errorf("a.2 %+v", a2)
	}
	if g := Timeline(tasks, nil); g[0].Tasks[0].Routed != "unknown" {
		t.Errorf("without lbsync: %+v", g[0].Tasks[0])
	}
}
