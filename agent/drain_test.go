package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berth-platform/berth/internal/testenv"
)

func TestConsulDrainerPutsTaskServicesInMaintenance(t *testing.T) {
	c := testenv.StartConsul(t)
	reg := func(id, task string) {
		t.Helper()
		err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: id, Name: "hello", Port: 31000, Meta: map[string]string{"berth_task": task},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reg("node:berth-web.1:80", "web.1")
	reg("node:berth-web.1:81", "web.1")
	reg("node:berth-web.2:80", "web.2")
	d := NewConsulDrainer(ConsulDrainerConfig{Client: c.Client})
	n, err := d.Drain(context.Background(), "web.1")
	if err != nil || n != 2 {
		t.Fatalf("Drain = %d, %v; want 2 services", n, err)
	}
	checks, err := c.Client.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	maint := map[string]string{}
	for _, ch := range checks {
		if strings.HasPrefix(ch.CheckID, "_service_maintenance:") {
			maint[ch.ServiceID] = ch.Status
		}
	}
	if maint["node:berth-web.1:80"] != api.HealthCritical || maint["node:berth-web.1:81"] != api.HealthCritical {
		t.Errorf("maintenance checks %v: want both web.1 services critical", maint)
	}
	if _, ok := maint["node:berth-web.2:80"]; ok {
		t.Errorf("another task's service was put in maintenance")
	}
	if n, err := d.Drain(context.Background(), "unknown.1"); err != nil || n != 0 {
		t.Errorf("Drain of a task without services = %d, %v", n, err)
	}
}

func TestConsulDrainerUnreachableFailsFast(t *testing.T) {
	cli, err := api.NewClient(&api.Config{Address: "127.0.0.1:" + itoa(testenv.FreePort(t))})
	if err != nil {
		t.Fatal(err)
	}
	d := NewConsulDrainer(ConsulDrainerConfig{Client: cli, Timeout: time.Second})
	start := time.Now()
	if _, err := d.Drain(context.Background(), "web.1"); err == nil || !strings.Contains(err.Error(), "web.1") {
		t.Fatalf("Drain against no Consul = %v, want an error naming the task", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Drain took %s against an unreachable Consul", time.Since(start))
	}
}

// A rolling restart: the old instance is drained only once a newer one
// passes in Consul (or the handover bound passed), not while the newer
// ones are still critical.
func TestConsulDrainerWaitsForANewerInstanceToPass(t *testing.T) {
	c := testenv.StartConsul(t)
	reg := func(id, app, version, status string) {
		t.Helper()
		err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
			ID: id, Name: "web", Port: 31000,
			Meta:  map[string]string{"berth_task": id, "berth_app": app, "berth_version": version},
			Check: &api.AgentServiceCheck{CheckID: "check:" + id, TTL: "1h", Status: status},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reg("old1", "/web", "2026-01-01T00:00:00.000Z", api.HealthPassing)
	reg("old2", "/web", "2026-01-01T00:00:00.000Z", api.HealthPassing)
	reg("new", "/web", "2026-01-02T00:00:00.000Z", api.HealthCritical)
	// Another app's instance under the same name does not count.
	reg("other", "/x", "2026-01-03T00:00:00.000Z", api.HealthPassing)
	inMaintenance := func(id string) bool {
		checks, err := c.Client.Agent().Checks()
		if err != nil {
			t.Fatal(err)
		}
		_, ok := checks["_service_maintenance:"+id]
		return ok
	}

	// The replacement never passes: the drain is held for the whole bound.
	const bound = 1500 * time.Millisecond
	d := NewConsulDrainer(ConsulDrainerConfig{Client: c.Client, Handover: bound})
	start := time.Now()
	if n, err := d.Drain(context.Background(), "old1"); err != nil || n != 1 {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	if took := time.Since(start); took < bound || !inMaintenance("old1") {
		t.Errorf("Drain took %s (want ≥ %s, the replacement was critical), in maintenance %v", took, bound, inMaintenance("old1"))
	}

	// The replacement passes: the held drain goes ahead.
	d = NewConsulDrainer(ConsulDrainerConfig{Client: c.Client, Handover: time.Minute})
	done := make(chan time.Time, 1)
	go func() {
		if n, err := d.Drain(context.Background(), "old2"); err != nil || n != 1 {
			t.Errorf("Drain = %d, %v", n, err)
		}
		done <- time.Now()
	}()
	passedAt := time.Now()
	if err := c.Client.Agent().UpdateTTL("check:new", "", api.HealthPassing); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-done:
		if at.Before(passedAt) || !inMaintenance("old2") {
			t.Errorf("drained at %v, replacement passing at %v, in maintenance %v", at, passedAt, inMaintenance("old2"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Drain did not return after the replacement passed")
	}
}

func TestNewerPending(t *testing.T) {
	entry := func(app, version, status string) *api.ServiceEntry {
		return &api.ServiceEntry{Service: &api.AgentService{Meta: map[string]string{"berth_app": app, "berth_version": version}},
			Checks: api.HealthChecks{{Status: status}}}
	}
	tests := []struct {
		name    string
		entries []*api.ServiceEntry
		want    bool
	}{
		{"alone", []*api.ServiceEntry{entry("/a", "v1", api.HealthPassing)}, false},
		{"scale down: same version", []*api.ServiceEntry{entry("/a", "v1", api.HealthPassing), entry("/a", "v1", api.HealthCritical)}, false},
		{"newer critical", []*api.ServiceEntry{entry("/a", "v1", api.HealthPassing), entry("/a", "v2", api.HealthCritical)}, true},
		{"newer passing", []*api.ServiceEntry{entry("/a", "v2", api.HealthCritical), entry("/a", "v2", api.HealthPassing)}, false},
		{"other app", []*api.ServiceEntry{entry("/b", "v2", api.HealthCritical)}, false},
		{"older critical", []*api.ServiceEntry{entry("/a", "v0", api.HealthCritical)}, false},
	}
	for _, tt := range tests {
		if got := newerPending(tt.entries, "/a", "v1"); got != tt.want {
			t.Errorf("%s: newerPending = %v, want %v", tt.name, got, tt.want)
		}
	}
}
