package ha_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election/ha"
	"github.com/berth-platform/berth/placement/store"
)

// counter is a minimal leader side: it loads a count from the store on
// election and persists every increment through the fenced store.
type counter struct {
	st   store.Store
	n    int
	node func() *ha.Node
}

func (c *counter) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (c *counter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/apps", func(w http.ResponseWriter, r *http.Request) {
		next := c.n + 1
		if err := c.st.Apply(r.Context(), store.Put("counter", "n", []byte(strconv.Itoa(next)))); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		c.n = next
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, next)
	})
	mux.HandleFunc("DELETE /v2/leader", func(w http.ResponseWriter, r *http.Request) {
		if err := c.node().Abdicate(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		fmt.Fprint(w, `{"message":"Leadership abdicated"}`)
	})
	mux.HandleFunc("GET /v2/leader", func(w http.ResponseWriter, r *http.Request) {
		l, _ := c.node().Leader()
		json.NewEncoder(w).Encode(map[string]any{"leader": l, "elected": true})
	})
	return mux
}

type member struct {
	srv    *httptest.Server
	node   *ha.Node
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, zk string) *member {
	m := &member{done: make(chan error, 1)}
	var h http.Handler = http.NotFoundHandler()
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	standby := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, _ := m.node.Leader()
		json.NewEncoder(w).Encode(map[string]any{"leader": l, "elected": false})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	node, err := ha.New(ctx, ha.Config{ZK: "zk://" + zk + "/berth", Self: m.srv.URL, SessionTimeout: time.Second,
		Standby: standby,
		NewLeader: func(ctx context.Context, st store.Store) (ha.Leader, error) {
			c := &counter{st: st, node: func() *ha.Node { return m.node }}
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
		t.Fatal(err)
	}
	m.node = node
	h = node.Handler()
	rctx, rcancel := context.WithCancel(context.Background())
	m.cancel = rcancel
	go func() { m.done <- node.Run(rctx) }()
	t.Cleanup(func() {
		rcancel()
		<-m.done
		m.srv.Close()
	})
	return m
}

func post(t *testing.T, base string) (int, error) {
	res, err := http.Post(base+"/v2/apps", "application/json", strings.NewReader(`{}`))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var n int
	if res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("POST via %s: %d", base, res.StatusCode)
	}
	json.NewDecoder(res.Body).Decode(&n)
	return n, nil
}

// TestGroup: writes through any member land on the one leader, and the
// count survives a stopped leader and an abdication — nothing lost, nothing
// counted twice.
func TestGroup(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	ms := []*member{start(t, z.Addr), start(t, z.Addr), start(t, z.Addr)}
	want := 0
	writeAll := func(live []*member) {
		t.Helper()
		for range 2 {
			for _, m := range live {
				var n int
				testenv.WaitFor(t, 20*time.Second, "a write through "+m.srv.URL, func() (err error) {
					n, err = post(t, m.srv.URL)
					return err
				})
				if want++; n != want {
					t.Fatalf("count %d after write %d", n, want)
				}
			}
		}
	}
	leader := func(live []*member) *member {
		t.Helper()
		var found *member
		testenv.WaitFor(t, 20*time.Second, "one leader", func() error {
			found = nil
			for _, m := range live {
				if m.node.IsLeader() {
					if found != nil {
						return errors.New("two leaders")
					}
					found = m
				}
			}
			if found == nil {
				return errors.New("no leader")
			}
			return nil
		})
		return found
	}
	writeAll(ms)
	first := leader(ms)

	// A standby answers /v2/leader itself.
	for _, m := range ms {
		if m == first {
			continue
		}
		res, err := http.Get(m.srv.URL + "/v2/leader")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Leader  string
			Elected bool
		}
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if got.Elected || got.Leader != first.srv.URL {
			t.Fatalf("standby /v2/leader = %+v, want leader %s", got, first.srv.URL)
		}
	}

	// Abdication, asked through a standby.
	var via *member
	for _, m := range ms {
		if m != first {
			via = m
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, via.srv.URL+"/v2/leader", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE /v2/leader: %v %v", res, err)
	}
	res.Body.Close()
	second := leader(ms)
	if second == first {
		t.Fatal("the abdicated master leads again while others wait")
	}
	writeAll(ms)

	// The leader stops.
	second.cancel()
	<-second.done
	second.done <- nil
	var live []*member
	for _, m := range ms {
		if m != second {
			live = append(live, m)
		}
	}
	writeAll(live)
}
