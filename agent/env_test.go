package agent

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func TestTaskEnv(t *testing.T) {
	bridge := wire.TaskSpec{
		TaskID: "shop_web.1", AppID: "/shop/web", AppVersion: "2024-01-01T00:00:00.000Z",
		Resources: wire.Resources{CPUs: 0.5, Mem: 128, Disk: 0, GPUs: 0},
		Ports: []wire.TaskPort{
			{Index: 0, Name: "http", HostPort: 31001, ContainerPort: 8080, ServicePort: 10000},
			{Index: 1, HostPort: 31002, ContainerPort: 0, ServicePort: 10001},
		},
		Container: &wire.Container{Type: "DOCKER", Image: "berth/hello", Network: "BRIDGE"},
		Labels:    map[string]string{"HAPROXY_GROUP": "external", "a.b-c": "v"},
		Env:       map[string]string{"PORT0": "override", "FOO": "bar"},
	}
	host := bridge
	host.Container = &wire.Container{Type: "DOCKER", Image: "berth/hello", Network: "HOST"}
	host.Ports = []wire.TaskPort{{Index: 0, HostPort: 31005, ServicePort: 10000}}
	host.Env, host.Labels = nil, nil
	process := host
	process.Container = nil
	user := bridge
	user.Container = &wire.Container{Type: "DOCKER", Image: "i", Network: "USER", NetworkName: "n"}
	user.Ports = []wire.TaskPort{{Index: 0, ContainerPort: 9000}}
	user.Env, user.Labels = nil, nil

	tests := []struct {
		name   string
		spec   wire.TaskSpec
		extra  map[string]string
		want   map[string]string
		absent []string
	}{
		{"bridge", bridge, nil, map[string]string{
			"PORT0": "override", "PORT1": "31002", "PORT": "31001", "PORTS": "31001,31002",
			"PORT_8080": "31001", "PORT_31002": "31002", "PORT_HTTP": "31001",
			"HOST": "node1", "MESOS_TASK_ID": "shop_web.1", "MARATHON_APP_ID": "/shop/web",
			"MARATHON_APP_VERSION": "2024-01-01T00:00:00.000Z", "MARATHON_APP_DOCKER_IMAGE": "berth/hello",
			"MARATHON_APP_RESOURCE_CPUS": "0.5", "MARATHON_APP_RESOURCE_MEM": "128.0",
			"MARATHON_APP_RESOURCE_DISK": "0.0", "MARATHON_APP_RESOURCE_GPUS": "0",
			"MARATHON_APP_LABELS": "A_B_C HAPROXY_GROUP", "MARATHON_APP_LABEL_HAPROXY_GROUP": "external",
			"MARATHON_APP_LABEL_A_B_C": "v", "FOO": "bar",
		}, nil},
		{"host", host, nil, map[string]string{"PORT0": "31005", "PORT": "31005", "PORTS": "31005", "PORT_31005": "31005"},
			[]string{"MARATHON_APP_LABELS", "PORT1"}},
		{"process with sandbox", process, map[string]string{"MESOS_SANDBOX": "/sb"}, map[string]string{"PORT0": "31005", "MESOS_SANDBOX": "/sb"},
			[]string{"MARATHON_APP_DOCKER_IMAGE"}},
		{"user network container port only", user, nil, map[string]string{"PORT0": "9000", "PORT_9000": "9000"}, nil},
		{"no ports", wire.TaskSpec{TaskID: "x"}, nil, map[string]string{"MESOS_TASK_ID": "x"}, []string{"PORT", "PORTS", "PORT0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := envMap(TaskEnv(tt.spec, "node1", tt.extra))
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s set to %q, want absent", k, got[k])
				}
			}
		})
	}
}

func TestTaskEnvSortedAndGeneratedPortStable(t *testing.T) {
	spec := wire.TaskSpec{TaskID: "a.1", Ports: []wire.TaskPort{{Index: 0}}}
	a, b := TaskEnv(spec, "h", nil), TaskEnv(spec, "h", nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("env not deterministic:\n%v\n%v", a, b)
	}
	for i := 1; i < len(a); i++ {
		if a[i-1] > a[i] {
			t.Fatalf("env not sorted at %d: %v", i, a)
		}
	}
	p := envMap(a)["PORT0"]
	if p == "" || len(p) < 4 {
		t.Fatalf("generated PORT0 = %q", p)
	}
}

func TestSanitizeLabelKey(t *testing.T) {
	for in, want := range map[string]string{"HAPROXY_0_VHOST": "HAPROXY_0_VHOST", "a.b..c": "A_B_C", "x-y z": "X_Y_Z", "ü": "_"} {
		if got := sanitizeLabelKey(in); got != want {
			t.Errorf("sanitizeLabelKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLabelEnvSkipsHugeLabels(t *testing.T) {
	env := map[string]string{}
	labelEnv(map[string]string{strings.Repeat("k", 494): "v", "ok": strings.Repeat("v", 512), "fine": "1"}, env)
	if env["MARATHON_APP_LABELS"] != "FINE" || len(env) != 2 {
		t.Fatalf("env = %v", env)
	}
}
