package failover_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election"
	"github.com/berth-platform/berth/placement/election/failover"
	"github.com/berth-platform/berth/placement/forward"
)

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := failover.Summarize(ds)
	if s.N != 100 || s.Min != time.Millisecond || s.P50 != 50*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond {
		t.Fatalf("Summarize = %s", s)
	}
	if s := failover.Summarize([]time.Duration{3 * time.Second}); s.P50 != 3*time.Second || s.P99 != 3*time.Second {
		t.Fatalf("one sample: %s", s)
	}
}

// netSwitch is a dialer whose connections can be cut, so a "killed" master
// never closes its ZooKeeper session (as with SIGKILL): the server has to
// expire it.
type netSwitch struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func (n *netSwitch) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down {
		return nil, errors.New("test: killed")
	}
	c, err := net.DialTimeout(network, addr, timeout)
	if err == nil {
		n.conns = append(n.conns, c)
	}
	return c, err
}

func (n *netSwitch) cut() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = true
	for _, c := range n.conns {
		c.Close()
	}
}

// inproc is a master reduced to what failover needs: election, forwarding
// and a write that only the leader accepts.
type inproc struct {
	srv    *httptest.Server
	el     *election.Elector
	sw     *netSwitch
	cancel context.CancelFunc
	done   chan error
}

func startMaster(t testing.TB, zkAddr string, session time.Duration) *inproc {
	m := &inproc{sw: &netSwitch{}, done: make(chan error, 1)}
	var h http.Handler
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	el, err := election.New(election.Config{Servers: []string{zkAddr}, Root: "/berth", Self: m.srv.URL,
		SessionTimeout: session, Dialer: m.sw.dial})
	if err != nil {
		t.Fatal(err)
	}
	m.el = el
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/leader", func(w http.ResponseWriter, r *http.Request) {
		l, ok := el.Leader()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
		}
		json.NewEncoder(w).Encode(map[string]string{"leader": strings.TrimPrefix(l, "http://")})
	})
	mux.HandleFunc("POST /v2/apps", func(w http.ResponseWriter, r *http.Request) {
		if !el.IsLeader() {
			http.Error(w, "not the leader", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	fh, err := forward.New(forward.Config{Self: m.srv.URL, Leadership: el}, mux)
	if err != nil {
		t.Fatal(err)
	}
	h = fh
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() { m.done <- el.Run(ctx) }()
	t.Cleanup(func() {
		m.cancel()
		<-m.done
		m.srv.Close()
	})
	return m
}

func (m *inproc) kill() error {
	m.sw.cut()
	m.srv.CloseClientConnections()
	m.srv.Close()
	m.cancel() // Run returns in the background; its session is not closed
	return nil
}

func post(ctx context.Context, base string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v2/apps", strings.NewReader(`{"id":"/probe"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST via %s: %d", base, res.StatusCode)
	}
	return nil
}

// failovers runs n kill-the-leader rounds over three in-process masters
// (a replacement joins after each) and returns the measured times.
func failovers(t testing.TB, n int, session time.Duration) []time.Duration {
	z := testenv.StartZooKeeper(t)
	masters := []*inproc{startMaster(t, z.Addr, session), startMaster(t, z.Addr, session), startMaster(t, z.Addr, session)}
	var times []time.Duration
	for range n {
		var urls []string
		for _, m := range masters {
			urls = append(urls, m.srv.URL)
		}
		var leader string
		testenv.WaitFor(t, 30*time.Second, "masters agree on a leader", func() (err error) {
			leader, err = failover.Leader(context.Background(), http.DefaultClient, urls)
			return err
		})
		var dead *inproc
		var survivors []string
		var alive []*inproc
		for _, m := range masters {
			if m.srv.URL == leader {
				dead = m
			} else {
				survivors = append(survivors, m.srv.URL)
				alive = append(alive, m)
			}
		}
		if dead == nil {
			t.Fatalf("leader %s is none of %v", leader, urls)
		}
		d, via, err := failover.Measure(context.Background(), failover.Config{
			Survivors: survivors, Kill: dead.kill, Probe: post, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("failover %d: %s (write through %s)", len(times)+1, d.Round(time.Millisecond), via)
		times = append(times, d)
		masters = append(alive, startMaster(t, z.Addr, session))
	}
	return times
}

// TestFailover: killing the leader hands writes to a survivor, and the time
// it takes is bounded by the session timeout plus the forwarding wait —
// a failover that never completes fails the test.
func TestFailover(t *testing.T) {
	times := failovers(t, 3, time.Second)
	t.Logf("%s", failover.Summarize(times))
}

// BenchmarkFailover reports the failover time (kill → first successful
// write through a survivor) with a 2 s ZooKeeper session timeout; run with
// -benchtime 20x for the issue's ≥ 20 repetitions.
func BenchmarkFailover(b *testing.B) {
	times := failovers(b, b.N, 2*time.Second)
	s := failover.Summarize(times)
	b.ReportMetric(s.P50.Seconds(), "p50-s")
	b.ReportMetric(s.P99.Seconds(), "p99-s")
	b.ReportMetric(s.Max.Seconds(), "max-s")
}
