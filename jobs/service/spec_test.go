package service

import (
	"reflect"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/chronos"
)

// TestJobFieldsReachTaskSpec: Chronos' container fields (volumes,
// forcePullImage, parameters, network BRIDGE) and constraint operators,
// in the forms users send (strings for booleans, lower case), are
// decoded and reach the agent's task spec and the placement core.
func TestJobFieldsReachTaskSpec(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := &Inflight{TaskID: "ct-j.1.0.x", Due: "2026-01-01T00:00:00.000Z"}
	for _, c := range []struct {
		name, body string
		container  *wire.Container
		cons       [][]string
	}{
		{name: "no container", body: `{"name":"j","command":"true","schedule":"R/2026-01-01T00:00:00Z/P1D"}`},
		{name: "volumes, forcePullImage as a string, parameters, bridge",
			body: `{"name":"j","command":"true","schedule":"R/2026-01-01T00:00:00Z/P1D","container":{"type":"docker","image":"berth/busybox","network":"bridge",
			 "forcePullImage":"true","parameters":[{"key":"label","value":"team=data"},{"key":"memory-swap","value":"-1"}],
			 "volumes":[{"containerPath":"/in","hostPath":"/srv/in","mode":"ro"},{"containerPath":"/out","hostPath":"/srv/out","mode":"RW"},{"containerPath":"/tmp/x","hostPath":"/tmp/x"}]}}`,
			container: &wire.Container{Type: "DOCKER", Image: "berth/busybox", Network: "BRIDGE", ForcePullImage: true,
				Parameters: []wire.KeyValue{{Key: "label", Value: "team=data"}, {Key: "memory-swap", Value: "-1"}},
				Volumes: []wire.Volume{{HostPath: "/srv/in", ContainerPath: "/in", Mode: "RO"}, {HostPath: "/srv/out", ContainerPath: "/out", Mode: "RW"},
					{HostPath: "/tmp/x", ContainerPath: "/tmp/x"}}}},
		{name: "host network by default, forcePullImage false",
			body:      `{"name":"j","command":"true","schedule":"R/2026-01-01T00:00:00Z/P1D","container":{"image":"berth/hello","forcePullImage":false}}`,
			container: &wire.Container{Type: "DOCKER", Image: "berth/hello", Network: "HOST"}},
		{name: "constraints: EQUALS is CLUSTER, LIKE and UNLIKE kept, operators upper-cased",
			body: `{"name":"j","command":"true","schedule":"R/2026-01-01T00:00:00Z/P1D","constraints":[["rack","equals","r1"],["hostname","LIKE","node-[12]"],["zone","unlike","z9|z8"]]}`,
			cons: [][]string{{"rack", "CLUSTER", "r1"}, {"hostname", "LIKE", "node-[12]"}, {"zone", "UNLIKE", "z9|z8"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			j, err := chronos.Decode([]byte(c.body))
			if err == nil {
				err = j.Normalize(chronos.DefaultDefaults, false, now)
			}
			if err != nil {
				t.Fatal(err)
			}
			spec := TaskSpec(j, in)
			if !reflect.DeepEqual(spec.Container, c.container) {
				t.Errorf("container %+v, want %+v", spec.Container, c.container)
			}
			if got := Constraints(j); !reflect.DeepEqual(got, c.cons) {
				t.Errorf("constraints %v, want %v", got, c.cons)
			}
		})
	}
}
