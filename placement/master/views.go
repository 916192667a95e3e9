package master

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/berth-platform/berth/placement/election"
	"github.com/berth-platform/berth/placement/marathon"
)

// handleDeployments serves GET /v2/deployments.
func (m *Master) handleDeployments(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	ds := make([]*Deployment, 0, len(m.deployments))
	for _, d := range m.deployments {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Version != ds[j].Version {
			return ds[i].Version < ds[j].Version
		}
		return ds[i].ID < ds[j].ID
	})
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, m.withReadiness(deploymentJSON(d)))
	}
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// handleDeploymentDelete serves DELETE /v2/deployments/{id}: roll back
// (a new deployment restoring every affected app), or with force=true
// just stop it (202).
func (m *Master) handleDeploymentDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m.mu.Lock()
	d := m.deployments[id]
	if d == nil {
		m.mu.Unlock()
		writeMessage(w, http.StatusNotFound, "DeploymentPlan "+id+" does not exist")
		return
	}
	if boolParam(r, "force", false) {
		seq := m.w.enqueue(m.cancelDeployment(id, "stopped by DELETE /v2/deployments?force=true")...)
		m.mu.Unlock()
		if err := m.w.wait(seq); err != nil {
			writeErr(w, err)
			return
		}
		m.kick()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var changes []change
	for _, appID := range d.AffectedApps {
		orig, cur := d.Original[appID], m.apps[appID]
		switch {
		case orig == nil && cur != nil:
			changes = append(changes, change{id: appID, action: actStop})
		case orig != nil && cur == nil:
			changes = append(changes, change{id: appID, app: orig.Clone(), action: actStart})
		case orig != nil:
			app := orig.Clone()
			c := change{id: appID, app: app, action: classify(cur.rec.App, app)}
			if d.OriginalGeneration[appID] != cur.rec.Generation {
				c.action, c.keepAction = actRestart, true
			}
			changes = append(changes, c)
		}
	}
	if len(changes) == 0 {
		ops := append(m.cancelDeployment(id, "rolled back"), m.restoreGroups(d.OriginalGroups)...)
		seq := m.w.enqueue(ops...)
		m.mu.Unlock()
		_ = m.w.wait(seq)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	nd, seq, err := m.applyChanges(changes, true)
	if err == nil && d.OriginalGroups != nil {
		nd.OriginalGroups = m.groupRecords(d.OriginalGroups, nil)
		seq = m.w.enqueue(append(m.restoreGroups(d.OriginalGroups), deploymentOp(nd))...)
	}
	m.mu.Unlock()
	if !m.commitDeployment(w, nd, seq, err) {
		return
	}
	writeJSON(w, http.StatusOK, deploymentResult(nd))
}

// handleQueue serves GET /v2/queue with placement explanations.
func (m *Master) handleQueue(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	now := m.now()
	ids := make([]string, 0)
	for id, as := range m.apps {
		if as.queue.count > 0 || now.Before(as.backoff.until) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		as := m.apps[id]
		left := math.Max(0, as.backoff.until.Sub(now).Seconds())
		entry := map[string]any{
			"app": as.rec.App, "count": as.queue.count, "role": "*",
			"delay": map[string]any{"timeLeftSeconds": int(math.Ceil(left)), "overdue": left == 0},
			"since": ts(as.queue.since),
		}
		summary := map[string]any{"processedOffersCount": 0, "unusedOffersCount": 0,
			"rejectSummaryLastOffers": []any{}, "rejectSummaryLaunchAttempt": []any{}}
		if exp := as.queue.explanation; exp != nil {
			var reasons []map[string]any
			for _, rs := range exp.Reasons {
				reasons = append(reasons, map[string]any{"reason": rs.Text, "declined": rs.Agents, "processed": exp.Agents})
			}
			summary["processedOffersCount"] = exp.Agents
			summary["unusedOffersCount"] = exp.Agents
			if reasons != nil {
				summary["rejectSummaryLastOffers"] = reasons
				summary["rejectSummaryLaunchAttempt"] = reasons
			}
			summary["lastUnusedOfferAt"] = ts(as.queue.lastAt)
			entry["explanation"] = exp.String()
		} else if left > 0 {
			entry["explanation"] = "launch delayed by backoff after " + itoa(as.backoff.failures) + " failure(s)"
		}
		entry["processedOffersSummary"] = summary
		out = append(out, entry)
	}
	m.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"queue": out})
}

// handleQueueDelay serves DELETE /v2/queue/{appId}/delay.
func (m *Master) handleQueueDelay(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v2/queue")
	if !strings.HasSuffix(path, "/delay") {
		writeMessage(w, http.StatusNotFound, "not found")
		return
	}
	id := marathon.ResolveID(strings.TrimSuffix(path, "/delay"), "/")
	m.mu.Lock()
	as := m.apps[id]
	if as != nil {
		as.backoff = backoff{}
		m.dirty[id] = true
	}
	m.mu.Unlock()
	if as == nil {
		writeErr(w, appNotFound(id))
		return
	}
	m.kick()
	w.WriteHeader(http.StatusNoContent)
}

// leader is the leading master's host:port, "" when there is none (or it
// is unknown). A master without Leadership always leads itself.
func (m *Master) leader() string {
	if l := m.cfg.Leadership; l != nil {
		u, ok := l.Leader()
		if !ok {
			return ""
		}
		return hostPort(u)
	}
	return m.self()
}

// self is this master's host:port.
func (m *Master) self() string {
	if m.cfg.Advertise != "" {
		return m.cfg.Advertise
	}
	return "localhost:8080"
}

// elected reports whether this master leads.
func (m *Master) elected() bool {
	return m.cfg.Leadership == nil || m.cfg.Leadership.IsLeader()
}

// hostPort strips the scheme of a leader URL: http://h:8080 → h:8080.
func hostPort(u string) string {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	}
	return strings.TrimSuffix(u, "/")
}

func (m *Master) spMin() int {
	if m.cfg.ServicePortMin == 0 {
		return 10000
	}
	return m.cfg.ServicePortMin
}

func (m *Master) spMax() int {
	if m.cfg.ServicePortMax == 0 {
		return 20000
	}
	return m.cfg.ServicePortMax
}

// handleLeader serves GET /v2/leader: 404 while no leader is known.
func (m *Master) handleLeader(w http.ResponseWriter, _ *http.Request) {
	l := m.leader()
	if l == "" {
		writeMessage(w, http.StatusNotFound, "There is no leader")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"leader": l})
}

// handleAbdicate serves DELETE /v2/leader: the leader gives its term up
// and another master takes over. It runs on a request goroutine, never
// under m.mu: the term (and Run) must be able to end while it waits.
func (m *Master) handleAbdicate(w http.ResponseWriter, r *http.Request) {
	l := m.cfg.Leadership
	if l == nil {
		writeMessage(w, http.StatusBadRequest, "This master runs without --zk: there is no election to abdicate from")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := l.Abdicate(ctx); err != nil {
		if errors.Is(err, election.ErrNotLeader) {
			writeMessage(w, http.StatusNotFound, "There is no leader: this master does not lead")
			return
		}
		writeMessage(w, http.StatusServiceUnavailable, "abdicate: "+err.Error())
		return
	}
	writeMessage(w, http.StatusOK, "Leadership abdicated")
}
