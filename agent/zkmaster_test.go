package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/election"
)

// fakeLeader is a master's internal API that records who called it.
type fakeLeader struct {
	srv   *httptest.Server
	mu    sync.Mutex
	regs  int
	polls int
	auth  string
}

func newFakeLeader(t *testing.T) *fakeLeader {
	f := &fakeLeader{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /internal/v1/agents", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.regs++
		f.auth = r.Header.Get("Authorization")
		f.mu.Unlock()
		json.NewEncoder(w).Encode(wire.Registered{ID: "agent-1", HeartbeatSeconds: 5})
	})
	mux.HandleFunc("GET /internal/v1/agents/{id}/desired", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.polls++
		f.mu.Unlock()
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		select { // a long poll that only ends on its own or when the client leaves
		case <-time.After(wait):
		case <-r.Context().Done():
		}
		json.NewEncoder(w).Encode(wire.Desired{Index: 1, Tasks: []wire.TaskSpec{}})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLeader) registrations() (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regs, f.auth
}

func (f *fakeLeader) polling() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.polls == 0 {
		return errors.New("no long poll yet")
	}
	return nil
}

// campaign runs a candidate for url until the returned cancel.
func campaign(t *testing.T, zkAddr, root, url string) (*election.Elector, context.CancelFunc) {
	el, err := election.New(election.Config{Servers: []string{zkAddr}, Root: root, Self: url,
		SessionTimeout: 2 * time.Second, Lead: func(ctx context.Context, _ election.Term) { <-ctx.Done() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { el.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return el, stop
}

// TestZKMasterFollowsTheLeader: the agent's calls go to the elected
// master; when it steps down, a long poll in flight is cut short with
// ErrUnknownAgent and the next registration goes to the new leader.
func TestZKMasterFollowsTheLeader(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	root := fmt.Sprintf("/agent-zk-%d", time.Now().UnixNano())
	a, b := newFakeLeader(t), newFakeLeader(t)
	elA, stopA := campaign(t, z.Addr, root, a.srv.URL)
	testenv.WaitFor(t, 20*time.Second, "A leads", func() error {
		if !elA.IsLeader() {
			return errors.New("not yet")
		}
		return nil
	})
	campaign(t, z.Addr, root, b.srv.URL)

	zm, err := NewZKMaster(ZKMasterConfig{URL: "zk://" + z.Addr + root, Secret: "s3cret", LeaderWait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- zm.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if _, err := zm.Register(ctx, wire.Registration{Hostname: "n1"}); err != nil {
		t.Fatal(err)
	}
	if n, auth := a.registrations(); n != 1 || auth != "Bearer s3cret" {
		t.Fatalf("A: %d registrations, auth %q", n, auth)
	}
	polled := make(chan error, 1)
	go func() {
		_, err := zm.Desired(ctx, "agent-1", 0, "", 30*time.Second)
		polled <- err
	}()
	testenv.WaitFor(t, 10*time.Second, "the long poll reaches A", a.polling)
	stopA() // A steps down: its znode goes, B leads
	select {
	case err := <-polled:
		if !errors.Is(err, ErrUnknownAgent) {
			t.Fatalf("the poll in flight ended with %v, want ErrUnknownAgent", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll to the old leader was not cut short")
	}
	if _, err := zm.Register(ctx, wire.Registration{Hostname: "n1"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.registrations(); n != 1 {
		t.Fatalf("B got %d registrations", n)
	}
	if _, err := zm.Desired(ctx, "agent-1", 0, "", 10*time.Millisecond); err != nil {
		t.Fatalf("poll of the new leader: %v", err)
	}
}

func TestZKMasterBadURL(t *testing.T) {
	for _, u := range []string{"zk://", "zk://h:2181", "http://h/berth"} {
		if _, err := NewZKMaster(ZKMasterConfig{URL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
