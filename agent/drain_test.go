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
