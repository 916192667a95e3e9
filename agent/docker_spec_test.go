package agent

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/go-connections/nat"

	"github.com/berth-platform/berth/internal/wire"
)

func itoa(i int) string { return strconv.Itoa(i) }

func TestBuildDockerSpec(t *testing.T) {
	base := func(network string, ports ...wire.TaskPort) Launch {
		return Launch{AgentID: "ag", Host: "h", Spec: wire.TaskSpec{
			TaskID: "a.1", AppID: "/a", Resources: wire.Resources{CPUs: 0.5, Mem: 128}, Ports: ports,
			Container: &wire.Container{Type: "DOCKER", Image: "img", Network: network},
		}}
	}
	t.Run("bridge mappings", func(t *testing.T) {
		l := base("BRIDGE", wire.TaskPort{Index: 0, HostPort: 31000, ContainerPort: 80},
			wire.TaskPort{Index: 1, HostPort: 31001, Protocol: "udp,tcp"})
		ds, err := buildDockerSpec(l)
		if err != nil {
			t.Fatal(err)
		}
		want := nat.PortMap{
			"80/tcp":    {{HostPort: "31000"}},
			"31001/udp": {{HostPort: "31001"}},
			"31001/tcp": {{HostPort: "31001"}},
		}
		if !reflect.DeepEqual(ds.Host.PortBindings, want) || len(ds.Config.ExposedPorts) != 3 {
			t.Errorf("bindings %v exposed %v", ds.Host.PortBindings, ds.Config.ExposedPorts)
		}
		if ds.Host.NetworkMode != "bridge" || ds.Name != "berth-a.1" || ds.Host.CPUShares != 512 || ds.Host.Memory != 128<<20 {
			t.Errorf("host config %+v name %s", ds.Host, ds.Name)
		}
		if ds.Config.Entrypoint != nil || ds.Config.Cmd != nil {
			t.Errorf("no cmd/args: entrypoint %v cmd %v, want the image's", ds.Config.Entrypoint, ds.Config.Cmd)
		}
	})
	t.Run("host network publishes nothing", func(t *testing.T) {
		ds, err := buildDockerSpec(base("HOST", wire.TaskPort{HostPort: 31000}))
		if err != nil || ds.Host.NetworkMode != "host" || ds.Host.PortBindings != nil {
			t.Fatalf("%+v %v", ds.Host, err)
		}
	})
	t.Run("user network", func(t *testing.T) {
		l := base("USER", wire.TaskPort{ContainerPort: 9000}, wire.TaskPort{Index: 1, HostPort: 31005, ContainerPort: 9001})
		l.Spec.Container.NetworkName = "mynet"
		ds, err := buildDockerSpec(l)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Host.NetworkMode != "mynet" || ds.Network == nil || ds.Network.EndpointsConfig["mynet"] == nil {
			t.Errorf("network %v %+v", ds.Host.NetworkMode, ds.Network)
		}
		if len(ds.Host.PortBindings) != 1 || len(ds.Host.PortBindings["9001/tcp"]) != 1 {
			t.Errorf("bindings %v: only the port with a host port is published", ds.Host.PortBindings)
		}
	})
	t.Run("cmd runs through /bin/sh -c, args as CMD", func(t *testing.T) {
		l := base("HOST")
		l.Spec.Cmd = "echo $HOST"
		ds, _ := buildDockerSpec(l)
		if !reflect.DeepEqual([]string(ds.Config.Entrypoint), []string{"/bin/sh"}) || !reflect.DeepEqual([]string(ds.Config.Cmd), []string{"-c", "echo $HOST"}) {
			t.Errorf("cmd: entrypoint %v cmd %v", ds.Config.Entrypoint, ds.Config.Cmd)
		}
		l.Spec.Cmd, l.Spec.Args = "", []string{"--flag", "x"}
		ds, _ = buildDockerSpec(l)
		if ds.Config.Entrypoint != nil || !reflect.DeepEqual([]string(ds.Config.Cmd), []string{"--flag", "x"}) {
			t.Errorf("args: entrypoint %v cmd %v", ds.Config.Entrypoint, ds.Config.Cmd)
		}
	})
	t.Run("volumes, privileged, parameters", func(t *testing.T) {
		l := base("HOST")
		l.Spec.Container.Volumes = []wire.Volume{{HostPath: "/h", ContainerPath: "/c", Mode: "RO"}, {HostPath: "/h2", ContainerPath: "/c2", Mode: "RW"}}
		l.Spec.Container.Privileged = true
		l.Spec.Container.Parameters = []wire.KeyValue{{Key: "label", Value: "x=y"}, {Key: "cap-add", Value: "NET_ADMIN"}, {Key: "env", Value: "A=b"}}
		ds, err := buildDockerSpec(l)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ds.Host.Binds, []string{"/h:/c:ro", "/h2:/c2:rw"}) || !ds.Host.Privileged {
			t.Errorf("binds %v privileged %t", ds.Host.Binds, ds.Host.Privileged)
		}
		if ds.Config.Labels["x"] != "y" || !reflect.DeepEqual([]string(ds.Host.CapAdd), []string{"NET_ADMIN"}) || ds.Config.Env[len(ds.Config.Env)-1] != "A=b" {
			t.Errorf("parameters not applied: labels %v capadd %v env %v", ds.Config.Labels, ds.Host.CapAdd, ds.Config.Env)
		}
	})
	errs := []struct {
		name, want string
		mut        func(*Launch)
	}{
		{"no image", "no docker image", func(l *Launch) { l.Spec.Container.Image = "" }},
		{"relative volume", "must be absolute", func(l *Launch) { l.Spec.Container.Volumes = []wire.Volume{{HostPath: "rel", ContainerPath: "/c"}} }},
		{"bad mode", `mode "RX"`, func(l *Launch) {
			l.Spec.Container.Volumes = []wire.Volume{{HostPath: "/h", ContainerPath: "/c", Mode: "RX"}}
		}},
		{"unknown parameter", `"volumes-from" is not supported`, func(l *Launch) {
			l.Spec.Container.Parameters = []wire.KeyValue{{Key: "volumes-from", Value: "x"}}
		}},
		{"berth label parameter", "berth.* labels are the agent's", func(l *Launch) {
			l.Spec.Container.Parameters = []wire.KeyValue{{Key: "label", Value: "berth.task-id=x"}}
		}},
		{"bad network", `network "OVERLAY"`, func(l *Launch) { l.Spec.Container.Network = "OVERLAY" }},
		{"user without name", "needs a network name", func(l *Launch) { l.Spec.Container.Network = "USER" }},
		{"bad protocol", `protocol "sctp"`, func(l *Launch) {
			l.Spec.Container.Network = "BRIDGE"
			l.Spec.Ports = []wire.TaskPort{{HostPort: 1, Protocol: "sctp"}}
		}},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			l := base("HOST")
			tt.mut(&l)
			if _, err := buildDockerSpec(l); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}
