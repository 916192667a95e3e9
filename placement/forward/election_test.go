package forward_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election"
	"github.com/berth-platform/berth/placement/forward"
)

// TestForwardingWithElection: three masters elect a leader in a real
// ZooKeeper; a write through any master is served by the leader; when the
// leader stops, writes through the survivors reach the new leader.
func TestForwardingWithElection(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	type node struct {
		srv    *httptest.Server
		el     *election.Elector
		cancel context.CancelFunc
		done   chan error
	}
	var nodes []*node
	for i := range 3 {
		n := &node{done: make(chan error, 1)}
		var h http.Handler
		n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		el, err := election.New(election.Config{Servers: []string{z.Addr}, Root: "/berth", Self: n.srv.URL, SessionTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		n.el = el
		fh, err := forward.New(forward.Config{Self: n.srv.URL, Leadership: el}, api(i, &view{}, nil))
		if err != nil {
			t.Fatal(err)
		}
		h = fh
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		go func() { n.done <- el.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-n.done
			n.srv.Close()
		})
		nodes = append(nodes, n)
	}
	// servedBy posts through every live master and returns which master
	// served them, failing unless it is the same one for all.
	servedBy := func(live []*node) (int, error) {
		who := -1
		for _, n := range live {
			res, b := do(t, http.MethodPost, n.srv.URL+"/v2/apps", `{"id":"/x"}`)
			if res.StatusCode != http.StatusCreated {
				return -1, fmt.Errorf("via %s: %d %s", n.srv.URL, res.StatusCode, b)
			}
			var s seen
			json.Unmarshal(b, &s)
			if who >= 0 && s.Served != who {
				return -1, fmt.Errorf("served by %d and %d", who, s.Served)
			}
			who = s.Served
			if l := res.Header.Get(forward.HeaderLeader); l != nodes[who].srv.URL {
				return -1, fmt.Errorf("%s = %q, served by %s", forward.HeaderLeader, l, nodes[who].srv.URL)
			}
		}
		if !nodes[who].el.IsLeader() {
			return -1, errors.New("served by a master that does not lead")
		}
		return who, nil
	}
	var first int
	testenv.WaitFor(t, 20*time.Second, "all writes served by one leader", func() (err error) {
		first, err = servedBy(nodes)
		return err
	})
	nodes[first].cancel()
	<-nodes[first].done
	nodes[first].done <- nil
	var live []*node
	for i, n := range nodes {
		if i != first {
			live = append(live, n)
		}
	}
	testenv.WaitFor(t, 20*time.Second, "writes served by the new leader", func() error {
		who, err := servedBy(live)
		if err == nil && who == first {
			return errors.New("stopped master still serves")
		}
		return err
	})
}
