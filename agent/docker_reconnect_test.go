package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

// socketProxy forwards a unix socket to the Docker engine's; Stop cuts
// every connection, as an engine restart would.
type socketProxy struct {
	t      *testing.T
	path   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
	target string
}

func newSocketProxy(t *testing.T) *socketProxy {
	p := &socketProxy{t: t, path: filepath.Join(t.TempDir(), "docker.sock"), conns: map[net.Conn]bool{}, target: "/var/run/docker.sock"}
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

func (p *socketProxy) Start() {
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.serve(c)
		}
	}()
}

func (p *socketProxy) serve(c net.Conn) {
	up, err := net.Dial("unix", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	for _, pair := range [][2]net.Conn{{c, up}, {up, c}} {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			io.Copy(pair[0], pair[1]) //nolint:errcheck // ends when either side closes
			pair[0].Close()
			pair[1].Close()
		}()
	}
}

func (p *socketProxy) Stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestDockerEngineDropReconnectsAndReconciles: while the engine cannot be
// reached the agent is blind (no launch, no verdict); once it is back, it
// launches what was asked meanwhile and reports what happened meanwhile.
func TestDockerEngineDropReconnectsAndReconciles(t *testing.T) {
	e := needDocker(t, "berth/busybox")
	proxy := newSocketProxy(t)
	viaProxy, err := client.NewClientWithOpts(client.WithHost("unix://"+proxy.path), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { viaProxy.Close() })
	m := agenttest.NewMaster(t)
	h := startAgent(t, m, t.TempDir(), harnessOpts{runtimes: func(string) map[string]Runtime {
		return map[string]Runtime{RuntimeDocker: NewDockerRuntime(DockerConfig{Client: viaProxy, PullTimeout: 10 * time.Second})}
	}})
	a, b := e.spec("before", "berth/busybox", "BRIDGE"), e.spec("during", "berth/busybox", "BRIDGE")
	a.Cmd, b.Cmd = "exec sleep 60", "exec sleep 60"
	m.SetDesired(h.a.ID(), []wire.TaskSpec{a})
	runA := m.WaitState(t, a.TaskID, wire.TaskRunning, 30*time.Second)

	proxy.Stop()
	testenv.WaitFor(t, 10*time.Second, "the agent noticing the engine is gone", func() error {
		h.a.mu.Lock()
		defer h.a.mu.Unlock()
		if h.a.listed {
			return errors.New("still trusts its last list")
		}
		return nil
	})
	// Meanwhile: the container dies, and the master wants a second task.
	if err := e.cli.ContainerKill(context.Background(), runA.ContainerID, "SIGKILL"); err != nil {
		t.Fatal(err)
	}
	m.SetDesired(h.a.ID(), []wire.TaskSpec{a, b})
	testenv.WaitFor(t, 5*time.Second, "a few blind passes", passesFrom(h.a, 3))
	if _, ok := m.Last(b.TaskID); ok {
		t.Fatalf("the agent acted on %s while blind", b.TaskID)
	}
	if last, _ := m.Last(a.TaskID); last.State != wire.TaskRunning {
		t.Fatalf("the agent judged %s while blind: %s", a.TaskID, last.State)
	}

	proxy.Start()
	m.WaitState(t, b.TaskID, wire.TaskRunning, 30*time.Second)
	failed := m.WaitState(t, a.TaskID, wire.TaskFailed, 30*time.Second)
	if failed.ExitCode == nil || *failed.ExitCode != 137 || !strings.Contains(failed.Message, "137") {
		t.Errorf("status of the container killed meanwhile: %+v", failed)
	}
	list, err := e.cli.ContainerList(context.Background(), container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range list {
		if c.Labels[LabelTaskID] == b.TaskID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d containers for %s, want exactly 1", n, b.TaskID)
	}
}
