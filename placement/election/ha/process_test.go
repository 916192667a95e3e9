package ha_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election/failover"
	"github.com/berth-platform/berth/placement/election/ha"
	"github.com/berth-platform/berth/placement/store"
)

// The test binary doubles as a master process: with BERTH_HA_CHILD set it
// runs one group member (the counter leader) until SIGTERM, so the tests
// below can SIGKILL real processes.
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_HA_CHILD") != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lockedCounter is the counter leader, safe for concurrent requests.
type lockedCounter struct {
	mu sync.Mutex
	counter
}

func (c *lockedCounter) Handler() http.Handler {
	h := c.counter.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func runChild() error {
	listen := os.Getenv("BERTH_HA_LISTEN")
	session, _ := time.ParseDuration(os.Getenv("BERTH_HA_SESSION"))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var node *ha.Node
	standby := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := node.Leader()
		fmt.Fprintf(w, `{"leader":%q,"elected":false}`, l)
	})
	node, err := ha.New(ctx, ha.Config{ZK: os.Getenv("BERTH_HA_ZK"), Self: "http://" + listen, SessionTimeout: session,
		Standby: standby, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		NewLeader: func(ctx context.Context, st store.Store) (ha.Leader, error) {
			c := &lockedCounter{counter: counter{st: st, node: func() *ha.Node { return node }}}
			b, err := st.Get(ctx, "counter", "n")
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if err == nil {
				c.n, _ = strconv.Atoi(string(b))
			}
			return c, nil
		}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: node.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	err = node.Run(ctx)
	srv.Close()
	return err
}

type proc struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(t testing.TB, zkAddr string, session time.Duration) *proc {
	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BERTH_HA_CHILD=1", "BERTH_HA_LISTEN="+listen,
		"BERTH_HA_ZK=zk://"+zkAddr+"/berth", "BERTH_HA_SESSION="+session.String())
	logf, err := os.Create(fmt.Sprintf("%s/%s.log", t.TempDir(), listen))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{url: "http://" + listen, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) kill() error {
	if err := p.cmd.Process.Kill(); err != nil {
		return err
	}
	<-p.done
	return nil
}

// processFailovers runs n rounds of: find the leader among three member
// processes, SIGKILL it, measure until a write through a survivor succeeds,
// check the count went on exactly, start a replacement.
func processFailovers(t testing.TB, n int, session time.Duration) []time.Duration {
	z := testenv.StartZooKeeper(t)
	procs := []*proc{startProc(t, z.Addr, session), startProc(t, z.Addr, session), startProc(t, z.Addr, session)}
	count := 0
	write := func(ctx context.Context, base string) error {
		got, err := postCtx(ctx, base)
		if err != nil {
			return err
		}
		if got != count+1 {
			return fmt.Errorf("%w: count %d after %d writes", errLost, got, count+1)
		}
		count = got
		return nil
	}
	var times []time.Duration
	for range n {
		var urls []string
		for _, p := range procs {
			urls = append(urls, p.url)
		}
		testenv.WaitFor(t, 30*time.Second, "a write before the kill", func() error { return write(context.Background(), urls[0]) })
		var leader string
		testenv.WaitFor(t, 30*time.Second, "members agree on a leader", func() (err error) {
			leader, err = failover.Leader(context.Background(), http.DefaultClient, urls)
			return err
		})
		var dead *proc
		var survivors []string
		var alive []*proc
		for _, p := range procs {
			if p.url == leader {
				dead = p
			} else {
				survivors, alive = append(survivors, p.url), append(alive, p)
			}
		}
		if dead == nil {
			t.Fatalf("leader %s is none of %v", leader, urls)
		}
		d, via, err := failover.Measure(context.Background(), failover.Config{Survivors: survivors, Kill: dead.kill,
			Probe: write, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("failover %d: %s (write %d through %s)", len(times)+1, d.Round(time.Millisecond), count, via)
		times = append(times, d)
		procs = append(alive, startProc(t, z.Addr, session))
	}
	return times
}

var errLost = errors.New("lost or duplicated write")

func postCtx(ctx context.Context, base string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v2/apps", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("POST via %s: %d", base, res.StatusCode)
	}
	var n int
	_, err = fmt.Fscan(res.Body, &n)
	return n, err
}

// TestProcessFailover: SIGKILL the leader process; a survivor serves the
// next write, and the count neither loses nor repeats a write.
func TestProcessFailover(t *testing.T) {
	processFailovers(t, 2, time.Second)
}

// BenchmarkProcessFailover reports SIGKILL → first successful write through
// a survivor for real processes (2 s session timeout); -benchtime 20x.
func BenchmarkProcessFailover(b *testing.B) {
	s := failover.Summarize(processFailovers(b, b.N, 2*time.Second))
	b.ReportMetric(s.P50.Seconds(), "p50-s")
	b.ReportMetric(s.P99.Seconds(), "p99-s")
	b.ReportMetric(s.Max.Seconds(), "max-s")
}
