package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/lbsync"
)

// TestPrintRoutesExplainsExclusions: per servicePort the app, each
// backend's health and weight, and why every other instance is not routed.
func TestPrintRoutesExplainsExclusions(t *testing.T) {
	st := lbsync.Status{HTTPPort: 80, Ownership: "master", ClusterID: "c1",
		Services: []lbsync.Service{
			{Name: "web_10001", App: "/web", ServicePort: 10001, Mode: "http", VHosts: []string{"web.test"},
				Backends: []lbsync.Backend{{Address: "10.0.0.1", Port: 31001, Health: "passing", LB: "DOWN", Weight: 3, Task: "web.1"}},
				Excluded: []lbsync.Excluded{
					{ServicePort: 10001, App: "/web", Address: "10.0.0.2", Port: 31002, Task: "web.2", Kind: lbsync.ExcludedUnhealthy, Reason: "Consul check critical: http: boom"},
					{ServicePort: 10001, App: "/old", Address: "10.0.0.3", Port: 31003, ID: "n:old:1", Kind: lbsync.ExcludedStaleOwner, Reason: "servicePort 10001 belongs to app /web in the master's record"},
				}},
			{Name: "db_10002", App: "/db", ServicePort: 10002, Mode: "tcp"},
		},
		Consul: &lbsync.ConsulStatus{Address: "127.0.0.1:8500", LastSnapshot: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			LastIndex: 42, Error: "catalog services: connection refused"},
		HAProxy: &lbsync.HAProxyStatus{Version: "2.6.12", MasterPID: 7, Workers: 1, Reloads: 3, FailedReloads: 1,
			LastReload: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), LastReloadAction: "reload", LastReloadError: "boom"},
		Unrouted: []lbsync.Excluded{{ServicePort: 10009, App: "/x", Address: "10.0.0.9", Port: 1, ID: "n:x:1", Kind: lbsync.ExcludedForeign, Reason: "berth_cluster \"c0\" (ours is c1)"}},
	}
	var out bytes.Buffer
	printRoutes(&out, st)
	for _, want := range []string{
		"servicePort owners: the master's apps; cluster c1",
		"1 routed, 2 excluded",
		"no ready instance: connections are closed",
		"10.0.0.1:31001  consul passing, haproxy DOWN",
		"weight 3",
		"excluded: unhealthy",
		"Consul check critical: http: boom",
		"excluded: stale owner",
		"app /old, n:old:1",
		"NOT ROUTED",
		"foreign cluster",
		"consul 127.0.0.1:8500: last answer 2026-01-02T03:04:05Z (index 42) — error: catalog services: connection refused\n",
		"haproxy 2.6.12: master pid 7, 1 worker(s), 3 reload(s) (1 failed); lbsync's last reload 2026-01-02T03:04:00Z — error: boom\n",
		"SERVICEPORT  APP",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
