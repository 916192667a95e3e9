package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/devstack"
	"github.com/berth-platform/berth/internal/testenv"
)

// testProcessTasksInConsul follows a process app's Consul services through
// a real `berth agent` restart, then a registrator restart while that agent
// is down (neither may
// deregister or re-register them: CreateIndex and ModifyIndex stay, and
// every poll of the catalog meanwhile finds them, while requests keep being
// served through HAProxy), then through a task kill and the app's
// destruction (their services go). It restarts the stack's registrator, so
// it runs last in TestRouting.
func testProcessTasksInConsul(t *testing.T, p *platform) {
	id := "/e2e/procstay"
	a := p.deploy(processApp(id, 2, `"HAPROXY_0_MODE": "http"`), settle)
	sp := a.servicePort()
	p.waitRoutesMatch(id)
	const name = "procstay-e2e" // a process app's Consul name: the app id in Mesos-DNS form
	before := p.catalog(t, name)
	if len(before) != 2 {
		t.Fatalf("Consul has %d services %q, want 2: %v", len(before), name, before)
	}
	w := p.watchStay(t, name, before, p.servicePortURL(sp, "/"))

	// 1. The agent of the first task restarts: the registrator keeps its
	// last task list while the agent is away; the restarted agent adopts
	// the running process and lists it again.
	i := agentIndex(t, a.Tasks[0].Host)
	regLog := filepath.Join(p.stack.LogsDir(), "registrator.log")
	off := fileSize(regLog)
	p.stack.StopAgent(i)
	waitLog(t, regLog, off, "agent task list unavailable")
	if _, err := p.stack.StartAgent(context.Background(), i); err != nil {
		t.Fatalf("restart %s: %v", a.Tasks[0].Host, err)
	}
	waitLog(t, regLog, off, "agent task list reachable again")
	w.waitPolls(t, 10)

	// 2. The registrator restarts (SIGTERM, then the same command line)
	// while that agent is down again: with -cleanup it must not take the
	// agent's process services for leftovers of its earlier run before the
	// agent answered (it did: TestCleanupWaitsForAgentLists).
	off = fileSize(regLog)
	p.stack.StopAgent(i)
	waitLog(t, regLog, off, "agent task list unavailable")
	argv := restartRegistrator(t, p)
	repl := filepath.Join(t.TempDir(), "registrator-2.log")
	startArgv(t, argv, repl)
	waitLog(t, repl, 0, "agent task list unavailable")
	w.waitPolls(t, 10) // passes of the new registrator without the agent
	if _, err := p.stack.StartAgent(context.Background(), i); err != nil {
		t.Fatalf("restart %s: %v", a.Tasks[0].Host, err)
	}
	waitLog(t, repl, 0, "in step with every agent's task list")
	w.waitPolls(t, 10)

	polls, missing, failed, requests := w.stop()
	after := p.catalog(t, name)
	for sid, idx := range before {
		if after[sid] != idx {
			t.Errorf("service %s: indexes %+v before, %+v after the restarts (re-registered)", sid, idx, after[sid])
		}
	}
	if len(missing) > 0 || failed > 0 || requests == 0 {
		t.Errorf("during the restarts: %d of %d catalog polls missed a service (%v); %d of %d requests failed",
			len(missing), polls, missing, failed, requests)
	}
	b, _ := os.ReadFile(repl)
	for _, line := range strings.Split(string(b), "\n") {
		// Other subtests' ended tasks may be cleaned up; this app's not.
		if strings.Contains(line, "msg=removed") && strings.Contains(line, "e2e_procstay.") {
			t.Errorf("the restarted registrator removed a service of %s: %s", id, line)
		}
	}
	t.Logf("agent and registrator restarted: %d catalog polls found both services unchanged, %d requests through HAProxy, 0 failed", polls, requests)

	// 3. A process task ends (killed and scaled down): its service goes,
	// the other stays as it was; destroying the app removes the rest.
	gone := a.Tasks[0]
	p.mustAPI("DELETE", "/v2/apps"+id+"/tasks/"+gone.ID+"?scale=true", nil, nil)
	testenv.WaitFor(t, 30*time.Second, "the killed task's service deregistered", func() error {
		now := p.catalog(t, name)
		for sid := range now {
			if strings.Contains(sid, gone.ID) {
				return fmt.Errorf("%s still registered", sid)
			}
		}
		if len(now) != 1 {
			return fmt.Errorf("services %v, want the other task's", now)
		}
		for sid, idx := range now {
			if before[sid] != idx {
				return fmt.Errorf("the remaining %s changed: %+v → %+v", sid, before[sid], idx)
			}
		}
		return nil
	})
	p.mustAPI("DELETE", "/v2/apps"+id, nil, nil)
	testenv.WaitFor(t, 30*time.Second, "every service of the destroyed app deregistered", func() error {
		if now := p.catalog(t, name); len(now) > 0 {
			return fmt.Errorf("still %v", now)
		}
		return nil
	})
}

// consulIndexes are a catalog entry's raft indexes: CreateIndex changes
// when a service is deregistered and registered again, ModifyIndex on any
// re-registration.
type consulIndexes struct{ Create, Modify uint64 }

// catalog is the stack's Consul catalog for service name, by service ID.
func (p *platform) catalog(t *testing.T, name string) map[string]consulIndexes {
	t.Helper()
	var entries []struct {
		ServiceID   string
		CreateIndex uint64
		ModifyIndex uint64
	}
	if err := p.getJSON("http://"+p.stack.ConsulHTTP+"/v1/catalog/service/"+name, &entries); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]consulIndexes, len(entries))
	for _, e := range entries {
		out[e.ServiceID] = consulIndexes{e.CreateIndex, e.ModifyIndex}
	}
	return out
}

// stayWatch polls the catalog (every 50 ms) and sends requests through a
// servicePort (every 20 ms) until stop.
type stayWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu                       sync.Mutex
	polls, failed, requests  int
	missing                  []string
	firstFailure, lastStatus string
}

func (p *platform) watchStay(t *testing.T, name string, want map[string]consulIndexes, url string) *stayWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &stayWatch{cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			var entries []struct{ ServiceID string }
			err := p.getJSON("http://"+p.stack.ConsulHTTP+"/v1/catalog/service/"+name, &entries)
			w.mu.Lock()
			w.polls++
			have := map[string]bool{}
			for _, e := range entries {
				have[e.ServiceID] = true
			}
			for sid := range want {
				if err != nil || !have[sid] {
					w.missing = append(w.missing, fmt.Sprintf("%s at poll %d (%v)", sid, w.polls, err))
				}
			}
			w.mu.Unlock()
			pause(ctx, 50*time.Millisecond)
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			body, err := p.get(url, "")
			w.mu.Lock()
			w.requests++
			if err != nil || !strings.Contains(body, "proc e2e_procstay.") {
				w.failed++
				if w.firstFailure == "" {
					w.firstFailure = fmt.Sprintf("%q %v", body, err)
				}
			}
			w.mu.Unlock()
			pause(ctx, 20*time.Millisecond)
		}
	}()
	go func() { wg.Wait(); close(w.done) }()
	t.Cleanup(func() { w.stop() })
	return w
}

// waitPolls waits until n more catalog polls happened.
func (w *stayWatch) waitPolls(t *testing.T, n int) {
	t.Helper()
	w.mu.Lock()
	target := w.polls + n
	w.mu.Unlock()
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%d more catalog polls", n), func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.polls < target {
			return fmt.Errorf("%d polls of %d", w.polls, target)
		}
		return nil
	})
}

func (w *stayWatch) stop() (polls int, missing []string, failed, requests int) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed > 0 {
		missing = append(missing, "first failed request: "+w.firstFailure)
	}
	return w.polls, append(missing, w.missing...), w.failed, w.requests
}

// pause waits d or until ctx ends (pacing a load loop, not waiting for a
// condition).
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// agentIndex is the 1-based index of the stack's agent with hostname host.
func agentIndex(t *testing.T, host string) int {
	for i := 1; i <= 10; i++ {
		if devstack.AgentName(i) == host {
			return i
		}
	}
	t.Fatalf("no agent named %q", host)
	return 0
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// waitLog waits until the file has text after offset.
func waitLog(t *testing.T, path string, offset int64, text string) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%q in %s", text, filepath.Base(path)), func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if int64(len(b)) < offset || !bytes.Contains(b[offset:], []byte(text)) {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

// restartRegistrator stops the stack's registrator (the process whose
// command line is `berth registrator -consul <this stack's Consul> …
// -cleanup …`, a child of this test's stack) with SIGTERM, waits until it
// is gone, and returns its command line.
func restartRegistrator(t *testing.T, p *platform) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(argv) < 2 || argv[1] != "registrator" || !strings.Contains(string(b), "\x00"+p.stack.ConsulHTTP+"\x00") ||
			!strings.Contains(string(b), "\x00-cleanup") {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatalf("stop the registrator (pid %d): %v", pid, err)
		}
		testenv.WaitFor(t, 15*time.Second, "the registrator gone", func() error {
			if _, err := os.Stat(d); err == nil {
				return fmt.Errorf("pid %d still there", pid)
			}
			return nil
		})
		return argv
	}
	t.Fatal("the stack's registrator is not running")
	return nil
}

// startArgv runs argv until the test ends (SIGTERM then), logging to
// logPath; the log is shown when the test failed.
func startArgv(t *testing.T, argv []string, logPath string) {
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("---- %s\n%s", filepath.Base(logPath), b)
		}
	})
}
