package registrator

import (
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func TestProcessContainerServices(t *testing.T) {
	labels := map[string]string{
		LabelTaskID: "shop_web.1b2c-3d", LabelAppID: "/shop/web", LabelAppVersion: "v1", LabelAgentID: "ag",
		LabelClusterID: "c1", "berth.port.0.service": "10001", "berth.port.0.container": "31005",
		"berth.health.0.protocol": "HTTP", "berth.health.0.path": "/", "berth.health.0.port-index": "0",
		"berth.health.0.interval": "5", "HAPROXY_0_VHOST": "web.example",
	}
	running := wire.AgentTask{TaskID: "shop_web.1b2c-3d", AppID: "/shop/web", Runtime: "process", State: wire.TaskRunning,
		Labels: labels, HostPorts: []int{31005}}
	tests := []struct {
		name      string
		task      wire.AgentTask
		cluster   string
		wantOK    bool
		wantName  string
		wantSkip  string
		wantCount int
	}{
		{name: "running process: like a host-networked container", task: running, cluster: "c1", wantOK: true, wantName: "web-shop", wantCount: 1},
		{name: "SERVICE_NAME from the env wins", task: with2(running, func(t *wire.AgentTask) { t.Env = []string{"SERVICE_NAME=shop"} }),
			cluster: "c1", wantOK: true, wantName: "shop", wantCount: 1},
		{name: "docker task: Docker registers it", task: with2(running, func(t *wire.AgentTask) { t.Runtime = "docker" })},
		{name: "not running", task: with2(running, func(t *wire.AgentTask) { t.State = wire.TaskKilling })},
		{name: "another cluster", task: running, cluster: "c2", wantOK: true, wantSkip: ForeignPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := ProcessContainer(tt.task)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			svcs, skips := ServicesFor(c, Options{Hostname: "h", HostIP: "10.0.0.5", Owner: "h", ClusterID: tt.cluster})
			if tt.wantSkip != "" {
				if len(svcs) != 0 || len(skips) != 1 || !strings.HasPrefix(skips[0].Reason, tt.wantSkip) {
					t.Fatalf("services %v skips %v: want one skip %q", svcs, skips, tt.wantSkip)
				}
				return
			}
			if len(svcs) != tt.wantCount {
				t.Fatalf("services %+v (skips %v)", svcs, skips)
			}
			s := svcs[0]
			if s.Name != tt.wantName || s.ID != "h:berth-shop_web.1b2c-3d:31005" || s.Address != "10.0.0.5" || s.Port != 31005 {
				t.Fatalf("service %+v", s)
			}
			for k, v := range map[string]string{MetaServicePort: "10001", MetaCluster: "c1", MetaApp: "/shop/web",
				"HAPROXY_0_VHOST": "web.example", MetaCheckProtocol: "HTTP", MetaCheckInterval: "5", MetaContainer: "1b2c3d"} {
				if s.Meta[k] != v {
					t.Errorf("Meta[%s] = %q, want %q", k, s.Meta[k], v)
				}
			}
			if s.Check == nil || s.Check.HTTP != "http://10.0.0.5:31005/" {
				t.Errorf("check %+v", s.Check)
			}
		})
	}
}

func with2(t wire.AgentTask, f func(*wire.AgentTask)) wire.AgentTask { f(&t); return t }

func TestForeignReason(t *testing.T) {
	tests := []struct {
		labels  map[string]string
		cluster string
		foreign bool
	}{
		{map[string]string{LabelTaskID: "t", LabelClusterID: "a"}, "a", false},
		{map[string]string{LabelTaskID: "t", LabelClusterID: "b"}, "a", true},
		{map[string]string{LabelTaskID: "t"}, "a", true},
		{map[string]string{LabelTaskID: "t", LabelClusterID: "b"}, "", false},
		{map[string]string{"other": "x"}, "a", false}, // not Berth's: registrator rules apply
	}
	for i, tt := range tests {
		if got := ForeignReason(tt.labels, tt.cluster) != ""; got != tt.foreign {
			t.Errorf("%d: foreign = %v, want %v", i, got, tt.foreign)
		}
	}
}

func TestProcessServiceName(t *testing.T) {
	for in, want := range map[string]string{"/web": "web", "/shop/web": "web-shop", "/a/b/c": "c-b-a", "/": "process"} {
		if got := ProcessServiceName(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestAgentHealthInitialStatus: a Berth task its agent reports healthy
// gets its mirrored Consul check registered passing (forced over an
// existing check's status); unknown or unhealthy keeps Consul's default.
func TestAgentHealthInitialStatus(t *testing.T) {
	labels := map[string]string{
		LabelTaskID: "web.1", LabelAppID: "/web", LabelAgentID: "ag", "berth.port.0.service": "10001",
		"berth.port.0.container": "31005", "berth.health.0.protocol": "TCP", "berth.health.0.port-index": "0",
	}
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		healthy *bool
		want    string
	}{{"no result yet", nil, ""}, {"unhealthy", &no, ""}, {"healthy", &yes, "passing"}} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := ProcessContainer(wire.AgentTask{TaskID: "web.1", AppID: "/web", Runtime: "process",
				State: wire.TaskRunning, Labels: labels, HostPorts: []int{31005}, Healthy: tc.healthy})
			if !ok {
				t.Fatal("not a process container")
			}
			svcs, _ := ServicesFor(c, Options{Hostname: "h", HostIP: "10.0.0.5", Owner: "h"})
			if len(svcs) != 1 || svcs[0].Check == nil {
				t.Fatalf("services %+v", svcs)
			}
			ck := svcs[0].Check
			if ck.Status != tc.want || ck.ForceStatus != (tc.want != "") {
				t.Errorf("check status %q force %v, want %q", ck.Status, ck.ForceStatus, tc.want)
			}
		})
	}
}

// TestDeploymentLabelsInMeta: marathon-lb's blue/green labels
// (HAPROXY_DEPLOYMENT_*) are app-level; they reach lbsync in the routed
// port's Meta like HAPROXY_GROUP.
func TestDeploymentLabelsInMeta(t *testing.T) {
	c, ok := ProcessContainer(wire.AgentTask{TaskID: "shop-green.1", AppID: "/shop-green", Runtime: "process",
		State: wire.TaskRunning, HostPorts: []int{31005}, Labels: map[string]string{
			LabelTaskID: "shop-green.1", LabelAppID: "/shop-green", "berth.port.0.service": "10002",
			"berth.port.0.container": "31005", "HAPROXY_DEPLOYMENT_GROUP": "shop", "HAPROXY_DEPLOYMENT_ALT_PORT": "10002",
			"HAPROXY_DEPLOYMENT_COLOUR": "green", "HAPROXY_0_PORT": "10001", "HAPROXY_DEPLOYMENT_": "x"}})
	if !ok {
		t.Fatal("not a process container")
	}
	svcs, _ := ServicesFor(c, Options{Hostname: "h", HostIP: "10.0.0.5", Owner: "h"})
	if len(svcs) != 1 {
		t.Fatalf("services %+v", svcs)
	}
	for k, v := range map[string]string{"HAPROXY_DEPLOYMENT_GROUP": "shop", "HAPROXY_DEPLOYMENT_ALT_PORT": "10002",
		"HAPROXY_DEPLOYMENT_COLOUR": "green", "HAPROXY_0_PORT": "10001"} {
		if svcs[0].Meta[k] != v {
			t.Errorf("Meta[%s] = %q, want %q", k, svcs[0].Meta[k], v)
		}
	}
	if _, ok := svcs[0].Meta["HAPROXY_DEPLOYMENT_"]; ok {
		t.Error("the bare prefix was exported")
	}
}
