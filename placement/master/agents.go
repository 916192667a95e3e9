package master

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/placement/store"
	"github.com/google/uuid"
)

// MaxDesiredWait bounds a desired-state long poll.
const MaxDesiredWait = 60 * time.Second

func (m *Master) notifyAgent(id string) {
	if a := m.agents[id]; a != nil {
		a.notify()
	}
}

func (m *Master) byAgent(id string) []*Task {
	out := make([]*Task, 0, len(m.agentTasks[id]))
	for _, t := range m.agentTasks[id] {
		out = append(out, t)
	}
	return out
}

func (m *Master) indexTask(t *Task) {
	m.tasks[t.ID] = t
	at := m.agentTasks[t.AgentID]
	if at == nil {
		at = map[string]*Task{}
		m.agentTasks[t.AgentID] = at
	}
	at[t.ID] = t
}

func (m *Master) unindexTask(t *Task) {
	delete(m.tasks, t.ID)
	if at := m.agentTasks[t.AgentID]; at != nil {
		delete(at, t.ID)
		if len(at) == 0 {
			delete(m.agentTasks, t.AgentID)
		}
	}
}

// handleRegister serves POST /internal/v1/agents: (re)registration with
// reconciliation of the tasks the agent reports.
func (m *Master) handleRegister(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var reg wire.Registration
	if err := json.Unmarshal(body, &reg); err != nil || reg.Hostname == "" {
		writeJSON(w, http.StatusBadRequest, wire.Error{Message: "invalid registration: hostname is required"})
		return
	}
	m.mu.Lock()
	now := m.now()
	if reg.ID == "" {
		reg.ID = uuid.NewString()
	}
	a := m.agents[reg.ID]
	if a == nil {
		a = &agent{changed: make(chan struct{}), unknown: map[string]bool{}}
		m.agents[reg.ID] = a
	}
	a.reg, a.lastSeen, a.lost = reg, now, false
	a.reg.Tasks = nil
	rec, _ := json.Marshal(agentRecord{Registration: a.reg})
	ops := []store.Op{store.Put(bucketAgents, reg.ID, rec)}
	ops = append(ops, m.reconcileAgent(a, reg.Tasks, now)...)
	a.notify()
	seq := m.w.enqueue(ops...)
	m.mu.Unlock()
	if err := m.w.wait(seq); err != nil {
		writeJSON(w, http.StatusInternalServerError, wire.Error{Message: err.Error()})
		return
	}
	m.log.Info("master: agent registered", "agent", reg.ID, "hostname", reg.Hostname, "tasks", len(reg.Tasks))
	m.kick()
	writeJSON(w, http.StatusOK, wire.Registered{ID: reg.ID, HeartbeatSeconds: m.cfg.AgentTimeout.Seconds() / 3, ClusterID: m.clusterID})
}

// reconcileAgent compares what the agent runs with what the master
// expects there: unknown tasks are killed, expected ones it reported
// before but no longer has are lost (and replaced by the next pass).
func (m *Master) reconcileAgent(a *agent, reported []wire.TaskStatus, now time.Time) []store.Op {
	var ops []store.Op
	seen := map[string]bool{}
	a.unknown = map[string]bool{}
	for _, st := range reported {
		seen[st.TaskID] = true
		ops = append(ops, m.applyStatus(a, st, now)...)
	}
	for _, t := range m.byAgent(a.reg.ID) {
		// A task the agent never reported may simply not have reached
		// it yet (e.g. placed by a leader that died before the agent
		// polled): it stays, goes out with the next desired set, and
		// the launch timeout covers it if it never starts.
		if !seen[t.ID] && !terminal(t.State) && t.Reported {
			ops = append(ops, m.endTask(t, wire.TaskLost, "task unknown to its agent after re-registration", now)...)
		}
	}
	return ops
}

// handleDesired serves the long poll GET /internal/v1/agents/{id}/desired.
func (m *Master) handleDesired(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	index, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait := 30 * time.Second
	if v := r.URL.Query().Get("wait"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			wait = min(max(d, 0), MaxDesiredWait)
		}
	}
	m.mu.Lock()
	a := m.agents[id]
	if a == nil || a.lost {
		m.mu.Unlock()
		// A lost agent must register again so its tasks are reconciled.
		writeJSON(w, http.StatusNotFound, wire.Error{Message: "unknown or lost agent " + id + "; register again"})
		return
	}
	a.lastSeen = m.now()
	if a.index <= index && wait > 0 {
		ch := a.changed
		a.polling++
		m.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-ch:
		case <-timer.C:
		case <-r.Context().Done():
		case <-m.stopping:
		}
		timer.Stop()
		m.mu.Lock()
		a.polling--
		a.lastSeen = m.now()
	}
	if e := r.URL.Query().Get("epoch"); e != "" && e == a.epoch && a.index == index {
		// Nothing changed since the set the agent holds: no need to
		// build, encode and send it again (the poll is the heartbeat).
		d := wire.Desired{Index: a.index, Epoch: a.epoch, Unchanged: true}
		m.mu.Unlock()
		writeJSON(w, http.StatusOK, d)
		return
	}
	if a.epoch == "" {
		a.epoch = uuid.NewString()
	}
	d := m.desired(a)
	d.Epoch = a.epoch
	seq := m.w.last()
	m.mu.Unlock()
	// Tell the agent only what is durable: a leader that dies right after
	// answering must not have launched tasks its successor never hears of.
	if err := m.w.wait(seq); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, wire.Error{Message: "desired tasks are not durable yet: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// desired is the agent's whole desired state.
func (m *Master) desired(a *agent) wire.Desired {
	d := wire.Desired{Index: a.index, Tasks: []wire.TaskSpec{}}
	for _, t := range sortedTaskList(m.byAgent(a.reg.ID)) {
		if terminal(t.State) {
			continue
		}
		if t.Killing {
			d.Kill = append(d.Kill, t.ID)
			continue
		}
		d.Tasks = append(d.Tasks, t.Spec)
	}
	for id := range a.unknown {
		d.Kill = append(d.Kill, id)
	}
	return d
}

// handleStatus serves POST /internal/v1/agents/{id}/status; updates are
// acknowledged once durable.
func (m *Master) handleStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var batch wire.StatusBatch
	if err := json.Unmarshal(body, &batch); err != nil {
		writeJSON(w, http.StatusBadRequest, wire.Error{Message: "invalid status batch: " + err.Error()})
		return
	}
	m.mu.Lock()
	a := m.agents[id]
	if a == nil {
		m.mu.Unlock()
		writeJSON(w, http.StatusNotFound, wire.Error{Message: "unknown agent " + id + "; register again"})
		return
	}
	now := m.now()
	a.lastSeen = now
	var ops []store.Op
	ack := wire.Ack{Acked: []uint64{}}
	for _, st := range batch.Updates {
		ops = append(ops, m.applyStatus(a, st, now)...)
		ack.Acked = append(ack.Acked, st.Seq)
	}
	var seq uint64
	if len(ops) > 0 {
		seq = m.w.enqueue(ops...)
	}
	m.mu.Unlock()
	if seq > 0 {
		if err := m.w.wait(seq); err != nil {
			writeJSON(w, http.StatusInternalServerError, wire.Error{Message: err.Error()})
			return
		}
	}
	m.kick()
	writeJSON(w, http.StatusOK, ack)
}

// checkAgents marks agents silent for longer than the timeout lost; their
// tasks become TASK_LOST and are replaced elsewhere, or, when the app's
// unreachableStrategy asks to wait, TASK_UNREACHABLE (see unreachable).
func (m *Master) checkAgents(now time.Time) []store.Op {
	var ops []store.Op
	for _, as := range m.apps {
		ops = append(ops, m.expungeUnreachable(as, now)...)
	}
	for _, a := range m.agents {
		if a.lost || a.polling > 0 || now.Sub(a.lastSeen) <= m.cfg.AgentTimeout {
			continue
		}
		a.lost = true
		m.log.Warn("master: agent lost", "agent", a.reg.ID, "hostname", a.reg.Hostname,
			"silentFor", now.Sub(a.lastSeen).String())
		for _, t := range sortedTaskList(m.byAgent(a.reg.ID)) {
			if terminal(t.State) {
				continue
			}
			if as := m.apps[t.AppID]; as != nil && as.tasks[t.ID] == t && !t.Killing && waitsWhenUnreachable(as) {
				t.State, t.UnreachableSince, t.view = wire.TaskUnreachable, ts(now), nil
				m.instanceChanged(t, now)
				ops = append(ops, taskOp(t))
				continue
			}
			ops = append(ops, m.endTask(t, wire.TaskLost, "agent "+a.reg.Hostname+" lost", now)...)
		}
		a.notify()
	}
	return ops
}

func sortedTaskList(ts []*Task) []*Task {
	m := make(map[string]*Task, len(ts))
	for _, t := range ts {
		m[t.ID] = t
	}
	return sortedTasks(m)
}
