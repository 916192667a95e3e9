package consul

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/registrator"
	"github.com/hashicorp/consul/api"
)

func TestApplyAddress(t *testing.T) {
	tests := []struct {
		in, scheme, addr, err string
	}{
		{in: "127.0.0.1:8500", scheme: "http", addr: "127.0.0.1:8500"},
		{in: "consul://10.0.0.1:8500", scheme: "http", addr: "10.0.0.1:8500"},
		{in: "http://localhost:8500", scheme: "http", addr: "localhost:8500"},
		{in: "consul-tls://c.example:8501", scheme: "https", addr: "c.example:8501"},
		{in: "https://c.example:8501", scheme: "https", addr: "c.example:8501"},
		{in: "consul-unix:///var/run/consul.sock", scheme: "http", addr: "unix:///var/run/consul.sock"},
		{in: "etcd://127.0.0.1:2379/skydns", err: "only consul"},
		{in: "consul://", err: "no host"},
	}
	for _, tt := range tests {
		ac := &api.Config{Scheme: "http"}
		err := applyAddress(ac, tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || ac.Scheme != tt.scheme || ac.Address != tt.addr {
			t.Errorf("%s: scheme %q addr %q err %v, want %q %q", tt.in, ac.Scheme, ac.Address, err, tt.scheme, tt.addr)
		}
	}
}

func TestRegistryAgainstConsul(t *testing.T) {
	c := testenv.StartConsul(t)
	r, err := New(Config{Address: c.HTTPAddr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mine := registrator.Service{
		ID: "h:web:80", Name: "web", Address: "127.0.0.1", Port: 31000, Tags: []string{"a", "berth"},
		Meta:  map[string]string{registrator.MetaOwner: "h", "region": "eu", "HAPROXY_0_VHOST": "x.example"},
		Check: &registrator.Check{HTTP: "http://127.0.0.1:31000/", Interval: "10s", Status: "passing"},
	}
	other := registrator.Service{ID: "other", Name: "other", Meta: map[string]string{registrator.MetaOwner: "someone"}}
	for _, s := range []registrator.Service{mine, other} {
		if err := r.Register(ctx, s); err != nil {
			t.Fatalf("Register %s: %v", s.ID, err)
		}
	}
	if err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "plain", Name: "plain"}); err != nil {
		t.Fatal(err)
	}
	owned, err := r.Owned(ctx, "h")
	if err != nil {
		t.Fatalf("Owned: %v", err)
	}
	got := owned[0]
	got.Check = mine.Check // the agent's service list carries no checks
	if len(owned) != 1 || !reflect.DeepEqual(got, mine) {
		t.Fatalf("Owned = %+v, want only %+v", owned, mine)
	}
	checks, err := c.Client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if ck := checks["service:h:web:80"]; ck == nil || ck.Type != "http" || ck.ServiceID != "h:web:80" {
		t.Fatalf("check not registered: %+v", ck)
	}

	// Re-registering without a check replaces (removes) the old one.
	mine.Check = nil
	if err := r.Register(ctx, mine); err != nil {
		t.Fatal(err)
	}
	checks, _ = c.Client.Agent().Checks()
	if ck := checks["service:h:web:80"]; ck != nil {
		t.Errorf("old check kept after re-registration: %+v", ck)
	}

	if err := r.Deregister(ctx, "h:web:80"); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	if err := r.Deregister(ctx, "never-registered"); err != nil {
		t.Errorf("Deregister of an unknown ID must succeed: %v", err)
	}
	if owned, _ := r.Owned(ctx, "h"); len(owned) != 0 {
		t.Errorf("still owned: %+v", owned)
	}

	// A registration Consul refuses reports why.
	bad := registrator.Service{ID: "bad", Name: "bad", Meta: map[string]string{"no.dots": "x"}}
	if err := r.Register(ctx, bad); err == nil || !strings.Contains(err.Error(), "register bad") {
		t.Errorf("Register(bad meta) = %v, want a wrapped error", err)
	}

	c.Stop()
	if err := r.Ping(ctx); err == nil {
		t.Errorf("Ping with Consul stopped succeeded")
	}
	if _, err := r.Owned(ctx, "h"); err == nil || !strings.Contains(err.Error(), "list agent services") {
		t.Errorf("Owned with Consul stopped = %v", err)
	}
}

// TestForceStatusOverridesAnExistingCheck: Consul keeps a check's status
// when a service is registered again; ForceStatus makes the new initial
// status apply (a Berth task its agent already found healthy).
func TestForceStatusOverridesAnExistingCheck(t *testing.T) {
	c := testenv.StartConsul(t)
	r, err := New(Config{Address: c.HTTPAddr})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc := registrator.Service{ID: "h:web:1", Name: "web", Address: "127.0.0.1", Port: 1,
		Meta:  map[string]string{registrator.MetaOwner: "h"},
		Check: &registrator.Check{TCP: "127.0.0.1:1", Interval: "1h"}}
	status := func() string {
		checks, err := c.Client.Agent().Checks()
		if err != nil {
			t.Fatal(err)
		}
		if ck := checks["service:h:web:1"]; ck != nil {
			return ck.Status
		}
		return "none"
	}
	if err := r.Register(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "critical" {
		t.Fatalf("first registration: %s, want critical", got)
	}
	plain := svc
	plain.Check = &registrator.Check{TCP: "127.0.0.1:1", Interval: "1h", Status: "passing"}
	if err := r.Register(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "critical" {
		t.Fatalf("re-registered with Status passing: %s (Consul is expected to keep the old status)", got)
	}
	forced := svc
	forced.Check = &registrator.Check{TCP: "127.0.0.1:1", Interval: "1h", Status: "passing", ForceStatus: true}
	if err := r.Register(ctx, forced); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "passing" {
		t.Fatalf("re-registered with ForceStatus: %s, want passing", got)
	}
}
