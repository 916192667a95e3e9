package election_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election"
)

// netSwitch is a dialer whose connections the test can cut, to simulate a
// master partitioned from ZooKeeper.
type netSwitch struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func (n *netSwitch) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.down {
		return nil, errors.New("test: network down")
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
	n.conns = nil
}

func (n *netSwitch) heal() {
	n.mu.Lock()
	n.down = false
	n.mu.Unlock()
}

type candidate struct {
	el     *election.Elector
	sw     *netSwitch
	cancel context.CancelFunc
	done   chan error
	terms  atomic.Int32
}

// cluster runs candidates and checks, on every term start and by polling,
// that no two of them lead at once.
type cluster struct {
	t          *testing.T
	zk         string
	root       string
	cands      []*candidate
	acting     atomic.Int32 // Lead callbacks running
	violations atomic.Int32
	stopPoll   chan struct{}
	polled     sync.WaitGroup
}

func newCluster(t *testing.T, zkAddr, root string, n int) *cluster {
	c := &cluster{t: t, zk: zkAddr, root: root, stopPoll: make(chan struct{})}
	for i := range n {
		c.start(fmt.Sprintf("http://master-%d:8080", i))
	}
	c.polled.Add(1)
	go c.poll()
	t.Cleanup(func() {
		close(c.stopPoll)
		c.polled.Wait()
		for _, cand := range c.cands {
			cand.cancel()
			<-cand.done
		}
		if v := c.violations.Load(); v > 0 {
			t.Errorf("%d times two leaders acted at once", v)
		}
	})
	return c
}

func (c *cluster) start(self string) *candidate {
	cand := &candidate{sw: &netSwitch{}, done: make(chan error, 1)}
	el, err := election.New(election.Config{
		Servers: []string{c.zk}, Root: c.root, Self: self, SessionTimeout: time.Second,
		Dialer: cand.sw.dial,
		Lead: func(ctx context.Context, term election.Term) {
			cand.terms.Add(1)
			if c.acting.Add(1) > 1 {
				c.violations.Add(1)
			}
			<-ctx.Done()
			c.acting.Add(-1)
		},
	})
	if err != nil {
		c.t.Fatal(err)
	}
	cand.el = el
	ctx, cancel := context.WithCancel(context.Background())
	cand.cancel = cancel
	go func() { cand.done <- el.Run(ctx) }()
	c.cands = append(c.cands, cand)
	return cand
}

func (c *cluster) poll() {
	defer c.polled.Done()
	for {
		select {
		case <-c.stopPoll:
			return
		case <-time.After(2 * time.Millisecond):
		}
		n := 0
		for _, cand := range c.cands {
			if cand.el.IsLeader() {
				n++
			}
		}
		if n > 1 {
			c.violations.Add(1)
		}
	}
}

// leader waits until exactly one running candidate leads and every running
// candidate (and observers) agree on its URL.
func (c *cluster) leader(observers ...*election.Elector) *candidate {
	c.t.Helper()
	var found *candidate
	testenv.WaitFor(c.t, 20*time.Second, "exactly one agreed leader", func() error {
		found = nil
		for _, cand := range c.cands {
			if cand.el.IsLeader() {
				if found != nil {
					return errors.New("two leaders")
				}
				found = cand
			}
		}
		if found == nil {
			return errors.New("no leader")
		}
		all := observers
		for _, cand := range c.cands {
			if !cand.stopped() {
				all = append(all, cand.el)
			}
		}
		for _, e := range all {
			if url, ok := e.Leader(); !ok || url != found.el.Self() {
				return fmt.Errorf("%s sees leader %q (%v), want %s", e.Self(), url, ok, found.el.Self())
			}
		}
		return nil
	})
	return found
}

func (cand *candidate) stopped() bool {
	select {
	case err := <-cand.done:
		cand.done <- err
		return true
	default:
		return false
	}
}

func TestElection(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	c := newCluster(t, z.Addr, "/berth", 3)
	obs, err := election.New(election.Config{Servers: []string{z.Addr}, Root: "/berth"})
	if err != nil {
		t.Fatal(err)
	}
	octx, ocancel := context.WithCancel(context.Background())
	odone := make(chan error, 1)
	go func() { odone <- obs.Run(octx) }()
	defer func() { ocancel(); <-odone }()

	first := c.leader(obs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if url, err := election.LeaderURL(ctx, []string{z.Addr}, "/berth"); err != nil || url != first.el.Self() {
		t.Fatalf("LeaderURL = %q, %v; want %s", url, err, first.el.Self())
	}

	t.Run("FollowerCannotAbdicate", func(t *testing.T) {
		for _, cand := range c.cands {
			if cand != first {
				if err := cand.el.Abdicate(ctx); !errors.Is(err, election.ErrNotLeader) {
					t.Fatalf("follower Abdicate = %v, want ErrNotLeader", err)
				}
			}
		}
		if err := obs.Abdicate(ctx); !errors.Is(err, election.ErrNotLeader) {
			t.Fatalf("observer Abdicate = %v, want ErrNotLeader", err)
		}
	})

	t.Run("Abdicate", func(t *testing.T) {
		old := c.leader(obs)
		if err := old.el.Abdicate(ctx); err != nil {
			t.Fatalf("Abdicate: %v", err)
		}
		next := c.leader(obs)
		if next == old {
			t.Fatal("the abdicated leader leads again while others wait")
		}
	})

	t.Run("PartitionedLeaderStepsDown", func(t *testing.T) {
		old := c.leader(obs)
		termsBefore := old.terms.Load()
		old.sw.cut()
		// The old leader stops on its own, well before its session can
		// expire on the server; the acting counter proves the order.
		testenv.WaitFor(t, time.Second, "partitioned leader stops leading", func() error {
			if old.el.IsLeader() {
				return errors.New("still leading")
			}
			return nil
		})
		var next *candidate
		testenv.WaitFor(t, 20*time.Second, "another candidate takes over", func() error {
			for _, cand := range c.cands {
				if cand != old && cand.el.IsLeader() {
					next = cand
					return nil
				}
			}
			return errors.New("no new leader")
		})
		old.sw.heal()
		if got := c.leader(obs); got != next {
			t.Fatalf("after healing, %s leads, want %s", got.el.Self(), next.el.Self())
		}
		if old.terms.Load() != termsBefore {
			t.Fatal("the healed old leader started a new term although another leads")
		}
		if _, ok := old.el.Leader(); !ok {
			t.Fatal("healed candidate does not know the leader")
		}
	})

	t.Run("StoppedLeaderIsReplaced", func(t *testing.T) {
		old := c.leader(obs)
		old.cancel()
		if err := <-old.done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		old.done <- nil
		if next := c.leader(obs); next == old {
			t.Fatal("stopped candidate still leads")
		}
	})
}

// TestElectionSurvivesZooKeeperRestart: while ZooKeeper is down nobody
// leads; once it is back, exactly one candidate leads again.
func TestElectionSurvivesZooKeeperRestart(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	c := newCluster(t, z.Addr, "/berth", 3)
	c.leader()
	z.Stop()
	testenv.WaitFor(t, 10*time.Second, "no leader while ZooKeeper is down", func() error {
		for _, cand := range c.cands {
			if cand.el.IsLeader() {
				return fmt.Errorf("%s still leads", cand.el.Self())
			}
			if _, ok := cand.el.Leader(); ok {
				return fmt.Errorf("%s still claims to know the leader", cand.el.Self())
			}
		}
		return nil
	})
	z.Start()
	c.leader()
}

// TestLeadGivingUpHandsOver: a candidate whose Lead returns at once (it
// cannot lead, e.g. its state does not load) gives the leadership to the
// next candidate instead of holding it idle.
func TestLeadGivingUpHandsOver(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	var brokenTerms atomic.Int32
	start := func(self string, lead func(context.Context, election.Term)) *election.Elector {
		el, err := election.New(election.Config{Servers: []string{z.Addr}, Root: "/berth", Self: self,
			SessionTimeout: time.Second, Lead: lead})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- el.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return el
	}
	broken := start("http://broken:8080", func(context.Context, election.Term) { brokenTerms.Add(1) })
	testenv.WaitFor(t, 10*time.Second, "the broken candidate's first term", func() error {
		if brokenTerms.Load() == 0 {
			return errors.New("not elected yet")
		}
		return nil
	})
	good := start("http://good:8080", func(ctx context.Context, _ election.Term) { <-ctx.Done() })
	testenv.WaitFor(t, 10*time.Second, "the working candidate leads", func() error {
		if !good.IsLeader() || broken.IsLeader() {
			return fmt.Errorf("good leads %v, broken leads %v", good.IsLeader(), broken.IsLeader())
		}
		if url, ok := broken.Leader(); !ok || url != "http://good:8080" {
			return fmt.Errorf("broken candidate sees leader %q", url)
		}
		return nil
	})
}
