package ui

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/berth-platform/berth/lbsync"
)

// The routes, cluster and app pages' golden fixture for lbsync is written
// with lbsync's own status types (lbsync.Status) and sent through their
// JSON, so a golden cannot pass on keys lbsync does not send.

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// routesFixture is GET <lbsync>/routes as lbsync answers it.
func routesFixture(t *testing.T) routesJSON {
	t.Helper()
	st := lbsync.Status{
		LastRender: ts("2026-01-02T03:04:00Z"), HTTPPort: 80, Ownership: "master", ClusterID: "c1",
		Services: []lbsync.Service{{Name: "shop_web", App: "/shop/web", ServicePort: 10001, Mode: "http", Balance: "roundrobin",
			VHosts: []string{"web.example.com"},
			Backends: []lbsync.Backend{
				{Address: "10.0.0.1", Port: 31001, ID: "agent-1:shop_web.1:31001", Task: "shop_web.1", Health: "passing",
					LB: "UP", Weight: 2, InConsulAt: ts("2026-01-02T03:01:02.790Z"), RoutedAt: ts("2026-01-02T03:01:02.825Z")},
				{Address: "10.0.0.1", Port: 31003, ID: "agent-1:other:31003", Health: "passing",
					InConsulAt: ts("2026-01-02T03:01:05Z"), RoutedAt: ts("2026-01-02T03:01:05.020Z")},
			},
			Excluded: []lbsync.Excluded{{ServicePort: 10001, App: "/shop/web", ID: "agent-2:shop_web.2:31002", Address: "10.0.0.2",
				Port: 31002, Task: "shop_web.2", Kind: lbsync.ExcludedUnhealthy, Reason: "HTTP GET /health: connection refused"}},
		}},
		Routes:   []lbsync.Route{{Host: "web.example.com", Service: "shop_web", ServicePort: 10001}},
		Warnings: []string{`instance shop_web.2: HAPROXY_0_PATH "a b" is not a path`},
		Events: []lbsync.Event{{At: ts("2026-01-02T03:04:00Z"), Target: "haproxy", Action: lbsync.ActionRuntime,
			Why: "only backends changed", Commands: 3}},
		Unrouted: []lbsync.Excluded{{ServicePort: 10500, App: "/other/api", ID: "agent-9:api:31500", Address: "10.0.0.9",
			Port: 31500, Kind: lbsync.ExcludedForeign, Reason: "berth_cluster is prod-2"}},
		Consul: &lbsync.ConsulStatus{Address: "127.0.0.1:8500", LastSnapshot: ts("2026-01-02T03:04:58Z"), LastIndex: 1234},
		HAProxy: &lbsync.HAProxyStatus{Version: "2.6.12-1+deb12u4", MasterPID: 4242, Workers: 1, Reloads: 7,
			LastReload: ts("2026-01-02T03:02:00Z"), LastReloadAction: lbsync.ActionReload},
	}
	var r routesJSON
	apiJSON(t, st, &r)
	return r
}

// TestRoutesTypesMatchLBSync: every key the pages read from /routes is
// one lbsync writes, and a real answer decodes into lbsync's type with
// nothing left over.
func TestRoutesTypesMatchLBSync(t *testing.T) {
	ui, api := map[string]bool{}, map[string]bool{}
	jsonKeys(reflect.TypeOf(routesJSON{}), "", ui)
	jsonKeys(reflect.TypeOf(lbsync.Status{}), "", api)
	for k := range ui {
		if !api[k] {
			t.Errorf("the UI reads %q, which lbsync's /routes does not write", k)
		}
	}
	for _, k := range []string{"consul.lastSnapshot", "consul.error", "haproxy.lastReloadError",
		"services.backends.inConsulAt", "services.backends.routedAt"} {
		if !ui[k] {
			t.Errorf("the UI does not read %q", k)
		}
	}
	r := routesFixture(t)
	if r.Consul == nil || r.Consul.LastIndex != 1234 || r.HAProxy == nil || r.HAProxy.MasterPID != 4242 ||
		r.Services[0].Backends[0].RoutedAt.IsZero() {
		t.Errorf("fixture lost lbsync's fields: %+v", r)
	}
	b, _ := json.Marshal(r)
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var st lbsync.Status
	if err := d.Decode(&st); err != nil {
		t.Errorf("the UI's routes type has a key lbsync does not know: %v", err)
	}
}

// TestClusterLBTrouble: a failing Consul query and a failed HAProxy
// reload, as lbsync reports them, are shown as errors on the cluster page;
// an lbsync that has not started HAProxy yet says so.
func TestClusterLBTrouble(t *testing.T) {
	var r routesJSON
	apiJSON(t, lbsync.Status{
		Consul: &lbsync.ConsulStatus{Address: "127.0.0.1:8500", LastSnapshot: ts("2026-01-02T03:04:00Z"), LastIndex: 9,
			Error: "catalog services: connection refused (and 2 more failing)"},
		HAProxy: &lbsync.HAProxyStatus{LastReload: ts("2026-01-02T03:04:30Z"), LastReloadAction: lbsync.ActionStart,
			LastReloadError: "haproxy: master exited (see its output)"},
	}, &r)
	s := ClusterView(infoJSON{}, time.Time{}, &r, "", fixedNow).LB
	if !s.ConsulBad || s.Consul != "127.0.0.1:8500 · last snapshot 1m00s ago (index 9) · error: catalog services: connection refused (and 2 more failing)" {
		t.Errorf("consul %v %q", s.ConsulBad, s.Consul)
	}
	if !s.HAProxyBad || s.HAProxy != "lbsync's last start 30s ago — error: haproxy: master exited (see its output)" {
		t.Errorf("haproxy %v %q", s.HAProxyBad, s.HAProxy)
	}
	var fresh routesJSON
	apiJSON(t, lbsync.Status{HAProxy: &lbsync.HAProxyStatus{}}, &fresh)
	if s := routesSummary(fresh, fixedNow); s.HAProxyBad || s.HAProxy != "not started by lbsync yet" {
		t.Errorf("before a start: %v %q", s.HAProxyBad, s.HAProxy)
	}
}
