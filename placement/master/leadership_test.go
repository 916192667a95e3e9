package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/berth-platform/berth/placement/election"
	"github.com/berth-platform/berth/placement/store"
)

// fakeLeadership is an election as the master sees it.
type fakeLeadership struct {
	mu        sync.Mutex
	leader    string
	self      bool
	abdicated int
}

func (f *fakeLeadership) Leader() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader, f.leader != ""
}

func (f *fakeLeadership) IsLeader() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.self
}

func (f *fakeLeadership) Abdicate(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.self {
		return fmt.Errorf("ha: %w", election.ErrNotLeader)
	}
	f.abdicated++
	f.self = false
	return nil
}

func TestLeadershipInInfoAndLeader(t *testing.T) {
	el := &fakeLeadership{leader: "http://10.0.0.1:8080", self: true}
	h := newHarness(t, func(c *Config) {
		c.Advertise, c.Leadership, c.ZK = "10.0.0.1:8080", el, "zk://127.0.0.1:2181/berth"
	})
	info := h.must(200, "GET", "/v2/info", "").json(t)
	zk := info["zookeeper_config"].(map[string]any)["zk"]
	if info["elected"] != true || info["leader"] != "10.0.0.1:8080" || zk != "zk://127.0.0.1:2181/berth" ||
		info["marathon_config"].(map[string]any)["ha"] != true {
		t.Fatalf("info as leader = %v", info)
	}
	if l := h.must(200, "GET", "/v2/leader", "").json(t); l["leader"] != "10.0.0.1:8080" {
		t.Fatalf("leader = %v", l)
	}
	if r := h.must(200, "DELETE", "/v2/leader", "").json(t); r["message"] != "Leadership abdicated" || el.abdicated != 1 {
		t.Fatalf("abdicate = %v (abdicated %d)", r, el.abdicated)
	}
	// No longer the leader: another one leads, then none.
	el.mu.Lock()
	el.leader = "http://10.0.0.2:8080"
	el.mu.Unlock()
	info = h.must(200, "GET", "/v2/info", "").json(t)
	if info["elected"] != false || info["leader"] != "10.0.0.2:8080" {
		t.Fatalf("info after abdication = %v", info)
	}
	if r := h.must(404, "DELETE", "/v2/leader", "").json(t); !strings.Contains(r["message"].(string), "There is no leader") {
		t.Fatalf("abdicate on a non-leader = %v", r)
	}
	el.mu.Lock()
	el.leader = ""
	el.mu.Unlock()
	if r := h.must(404, "GET", "/v2/leader", "").json(t); r["message"] != "There is no leader" {
		t.Fatalf("leader with none = %v", r)
	}
	if info = h.must(200, "GET", "/v2/info", "").json(t); info["leader"] != nil {
		t.Fatalf("info with no leader = %v", info)
	}
}

func TestAbdicateWithoutElection(t *testing.T) {
	h := newHarness(t, nil)
	h.must(400, "DELETE", "/v2/leader", "")
	if info := h.must(200, "GET", "/v2/info", "").json(t); info["elected"] != true ||
		info["zookeeper_config"].(map[string]any)["zk"] != "" {
		t.Fatalf("info = %v", info)
	}
}

func TestStandbyAnswersLocallyWithAuth(t *testing.T) {
	el := &fakeLeadership{leader: "http://10.0.0.2:8080"}
	sb, err := newStandby(Config{Credentials: "u:p", Advertise: "10.0.0.1:8080", ZK: "zk://z:2181/berth"},
		func() Leadership { return el })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	get := func(path string, auth bool) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if auth {
			req.SetBasicAuth("u", "p")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	if code, _ := get("/ping", false); code != 200 {
		t.Fatalf("standby /ping = %d", code)
	}
	if code, _ := get("/v2/info", false); code != 401 {
		t.Fatalf("standby /v2/info without credentials = %d", code)
	}
	code, info := get("/v2/info", true)
	if code != 200 || info["elected"] != false || info["leader"] != "10.0.0.2:8080" ||
		info["zookeeper_config"].(map[string]any)["zk"] != "zk://z:2181/berth" {
		t.Fatalf("standby /v2/info = %d %v", code, info)
	}
	if code, l := get("/v2/leader", true); code != 200 || l["leader"] != "10.0.0.2:8080" {
		t.Fatalf("standby /v2/leader = %d %v", code, l)
	}
}

// TestDesiredIsDurable: a desired set is answered only once everything
// the master queued before computing it is in the store, so a leader that
// dies right after answering never launched a task its successor lacks.
func TestDesiredIsDurable(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.m.mu.Lock()
	h.m.w.enqueue(store.Put("test", "queued", []byte("1")))
	h.m.mu.Unlock()
	a.desired()
	if _, err := h.st.Get(context.Background(), "test", "queued"); err != nil {
		t.Fatalf("desired answered before the queued write was durable: %v", err)
	}
}

// TestReregistrationKeepsUnreportedTasks: a task placed on an agent that
// has not polled since (it re-registers without it, e.g. after a failover)
// is not lost; it goes out with the next desired set.
func TestReregistrationKeepsUnreportedTasks(t *testing.T) {
	h := newHarness(t, nil)
	a := h.agent("node-1", nil)
	h.must(201, "POST", "/v2/apps", `{"id":"/k","cmd":"x","cpus":0.1,"mem":16}`)
	h.pass()
	staged := h.tasks("/k")
	if len(staged) != 1 || staged[0].Reported {
		t.Fatalf("tasks = %+v", staged)
	}
	a.register(nil, nil)
	h.pass()
	after := h.tasks("/k")
	if len(after) != 1 || after[0].ID != staged[0].ID || after[0].State != staged[0].State {
		t.Fatalf("after re-registration: %+v (was %+v)", after, staged)
	}
	if d := a.desired(); len(d.Tasks) != 1 || d.Tasks[0].TaskID != staged[0].ID {
		t.Fatalf("desired = %+v", d)
	}
	// A task the agent did report and no longer has is lost, as before.
	a.sync()
	a.register(nil, nil)
	h.pass()
	if ts := h.tasks("/k"); len(ts) != 1 || ts[0].ID == staged[0].ID {
		t.Fatalf("a reported task missing at re-registration is replaced: %+v", ts)
	}
}
