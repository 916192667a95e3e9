package agenttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/google/uuid"
)

// Master is an in-process fake master. Safe for concurrent use.
type Master struct {
	srv *httptest.Server

	mu            sync.Mutex
	agents        map[string]*agent
	changed       chan struct{} // closed and replaced on every desired change
	failStatus    int           // answer this many status posts with 500
	registrations []wire.Registration
	heartbeat     float64
	clusterID     string // sent in Registered
}

// SetClusterID makes later registrations answer with this cluster id.
func (m *Master) SetClusterID(id string) {
	m.mu.Lock()
	m.clusterID = id
	m.mu.Unlock()
}

type agent struct {
	desired wire.Desired
	updates []wire.TaskStatus
	arrived []time.Time // arrival time of each update
	fromReg []bool      // the update came with a registration
	seen    map[uint64]bool
	polls   int
	// unchanged counts the polls answered "unchanged" (the agent passed
	// the epoch and index of the set it holds, as the real master allows).
	unchanged int
	// epoch is renewed on every registration, as the real master's record.
	epoch string
	// forgotten agents get 404 until they register again.
	forgotten bool
}

// NewMaster starts a fake master, stopped at the test's cleanup.
func NewMaster(t testing.TB) *Master {
	m := &Master{agents: map[string]*agent{}, changed: make(chan struct{}), heartbeat: 10}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /internal/v1/agents", m.register)
	mux.HandleFunc("GET /internal/v1/agents/{id}/desired", m.desired)
	mux.HandleFunc("POST /internal/v1/agents/{id}/status", m.status)
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

// URL is the master's base URL.
func (m *Master) URL() string { return m.srv.URL }

func (m *Master) register(w http.ResponseWriter, r *http.Request) {
	var reg wire.Registration
	if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
		writeJSON(w, http.StatusBadRequest, wire.Error{Message: err.Error()})
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := reg.ID
	if id == "" {
		// Unique across test binaries: containers are found by agent id.
		id = "agent-" + uuid.NewString()
	}
	if m.agents[id] == nil {
		m.agents[id] = &agent{seen: map[uint64]bool{}}
	}
	a := m.agents[id]
	a.forgotten = false
	a.epoch = uuid.NewString()
	for _, st := range reg.Tasks {
		a.updates = append(a.updates, st)
		a.arrived = append(a.arrived, time.Now())
		a.fromReg = append(a.fromReg, true)
	}
	m.registrations = append(m.registrations, reg)
	writeJSON(w, http.StatusOK, wire.Registered{ID: id, HeartbeatSeconds: m.heartbeat, ClusterID: m.clusterID})
}

func (m *Master) desired(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	index, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil {
		wait = 30 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		m.mu.Lock()
		a := m.agents[id]
		if a == nil || a.forgotten {
			m.mu.Unlock()
			writeJSON(w, http.StatusNotFound, wire.Error{Message: "unknown agent " + id})
			return
		}
		a.polls++
		d, ch := a.desired, m.changed
		d.Epoch = a.epoch
		m.mu.Unlock()
		if d.Index > index {
			writeJSON(w, http.StatusOK, d)
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			if e := r.URL.Query().Get("epoch"); e != "" && e == d.Epoch && d.Index == index {
				m.mu.Lock()
				a.unchanged++
				m.mu.Unlock()
				d = wire.Desired{Index: d.Index, Epoch: d.Epoch, Unchanged: true}
			}
			writeJSON(w, http.StatusOK, d)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (m *Master) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var b wire.StatusBatch
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeJSON(w, http.StatusBadRequest, wire.Error{Message: err.Error()})
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[id]
	if a == nil || a.forgotten {
		writeJSON(w, http.StatusNotFound, wire.Error{Message: "unknown agent " + id})
		return
	}
	if m.failStatus > 0 {
		m.failStatus--
		writeJSON(w, http.StatusInternalServerError, wire.Error{Message: "injected failure"})
		return
	}
	ack := wire.Ack{Acked: []uint64{}}
	for _, u := range b.Updates {
		if !a.seen[u.Seq] {
			a.seen[u.Seq] = true
			a.updates = append(a.updates, u)
			a.arrived = append(a.arrived, time.Now())
			a.fromReg = append(a.fromReg, false)
		}
		ack.Acked = append(ack.Acked, u.Seq)
	}
	writeJSON(w, http.StatusOK, ack)
}

// Unchanged is how many of the agent's polls were answered "unchanged".
func (m *Master) Unchanged(agentID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.agents[agentID]; a != nil {
		return a.unchanged
	}
	return 0
}

// SetDesired replaces an agent's desired set (bumping its index).
func (m *Master) SetDesired(agentID string, tasks []wire.TaskSpec, kill ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[agentID]
	if a == nil {
		a = &agent{seen: map[uint64]bool{}}
		m.agents[agentID] = a
	}
	a.desired = wire.Desired{Index: a.desired.Index + 1, Tasks: tasks, Kill: kill}
	close(m.changed)
	m.changed = make(chan struct{})
}

// Forget drops an agent: its next poll gets 404 and it must register again.
func (m *Master) Forget(agentID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.agents[agentID]; a != nil {
		a.forgotten = true
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

// FailStatus makes the next n status posts fail with 500.
func (m *Master) FailStatus(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failStatus = n
}

// Updates returns every distinct status update posted about a task, in
// arrival order (all tasks when taskID is empty). Statuses reported in
// registrations are not included.
func (m *Master) Updates(taskID string) []wire.TaskStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []wire.TaskStatus
	for _, a := range m.agents {
		for i, u := range a.updates {
			if !a.fromReg[i] && (taskID == "" || u.TaskID == taskID) {
				out = append(out, u)
			}
		}
	}
	return out
}

// Arrival returns when the first update about taskID in the given state
// reached the master.
func (m *Master) Arrival(taskID, state string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.agents {
		for i, u := range a.updates {
			if u.TaskID == taskID && u.State == state {
				return a.arrived[i], true
			}
		}
	}
	return time.Time{}, false
}

// Last returns the latest status the master heard about a task, from a
// status post or a registration, by arrival.
func (m *Master) Last(taskID string) (wire.TaskStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best wire.TaskStatus
	var at time.Time
	found := false
	for _, a := range m.agents {
		for i, u := range a.updates {
			if u.TaskID == taskID && (!found || !a.arrived[i].Before(at)) {
				best, at, found = u, a.arrived[i], true
			}
		}
	}
	return best, found
}

// Registrations returns every registration received, in order.
func (m *Master) Registrations() []wire.Registration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]wire.Registration(nil), m.registrations...)
}

// WaitState waits until the latest update about taskID has the given
// state and returns it; it fails the test after timeout.
func (m *Master) WaitState(t testing.TB, taskID, state string, timeout time.Duration) wire.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last, ok := m.Last(taskID)
		if ok && last.State == state {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: state %s not reached in %s; last update %+v (found %t)", taskID, state, timeout, last, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
