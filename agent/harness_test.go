package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/agent/agenttest"
	"github.com/berth-platform/berth/internal/testenv"
)

// harness runs one Agent against a fake master until the test ends.
type harness struct {
	t      testing.TB
	m      *agenttest.Master
	a      *Agent
	dir    string
	cancel context.CancelFunc
	done   chan error
	url    string
	once   sync.Once
}

type harnessOpts struct {
	runtimes func(dir string) map[string]Runtime
	mutate   func(*Config)
}

func processRuntimes(t testing.TB) func(string) map[string]Runtime {
	return func(dir string) map[string]Runtime {
		p, err := NewProcessRuntime(ProcessConfig{Dir: dir + "/process"})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]Runtime{RuntimeProcess: p}
	}
}

func startAgent(t testing.TB, m *agenttest.Master, dir string, o harnessOpts) *harness {
	t.Helper()
	master, err := NewHTTPMaster(HTTPMasterConfig{URL: m.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Master: master, MasterURL: m.URL(), Hostname: "node-test", AdvertiseIP: "127.0.0.1",
		Listener: ln, WorkDir: dir, Runtimes: o.runtimes(dir),
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ResyncInterval: 500 * time.Millisecond, PollWait: 2 * time.Second,
	}
	if o.mutate != nil {
		o.mutate(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, m: m, a: a, dir: dir, cancel: cancel, done: make(chan error, 1), url: "http://" + ln.Addr().String()}
	go func() { h.done <- a.Run(ctx) }()
	t.Cleanup(h.stop)
	waitFor(t, 10*time.Second, "agent registered", func() error {
		if a.ID() == "" {
			return errors.New("no id yet")
		}
		return nil
	})
	return h
}

// stop cancels the agent and waits for Run to return (idempotent).
func (h *harness) stop() {
	h.once.Do(func() {
		h.cancel()
		select {
		case err := <-h.done:
			if err != nil {
				h.t.Errorf("agent Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			h.t.Errorf("agent did not stop within 30s")
		}
	})
}

// logs reads a task's stream through the agent API.
func (h *harness) logs(taskID, stream string, offset int64) (string, int64, error) {
	resp, err := http.Get(h.url + "/v1/tasks/" + taskID + "/logs?stream=" + stream + "&offset=" + strconv.FormatInt(offset, 10))
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, errors.New(resp.Status + ": " + string(b))
	}
	next, _ := strconv.ParseInt(resp.Header.Get("X-Berth-Offset"), 10, 64)
	return string(b), next, nil
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	testenv.WaitFor(t, timeout, what, cond)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// passesFrom returns a condition that holds once the agent completed n
// more reconcile passes than now; it pokes the agent meanwhile.
func passesFrom(a *Agent, n uint64) func() error {
	a.mu.Lock()
	start := a.passes
	a.mu.Unlock()
	return func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.passes >= start+n {
			return nil
		}
		a.poke()
		return fmt.Errorf("%d passes, want %d", a.passes-start, n)
	}
}
