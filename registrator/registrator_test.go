package registrator

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
)

type harness struct {
	docker *fakeDocker
	reg    *fakeRegistry
	r      *Registrator
	done   chan error
	cancel context.CancelFunc
}

// start runs a Registrator over fakes with fast timers; it is stopped (and
// must have returned) when the test ends.
func start(t *testing.T, d *fakeDocker, reg *fakeRegistry, tweak func(*Config)) *harness {
	t.Helper()
	cfg := Config{
		Docker: d, Registry: reg,
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Naming:      Options{Hostname: "host1", HostIP: "10.0.0.5"},
		AntiEntropy: 20 * time.Millisecond,
		BackoffMin:  5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		RetryAttempts: -1, RetryInterval: 10 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{docker: d, reg: reg, r: r, done: make(chan error, 1), cancel: cancel}
	go func() { h.done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (h *harness) waitIDs(t *testing.T, what string, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	testenv.WaitFor(t, 5*time.Second, what, func() error {
		if got := h.reg.ids(); !reflect.DeepEqual(got, want) {
			return fmt.Errorf("registered %q, want %q", got, want)
		}
		return nil
	})
}

func app(id, name string, hostPort string) Container {
	c := ctr(name, "app", "80/tcp="+hostPort)
	c.ID = id + strings.Repeat("0", 20)
	return c
}

func TestRunRegistersExistingAndNewContainers(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	d.start(app("c1", "one", "31001"))
	h := start(t, d, reg, nil)
	h.waitIDs(t, "the existing container", "host1:one:80")
	d.start(app("c2", "two", "31002"))
	h.waitIDs(t, "the new container", "host1:one:80", "host1:two:80")
	d.exit(app("c1", "one", "").ID, 137)
	h.waitIDs(t, "the killed container's service gone", "host1:two:80")
}

// A container that starts after the initial List but before the event
// stream is really connected must still be registered: the stream replays
// events since a moment before the list.
func TestSubscribeBeforeList(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	late := app("c9", "late", "31009")
	var once bool
	d.afterList = func() {
		if !once {
			once = true
			d.start(late)
		}
	}
	h := start(t, d, reg, func(c *Config) { c.AntiEntropy = -1 })
	h.waitIDs(t, "the container started during the first list", "host1:late:80")
}

func TestConsulUnreachableThenBack(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	reg.setDown(true)
	d.start(app("c1", "one", "31001"))
	h := start(t, d, reg, nil)
	d.start(app("c2", "two", "31002"))
	// It must keep trying, not give up or crash.
	testenv.WaitFor(t, 5*time.Second, "a few failed pings", func() error {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		if reg.pings < 3 {
			return fmt.Errorf("%d pings", reg.pings)
		}
		return nil
	})
	select {
	case err := <-h.done:
		t.Fatalf("Run returned while Consul was down: %v", err)
	default:
	}
	reg.setDown(false)
	h.waitIDs(t, "everything registered once Consul is back", "host1:one:80", "host1:two:80")
}

func TestConsulDownMidRunRestoresCatalog(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	d.start(app("c1", "one", "31001"))
	d.start(app("c2", "two", "31002"))
	h := start(t, d, reg, nil)
	h.waitIDs(t, "both", "host1:one:80", "host1:two:80")
	reg.setDown(true)
	d.exit(app("c2", "two", "").ID, 1) // exits while Consul is down
	testenv.WaitFor(t, 5*time.Second, "passes failing", func() error {
		if h.r.Snapshot().Failures == 0 {
			return fmt.Errorf("no failed pass yet")
		}
		return nil
	})
	// A dev agent comes back empty.
	reg.mu.Lock()
	reg.services = map[string]Service{}
	reg.down = false
	reg.mu.Unlock()
	h.waitIDs(t, "only the running container restored", "host1:one:80")
}

func TestRemovedBehindItsBackIsRestored(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	d.start(app("c1", "one", "31001"))
	h := start(t, d, reg, nil)
	h.waitIDs(t, "registered", "host1:one:80")
	reg.drop("host1:one:80")
	h.waitIDs(t, "restored by anti-entropy", "host1:one:80")
	// A changed registration is put back too.
	reg.mu.Lock()
	s := reg.services["host1:one:80"]
	s.Meta = map[string]string{MetaOwner: "host1", MetaFingerprint: "tampered"}
	reg.services["host1:one:80"] = s
	reg.mu.Unlock()
	testenv.WaitFor(t, 5*time.Second, "re-registered", func() error {
		reg.mu.Lock()
		defer reg.mu.Unlock()
		if reg.services["host1:one:80"].Meta[MetaFingerprint] == "tampered" {
			return fmt.Errorf("still tampered")
		}
		return nil
	})
}

func TestEventStreamReconnectResyncs(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	h := start(t, d, reg, func(c *Config) { c.AntiEntropy = -1 })
	testenv.WaitFor(t, 5*time.Second, "first watch", func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.watchers == 0 {
			return fmt.Errorf("not watching yet")
		}
		return nil
	})
	// An event lost while the stream is down: only a resync can find it.
	d.mu.Lock()
	d.dropEvents = true
	d.mu.Unlock()
	d.start(app("c1", "one", "31001"))
	d.breakStreams()
	h.waitIDs(t, "found by the resync after reconnecting", "host1:one:80")
	d.mu.Lock()
	watchers := d.watchers
	d.mu.Unlock()
	if watchers < 2 {
		t.Errorf("watchers = %d, want a reconnect", watchers)
	}
}

func TestPeriodicResync(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	h := start(t, d, reg, func(c *Config) { c.Resync = 30 * time.Millisecond; c.AntiEntropy = -1 })
	d.mu.Lock()
	d.dropEvents = true
	d.mu.Unlock()
	d.start(app("c1", "one", "31001"))
	h.waitIDs(t, "found by -resync", "host1:one:80")
}

func TestExitedContainerIsNeverReregistered(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	c := app("c1", "one", "31001")
	d.start(c)
	h := start(t, d, reg, nil)
	h.waitIDs(t, "registered", "host1:one:80")
	d.exit(c.ID, 0)
	h.waitIDs(t, "deregistered", nil...)
	before := h.r.Snapshot().Passes
	testenv.WaitFor(t, 5*time.Second, "several anti-entropy passes", func() error {
		if h.r.Snapshot().Passes < before+5 {
			return fmt.Errorf("passes %d", h.r.Snapshot().Passes)
		}
		return nil
	})
	if ids := reg.ids(); len(ids) != 0 {
		t.Fatalf("exited container re-registered: %q", ids)
	}
}

func TestDeregisterOnSuccess(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	failed, ok, killed := app("c1", "failed", "31001"), app("c2", "ok", "31002"), app("c3", "killed", "31003")
	for _, c := range []Container{failed, ok, killed} {
		d.start(c)
	}
	h := start(t, d, reg, func(c *Config) { c.Deregister = DeregisterOnSuccess })
	h.waitIDs(t, "registered", "host1:failed:80", "host1:killed:80", "host1:ok:80")
	d.exit(failed.ID, 2)
	d.exit(ok.ID, 0)
	d.exit(killed.ID, 137)
	h.waitIDs(t, "only the failed one kept", "host1:failed:80")
	// Kept, but not restored when it disappears: it has exited.
	reg.drop("host1:failed:80")
	before := h.r.Snapshot().Passes
	testenv.WaitFor(t, 5*time.Second, "more passes", func() error {
		if h.r.Snapshot().Passes < before+3 {
			return fmt.Errorf("passes %d", h.r.Snapshot().Passes)
		}
		return nil
	})
	if ids := reg.ids(); len(ids) != 0 {
		t.Fatalf("exited container re-registered: %q", ids)
	}
}

func TestDeregisterOnSuccessRemovedContainer(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	c := app("c1", "failed", "31001")
	d.start(c)
	h := start(t, d, reg, func(c *Config) { c.Deregister = DeregisterOnSuccess })
	h.waitIDs(t, "registered", "host1:failed:80")
	d.exit(c.ID, 2)
	h.waitIDs(t, "kept after a failed exit", "host1:failed:80")
	d.remove(c.ID)
	h.waitIDs(t, "removed with the container", nil...)
}

func TestCleanup(t *testing.T) {
	leftover := Service{ID: "host1:gone:80", Name: "gone", Meta: map[string]string{MetaOwner: "host1", MetaContainer: "deadbeef0000"}}
	foreign := Service{ID: "other:x:80", Name: "x", Meta: map[string]string{MetaOwner: "other"}}
	plain := Service{ID: "redis", Name: "redis"}
	for _, cleanup := range []bool{false, true} {
		t.Run(fmt.Sprintf("cleanup=%v", cleanup), func(t *testing.T) {
			d, reg := newFakeDocker(), newFakeRegistry()
			for _, s := range []Service{leftover, foreign, plain} {
				reg.put(s)
			}
			d.start(app("c1", "one", "31001"))
			h := start(t, d, reg, func(c *Config) { c.Cleanup = cleanup })
			if cleanup {
				h.waitIDs(t, "leftover removed, others untouched", "host1:one:80", "other:x:80", "redis")
				return
			}
			h.waitIDs(t, "registered", "host1:gone:80", "host1:one:80", "other:x:80", "redis")
			before := h.r.Snapshot().Passes
			testenv.WaitFor(t, 5*time.Second, "more passes", func() error {
				if h.r.Snapshot().Passes < before+3 {
					return fmt.Errorf("passes %d", h.r.Snapshot().Passes)
				}
				return nil
			})
			h.waitIDs(t, "leftover kept without -cleanup", "host1:gone:80", "host1:one:80", "other:x:80", "redis")
		})
	}
}

func TestStartupPingGivesUp(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	reg.setDown(true)
	r, err := New(Config{Docker: d, Registry: reg, Naming: Options{Hostname: "h"}, RetryAttempts: 2, RetryInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "after 3 attempt(s)") {
		t.Fatalf("Run = %v, want a give-up error after 3 attempts", err)
	}
}

func TestInspectFailureKeepsServices(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	c := app("c1", "one", "31001")
	d.start(c)
	h := start(t, d, reg, func(c *Config) { c.Resync = 20 * time.Millisecond })
	h.waitIDs(t, "registered", "host1:one:80")
	d.mu.Lock()
	d.inspectErr = fmt.Errorf("daemon busy")
	d.mu.Unlock()
	testenv.WaitFor(t, 5*time.Second, "a failing resync", func() error {
		if !strings.Contains(h.r.Snapshot().LastError, "daemon busy") {
			return fmt.Errorf("last error %q", h.r.Snapshot().LastError)
		}
		return nil
	})
	if ids := reg.ids(); len(ids) != 1 {
		t.Fatalf("a failed inspect must not deregister: %q", ids)
	}
}

func TestDuplicateServiceIDs(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	a, b := app("c1", "a", "31001"), app("c2", "b", "31002")
	a.Env = []string{"SERVICE_ID=same"}
	b.Env = []string{"SERVICE_ID=same"}
	d.start(a)
	d.start(b)
	h := start(t, d, reg, nil)
	h.waitIDs(t, "one of them", "same")
	testenv.WaitFor(t, 5*time.Second, "the duplicate explained", func() error {
		for _, s := range h.r.Snapshot().Skips {
			if s.Container == "b" && strings.Contains(s.Reason, "already used by container a") {
				return nil
			}
		}
		return fmt.Errorf("skips %+v", h.r.Snapshot().Skips)
	})
	reg.mu.Lock()
	port := reg.services["same"].Port
	reg.mu.Unlock()
	if port != 31001 {
		t.Errorf("the first container by name must win, got port %d", port)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{Deregister: "sometimes", Resync: -1, RetryAttempts: -2}.Validate()
	for _, want := range []string{"Docker is required", "Registry is required", `"sometimes"`, "owner", "-resync", "-retry-attempts"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

// A full resync whose Docker list succeeded is not repeated on every retry
// while Consul is down.
func TestConsulOutageDoesNotRelistDocker(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	d.start(app("c1", "one", "31001"))
	h := start(t, d, reg, nil)
	h.waitIDs(t, "registered", "host1:one:80")
	reg.setDown(true)
	d.breakStreams() // reconnect → full resync while Consul is down
	testenv.WaitFor(t, 5*time.Second, "many failed passes", func() error {
		if f := h.r.Snapshot().Failures; f < 10 {
			return fmt.Errorf("%d failures", f)
		}
		return nil
	})
	d.mu.Lock()
	lists := d.lists
	d.mu.Unlock()
	if lists > 3 {
		t.Errorf("%d Docker lists during a Consul outage; want the one resync, not one per retry", lists)
	}
	reg.setDown(false)
	h.waitIDs(t, "still registered", "host1:one:80")
}

func TestRelevantEvents(t *testing.T) {
	for action, want := range map[string]bool{
		"start": true, "die": true, "stop": true, "kill": true, "destroy": true, "pause": true,
		"unpause": true, "health_status: healthy": true, "health_status: unhealthy": true,
		"rename": true, "restart": true,
		"create": false, "exec_create: /bin/sh -c true": false, "exec_start: sh": false,
		"exec_die": false, "attach": false, "resize": false, "top": false, "": false,
	} {
		if got := relevant(action); got != want {
			t.Errorf("relevant(%q) = %v, want %v", action, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	var got []time.Duration
	for i := 0; i < 6; i++ {
		got = append(got, b.next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backoff %v, want %v", got, want)
	}
	b.reset()
	if d := b.next(); d != 100*time.Millisecond || b.attempts != 1 {
		t.Errorf("after reset: %v, attempts %d", d, b.attempts)
	}
}

// A paused container is deregistered and comes back on unpause.
func TestPauseUnpause(t *testing.T) {
	d, reg := newFakeDocker(), newFakeRegistry()
	c := app("c1", "one", "31001")
	d.start(c)
	h := start(t, d, reg, nil)
	h.waitIDs(t, "registered", "host1:one:80")
	setPaused := func(p bool, action string) {
		d.mu.Lock()
		x := d.containers[c.ID]
		x.Paused = p
		d.containers[c.ID] = x
		d.emitLocked(c.ID, action)
		d.mu.Unlock()
	}
	setPaused(true, "pause")
	h.waitIDs(t, "deregistered while paused", nil...)
	setPaused(false, "unpause")
	h.waitIDs(t, "back after unpause", "host1:one:80")
}
