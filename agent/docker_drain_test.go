package agent

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

// TestDockerKillDrainsThroughConsulFirst: the service the registrator
// wrote for the task goes into maintenance while the container still
// serves; only after the drain period is the container stopped.
func TestDockerKillDrainsThroughConsulFirst(t *testing.T) {
	e := needDocker(t, "berth/hello")
	c := testenv.StartConsul(t)
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t), mutate: func(cfg *Config) {
		cfg.Drainer = NewConsulDrainer(ConsulDrainerConfig{Client: c.Client})
	}})
	port := testenv.FreePort(t)
	spec := e.spec("drain", "berth/hello", "BRIDGE", port)
	spec.DrainSeconds = 1.5
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	run := m.WaitState(t, spec.TaskID, wire.TaskRunning, 30*time.Second)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	testenv.WaitFor(t, 10*time.Second, "hello serving", serves(url, spec.TaskID))
	// What the registrator writes for this container.
	svcID := "node-test:berth-" + spec.TaskID + ":" + strconv.Itoa(port)
	err := c.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{
		ID: svcID, Name: "hello", Port: port, Address: "127.0.0.1",
		Meta: map[string]string{"berth_task": spec.TaskID, "berth_app": spec.AppID},
	})
	if err != nil {
		t.Fatal(err)
	}

	m.SetDesired(h.a.ID(), nil)
	testenv.WaitFor(t, 10*time.Second, "the task's service in maintenance", func() error {
		checks, err := c.Client.Agent().Checks()
		if err != nil {
			return err
		}
		for _, ch := range checks {
			if ch.ServiceID == svcID && strings.HasPrefix(ch.CheckID, "_service_maintenance:") && ch.Status == api.HealthCritical {
				return nil
			}
		}
		return fmt.Errorf("no maintenance check on %s yet", svcID)
	})
	insp, err := e.cli.ContainerInspect(context.Background(), run.ContainerID)
	if err != nil || !insp.State.Running {
		t.Fatalf("container not running while draining (err %v)", err)
	}
	if _, err := httpGet(url); err != nil {
		t.Errorf("draining task stopped serving before its drain period: %v", err)
	}
	m.WaitState(t, spec.TaskID, wire.TaskKilled, 30*time.Second)
}

func TestDockerForcePullFailsWithoutRegistry(t *testing.T) {
	e := needDocker(t, "berth/hello")
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: dockerRuntimes(e, t)})
	spec := e.spec("forcepull", "berth/hello", "HOST", testenv.FreePort(t))
	spec.Container.ForcePullImage = true
	m.SetDesired(h.a.ID(), []wire.TaskSpec{spec})
	failed := m.WaitState(t, spec.TaskID, wire.TaskFailed, 90*time.Second)
	if !strings.Contains(failed.Message, "pulling it failed") {
		t.Errorf("forcePullImage with no registry: message %q, want the pull error", failed.Message)
	}
}
