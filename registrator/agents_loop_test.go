package registrator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
)

// fakeAgents serves task lists by URL with a long poll on the index, and
// can be taken down (like an agent restarting).
type fakeAgents struct {
	mu      sync.Mutex
	lists   map[string]wire.AgentTasks
	down    bool
	changed chan struct{}
}

func newFakeAgents() *fakeAgents {
	return &fakeAgents{lists: map[string]wire.AgentTasks{}, changed: make(chan struct{})}
}

func (f *fakeAgents) set(url string, cluster string, tasks ...wire.AgentTask) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.lists[url]
	l.Index++
	l.ClusterID, l.Tasks = cluster, tasks
	f.lists[url] = l
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeAgents) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeAgents) Tasks(ctx context.Context, url string, index uint64, wait time.Duration) (wire.AgentTasks, error) {
	for {
		f.mu.Lock()
		l, down, ch := f.lists[url], f.down, f.changed
		f.mu.Unlock()
		if down {
			return wire.AgentTasks{}, errors.New("agent " + url + ": connection refused")
		}
		if index == 0 || l.Index != index {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return wire.AgentTasks{}, ctx.Err()
		case <-ch:
		case <-time.After(wait):
			return l, nil
		}
	}
}

func procTask(id, cluster string, hostPort int) wire.AgentTask {
	return wire.AgentTask{TaskID: id, AppID: "/web", Runtime: "process", State: wire.TaskRunning, ClusterID: cluster,
		HostPorts: []int{hostPort}, Labels: map[string]string{
			LabelTaskID: id, LabelAppID: "/web", LabelClusterID: cluster,
			"berth.port.0.service": "10000", "berth.port.0.container": strconv.Itoa(hostPort),
		}}
}

func TestProcessTasksFromAgents(t *testing.T) {
	d, reg, ag := newFakeDocker(), newFakeRegistry(), newFakeAgents()
	ag.set("http://a1", "c1", procTask("web.1", "c1", 31001))
	// A Berth container of another cluster on the same host: never registered.
	foreign := app("f1", "berth-web.old", "31009")
	foreign.Labels = map[string]string{LabelTaskID: "web.old", LabelClusterID: "c0", "berth.port.0.service": "10000", "berth.port.0.container": "80"}
	d.start(foreign)
	h := start(t, d, reg, func(c *Config) { c.AgentURLs, c.Agents = []string{"http://a1"}, ag })
	h.waitIDs(t, "the process task registered", "host1:berth-web.1:31001")
	if s := reg.services["host1:berth-web.1:31001"]; s.Name != "web" || s.Meta[MetaCluster] != "c1" || s.Port != 31001 {
		t.Fatalf("service %+v", s)
	}
	if snap := h.r.Snapshot(); snap.Foreign != 1 || snap.ClusterID != "c1" {
		t.Fatalf("snapshot: foreign %d cluster %q, want 1 and c1", snap.Foreign, snap.ClusterID)
	}

	// The agent restarts: its services stay while it is away.
	ag.setDown(true)
	testenvWaitPasses(t, h, h.r.Snapshot().Passes+5) // passes while the agent is away
	h.waitIDs(t, "kept while the agent is down", "host1:berth-web.1:31001")
	ag.setDown(false)

	ag.set("http://a1", "c1", procTask("web.1", "c1", 31001), procTask("web.2", "c1", 31002))
	h.waitIDs(t, "a second process", "host1:berth-web.1:31001", "host1:berth-web.2:31002")
	killing := procTask("web.1", "c1", 31001)
	killing.State = wire.TaskKilling
	ag.set("http://a1", "c1", killing, procTask("web.2", "c1", 31002))
	h.waitIDs(t, "the ended process deregistered", "host1:berth-web.2:31002")
}

// A restarted registrator finds the process services in place and keeps
// them (no deregister/register churn).
func TestProcessTasksSurviveRegistratorRestart(t *testing.T) {
	d, reg, ag := newFakeDocker(), newFakeRegistry(), newFakeAgents()
	ag.set("http://a1", "c1", procTask("web.1", "c1", 31001))
	tweak := func(c *Config) { c.AgentURLs, c.Agents = []string{"http://a1"}, ag }
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Docker: d, Registry: reg, Naming: Options{Hostname: "host1", HostIP: "10.0.0.5"}, AntiEntropy: 20 * time.Millisecond}
	tweak(&cfg)
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	h0 := &harness{reg: reg}
	h0.waitIDs(t, "registered by the first run", "host1:berth-web.1:31001")
	cancel()
	<-done
	reg.mu.Lock()
	regs := reg.registers
	reg.mu.Unlock()
	h := start(t, d, reg, tweak)
	h.waitIDs(t, "still registered after the restart", "host1:berth-web.1:31001")
	testenvWaitPasses(t, h, 3)
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.registers != regs {
		t.Fatalf("re-registered %d times after the restart, want 0", reg.registers-regs)
	}
}

func testenvWaitPasses(t *testing.T, h *harness, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.r.Snapshot().Passes < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d passes", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With -cleanup, a restarted registrator whose agent does not answer yet
// must not take the process services of the earlier run for leftovers:
// they are kept until the agent's list is read, then stay as they are.
func TestCleanupWaitsForAgentLists(t *testing.T) {
	d, reg, ag := newFakeDocker(), newFakeRegistry(), newFakeAgents()
	ag.set("http://a1", "c1", procTask("web.1", "c1", 31001))
	tweak := func(c *Config) { c.AgentURLs, c.Agents, c.Cleanup = []string{"http://a1"}, ag, true }
	first := start(t, d, reg, tweak)
	first.waitIDs(t, "registered by the first run", "host1:berth-web.1:31001")
	first.cancel()
	first.done <- <-first.done // stopped; its cleanup finds the result again
	reg.mu.Lock()
	regs, deregs := reg.registers, reg.deregisters
	reg.mu.Unlock()

	ag.setDown(true) // the agent restarts at the same time
	h := start(t, d, reg, tweak)
	testenvWaitPasses(t, h, 5)
	h.waitIDs(t, "kept while the agent's list is unread", "host1:berth-web.1:31001")
	ag.setDown(false)
	testenv.WaitFor(t, 5*time.Second, "a pass with the agent's list", func() error {
		if h.r.unreadAgents() != 0 {
			return errors.New("not yet")
		}
		return nil
	})
	testenvWaitPasses(t, h, h.r.Snapshot().Passes+3)
	h.waitIDs(t, "still registered", "host1:berth-web.1:31001")
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.registers != regs || reg.deregisters != deregs {
		t.Fatalf("after the restart: %d registrations, %d deregistrations, want none", reg.registers-regs, reg.deregisters-deregs)
	}
}

// A process task registered with its check passing (its agent reported it
// healthy) is not registered again when a restarted agent lists it without
// a health result yet, nor when the result comes back.
func TestAgentRestartKeepsHealthyRegistration(t *testing.T) {
	d, reg, ag := newFakeDocker(), newFakeRegistry(), newFakeAgents()
	task := func(healthy *bool) wire.AgentTask {
		tk := procTask("web.1", "c1", 31001)
		tk.Labels["berth.health.0.protocol"] = "TCP"
		tk.Labels["berth.health.0.port-index"] = "0"
		tk.Healthy = healthy
		return tk
	}
	yes := true
	ag.set("http://a1", "c1", task(nil))
	h := start(t, d, reg, func(c *Config) { c.AgentURLs, c.Agents = []string{"http://a1"}, ag })
	h.waitIDs(t, "registered", "host1:berth-web.1:31001")
	ag.set("http://a1", "c1", task(&yes))
	testenv.WaitFor(t, 5*time.Second, "registered again with the check passing", func() error {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		if c := reg.services["host1:berth-web.1:31001"].Check; c == nil || c.Status != "passing" {
			return fmt.Errorf("check %+v", c)
		}
		return nil
	})
	reg.mu.Lock()
	regs := reg.registers
	reg.mu.Unlock()
	ag.set("http://a1", "c1", task(nil)) // the restarted agent has no result yet
	testenvWaitPasses(t, h, h.r.Snapshot().Passes+5)
	ag.set("http://a1", "c1", task(&yes))
	testenvWaitPasses(t, h, h.r.Snapshot().Passes+5)
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.registers != regs {
		t.Fatalf("%d registrations across the agent's restart, want 0", reg.registers-regs)
	}
}
