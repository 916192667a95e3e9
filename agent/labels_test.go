package agent

import (
	"reflect"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func TestContainerLabels(t *testing.T) {
	spec := wire.TaskSpec{
		TaskID: "shop_web.1", AppID: "/shop/web", AppVersion: "v1",
		Labels: map[string]string{"HAPROXY_0_VHOST": "web.example", "berth.task-id": "forged"},
		Ports: []wire.TaskPort{
			{Index: 0, Name: "http", HostPort: 31001, ContainerPort: 8080, ServicePort: 10000},
			{Index: 1, HostPort: 31002, ServicePort: 10001},
		},
		Container:    &wire.Container{Network: "BRIDGE", Image: "berth/hello"},
		HealthChecks: []wire.HealthCheck{{Protocol: "http", PortIndex: 0, GracePeriodSeconds: 10, IntervalSeconds: 5, TimeoutSeconds: 2, MaxConsecutiveFailures: 3}},
	}
	want := map[string]string{
		"HAPROXY_0_VHOST":             "web.example",
		"berth.task-id":               "shop_web.1",
		"berth.app-id":                "/shop/web",
		"berth.app-version":           "v1",
		"berth.agent-id":              "agent-1",
		"berth.port.0.service":        "10000",
		"berth.port.0.container":      "8080",
		"berth.port.0.name":           "http",
		"berth.port.1.service":        "10001",
		"berth.port.1.container":      "31002",
		"berth.health.0.protocol":     "HTTP",
		"berth.health.0.path":         "/",
		"berth.health.0.port-index":   "0",
		"berth.health.0.interval":     "5",
		"berth.health.0.timeout":      "2",
		"berth.health.0.grace":        "10",
		"berth.health.0.max-failures": "3",
	}
	if got := ContainerLabels(spec, "agent-1"); !reflect.DeepEqual(got, want) {
		t.Errorf("labels:\n got %v\nwant %v", got, want)
	}

	spec.Container.Network = "HOST"
	spec.Ports = []wire.TaskPort{{Index: 0, HostPort: 31005, ContainerPort: 80, ServicePort: 10000}}
	spec.HealthChecks = []wire.HealthCheck{{Protocol: "TCP", IntervalSeconds: 1, TimeoutSeconds: 1}}
	got := ContainerLabels(spec, "a")
	if got["berth.port.0.container"] != "31005" {
		t.Errorf("host network: container port label = %q, want the host port", got["berth.port.0.container"])
	}
	if _, ok := got["berth.health.0.path"]; ok {
		t.Errorf("TCP check got a path label")
	}
	if ContainerName("a.1") != "berth-a.1" {
		t.Errorf("ContainerName = %q", ContainerName("a.1"))
	}
}
