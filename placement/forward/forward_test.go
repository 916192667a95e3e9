package forward_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/placement/forward"
)

// view is a settable Leadership: which URL leads, as one master sees it.
type view struct {
	mu     sync.Mutex
	self   string
	leader string
}

func (v *view) set(leader string) { v.mu.Lock(); v.leader = leader; v.mu.Unlock() }
func (v *view) Leader() (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.leader, v.leader != ""
}
func (v *view) IsLeader() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.leader != "" && v.leader == v.self
}

// seen is what a master's API handler received.
type seen struct {
	Served int    `json:"served"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Body   string `json:"body"`
	Token  string `json:"token"`
	Via    string `json:"via"`
}

type master struct {
	srv  *httptest.Server
	view *view
}

// api is a stand-in for the master's API: it echoes what it received,
// answers /v2/leader with its own view, and streams /v2/events.
func api(i int, v *view, release <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/leader", func(w http.ResponseWriter, r *http.Request) {
		l, _ := v.Leader()
		json.NewEncoder(w).Encode(map[string]any{"leader": l, "elected": v.IsLeader(), "served": i})
	})
	mux.HandleFunc("GET /v2/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: event_stream_attached\ndata: {\"served\":%d}\n\n", i)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(seen{Served: i, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Body: string(body), Token: r.Header.Get("Authorization"), Via: strings.Join(r.Header.Values(forward.HeaderVia), ",")})
	})
	return mux
}

func startMasters(t *testing.T, n int, release <-chan struct{}) []*master {
	var ms []*master
	for i := range n {
		m := &master{view: &view{}}
		var h http.Handler
		m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		m.view.self = m.srv.URL
		fh, err := forward.New(forward.Config{Self: m.srv.URL, Leadership: m.view, Wait: 300 * time.Millisecond}, api(i, m.view, release))
		if err != nil {
			t.Fatal(err)
		}
		h = fh
		t.Cleanup(m.srv.Close)
		ms = append(ms, m)
	}
	return ms
}

// slowView reports no leader for its first `after` looks, then elects.
type slowView struct {
	*view
	mu    sync.Mutex
	looks int
	after int
	elect func()
}

func (s *slowView) Leader() (string, bool) {
	s.mu.Lock()
	s.looks++
	if s.looks == s.after {
		s.elect()
	}
	s.mu.Unlock()
	return s.view.Leader()
}

// seqView answers Leader with answers in turn, then the last one forever.
type seqView struct {
	mu      sync.Mutex
	answers []string
}

func (s *seqView) IsLeader() bool { return false }
func (s *seqView) Leader() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.answers[0]
	if len(s.answers) > 1 {
		s.answers = s.answers[1:]
	}
	return a, true
}

func setLeader(ms []*master, url string) {
	for _, m := range ms {
		m.view.set(url)
	}
}

func do(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestForwarding(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ms := startMasters(t, 3, release)
	leader := ms[1]
	setLeader(ms, leader.srv.URL)

	t.Run("StandbyForwardsEverything", func(t *testing.T) {
		for i, m := range ms {
			res, b := do(t, http.MethodPut, m.srv.URL+"/v2/apps/shop/web?force=true&x=1", `{"instances":3}`)
			var s seen
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatalf("master %d: %s: %v", i, b, err)
			}
			if res.StatusCode != http.StatusCreated || s.Served != 1 || s.Method != "PUT" || s.Path != "/v2/apps/shop/web" ||
				s.Query != "force=true&x=1" || s.Body != `{"instances":3}` || s.Token != "Bearer secret" {
				t.Fatalf("through master %d: %d %+v", i, res.StatusCode, s)
			}
			if got := res.Header.Get(forward.HeaderLeader); got != leader.srv.URL {
				t.Fatalf("through master %d: %s = %q", i, forward.HeaderLeader, got)
			}
			wantVia := ""
			if m != leader {
				wantVia = "1.1 " + strings.TrimPrefix(m.srv.URL, "http://")
			}
			if s.Via != wantVia {
				t.Fatalf("through master %d: leader saw Via %q, want %q", i, s.Via, wantVia)
			}
		}
	})

	t.Run("LocalPathsAnsweredByEachMaster", func(t *testing.T) {
		for i, m := range ms {
			_, b := do(t, http.MethodGet, m.srv.URL+"/v2/leader", "")
			var got struct {
				Leader  string
				Elected bool
				Served  int
			}
			json.Unmarshal(b, &got)
			if got.Served != i || got.Leader != leader.srv.URL || got.Elected != (m == leader) {
				t.Fatalf("master %d /v2/leader = %s", i, b)
			}
		}
		// DELETE /v2/leader is not local: it reaches the leader.
		_, b := do(t, http.MethodDelete, ms[0].srv.URL+"/v2/leader", "")
		var s seen
		json.Unmarshal(b, &s)
		if s.Served != 1 || s.Method != "DELETE" {
			t.Fatalf("DELETE /v2/leader via a standby served by %d: %s", s.Served, b)
		}
	})

	t.Run("EventStreamStreamsThroughStandby", func(t *testing.T) {
		res, err := http.Get(ms[2].srv.URL + "/v2/events")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("Content-Type %q", ct)
		}
		// The leader keeps the stream open (until release): reading the first
		// event proves it was not buffered until the end.
		lines := make(chan string, 4)
		go func() {
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		for _, want := range []string{"event: event_stream_attached", `data: {"served":1}`} {
			select {
			case got := <-lines:
				if got != want {
					t.Fatalf("stream line %q, want %q", got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("event did not come through while the stream is open")
			}
		}
	})

	t.Run("NoLeader503", func(t *testing.T) {
		setLeader(ms, "")
		defer setLeader(ms, leader.srv.URL)
		res, b := do(t, http.MethodPost, ms[0].srv.URL+"/v2/apps", `{}`)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "Could not determine the current leader") ||
			res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("no leader: %d %s", res.StatusCode, b)
		}
		// /ping still works on every master.
		if res, _ := do(t, http.MethodGet, ms[0].srv.URL+"/ping", ""); res.StatusCode != http.StatusCreated {
			t.Fatalf("/ping without leader: %d", res.StatusCode)
		}
	})

	t.Run("LeaderAppearsWhileWaiting", func(t *testing.T) {
		// The election finishes while the request waits: the first looks
		// find no leader.
		setLeader(ms, "")
		slow := &slowView{view: ms[0].view, after: 3, elect: func() { setLeader(ms, leader.srv.URL) }}
		fh, err := forward.New(forward.Config{Self: ms[0].srv.URL, Leadership: slow, Wait: 5 * time.Second}, http.NotFoundHandler())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(fh)
		defer srv.Close()
		defer setLeader(ms, leader.srv.URL)
		res, b := do(t, http.MethodPost, srv.URL+"/v2/apps", `{}`)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("request during the election: %d %s", res.StatusCode, b)
		}
	})

	t.Run("LeaderUnreachable502", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		ms[0].view.set(dead.URL)
		defer ms[0].view.set(leader.srv.URL)
		res, b := do(t, http.MethodGet, ms[0].srv.URL+"/v2/apps", "")
		if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "Could not reach the current leader") {
			t.Fatalf("dead leader: %d %s", res.StatusCode, b)
		}
	})

	t.Run("DeadLeaderReplacedWhileWaiting", func(t *testing.T) {
		// The election still names a leader that just died (its port
		// refuses connections); the request waits for the next one and
		// reaches it whole.
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		seq := &seqView{answers: []string{dead.URL, dead.URL, dead.URL, leader.srv.URL}}
		fh, err := forward.New(forward.Config{Self: "http://127.0.0.1:1", Leadership: seq, Wait: 5 * time.Second}, http.NotFoundHandler())
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(fh)
		defer srv.Close()
		res, b := do(t, http.MethodPost, srv.URL+"/v2/apps?x=1", `{"id":"/kept"}`)
		var s seen
		json.Unmarshal(b, &s)
		if res.StatusCode != http.StatusCreated || s.Served != 1 || s.Body != `{"id":"/kept"}` {
			t.Fatalf("after the dead leader: %d %s", res.StatusCode, b)
		}
	})

	t.Run("LoopDetected", func(t *testing.T) {
		// Two standbys that each believe the other leads.
		ms[0].view.set(ms[2].srv.URL)
		ms[2].view.set(ms[0].srv.URL)
		defer setLeader(ms, leader.srv.URL)
		res, b := do(t, http.MethodGet, ms[0].srv.URL+"/v2/apps", "")
		if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "Detected proxying loop.") {
			t.Fatalf("loop: %d %s", res.StatusCode, b)
		}
	})
}

func TestConfig(t *testing.T) {
	for _, self := range []string{"", "host:8080", "ftp://h:1"} {
		if _, err := forward.New(forward.Config{Self: self, Leadership: &view{}}, http.NotFoundHandler()); err == nil {
			t.Errorf("Self %q accepted", self)
		}
	}
	if _, err := forward.New(forward.Config{Self: "http://h:1"}, http.NotFoundHandler()); err == nil {
		t.Error("missing Leadership accepted")
	}
}

// TestWhenReady: an elected master that is not ready yet holds requests
// (as during an election) and serves them once ready.
func TestWhenReady(t *testing.T) {
	v := &view{self: "http://127.0.0.1:1"}
	v.set(v.self)
	looks := 0
	gate := forward.WhenReady(v, func() bool {
		looks++
		return looks >= 3
	})
	if gate.IsLeader() || gate.IsLeader() {
		t.Fatal("leader before ready")
	}
	if !gate.IsLeader() {
		t.Fatal("not leader once ready")
	}
	fh, err := forward.New(forward.Config{Self: v.self, Leadership: forward.WhenReady(v, func() bool { return false }),
		Wait: 50 * time.Millisecond}, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fh)
	defer srv.Close()
	if res, b := do(t, http.MethodPost, srv.URL+"/v2/apps", "{}"); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("elected but never ready: %d %s", res.StatusCode, b)
	}
}
