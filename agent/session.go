package agent

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// session registers with the master, then long-polls the desired set; it
// registers again (with backoff) whenever the master forgets the agent or
// cannot be reached for long.
func (a *Agent) session(ctx context.Context) {
	b := newBackoff(200*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		reg, err := a.register(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d := b.next()
			a.log.Warn("registration failed; retrying", "master", a.cfg.MasterURL, "err", err, "retry_in", d.String())
			sleepCtx(ctx, d)
			continue
		}
		b.reset()
		a.log.Info("registered with the master", "agent_id", reg.ID, "master", a.cfg.MasterURL)
		a.poll(ctx, reg)
	}
}

func (a *Agent) register(ctx context.Context) (wire.Registered, error) {
	a.mu.Lock()
	reg := wire.Registration{
		ID: a.id, Hostname: a.cfg.Hostname, AdvertiseIP: a.cfg.AdvertiseIP, URL: a.url,
		Attributes: a.cfg.Attributes, Resources: a.cfg.Resources, Version: a.cfg.Version,
		Roles: a.cfg.Roles,
		Tasks: a.currentStatusesLocked(),
	}
	// Updates still unacknowledged about the tasks in the registration
	// are superseded by it: sending them afterwards could only move the
	// master back to an older state.
	inReg := map[string]bool{}
	for _, st := range reg.Tasks {
		inReg[st.TaskID] = true
	}
	var superseded []uint64
	for _, u := range a.journal.Pending(0) {
		if inReg[u.TaskID] {
			superseded = append(superseded, u.Seq)
		}
	}
	a.mu.Unlock()
	out, err := a.cfg.Master.Register(ctx, reg)
	if err != nil {
		return out, err
	}
	if err := a.journal.Ack(superseded); err != nil {
		a.log.Warn("cannot drop status updates superseded by the registration", "err", err)
	}
	a.mu.Lock()
	old, oldCluster := a.id, a.clusterID
	a.id = out.ID
	if out.ClusterID != "" {
		a.clusterID = out.ClusterID
	}
	cluster := a.clusterID
	a.mu.Unlock()
	if oldCluster != "" && oldCluster != cluster {
		a.log.Warn("the master belongs to another cluster than this agent's tasks; tasks of the old cluster are left alone (foreign)",
			"old_cluster", oldCluster, "cluster", cluster)
	}
	if old != out.ID || oldCluster != cluster {
		if old != "" && old != out.ID {
			a.log.Warn("the master gave this agent a new id; containers labelled with the old id are no longer managed",
				"old_id", old, "new_id", out.ID)
		}
		if err := writeJSONFile(filepath.Join(a.cfg.WorkDir, "agent.json"), agentFile{ID: out.ID, ClusterID: cluster}); err != nil {
			a.log.Error("cannot persist the agent id; a restart will register as a new agent", "err", err)
		}
	}
	a.pokeSender()
	a.poke()
	return out, nil
}

// poll long-polls the desired set until the master forgets the agent or
// ctx is done. Transient errors are retried with backoff.
func (a *Agent) poll(ctx context.Context, reg wire.Registered) {
	wait := a.cfg.PollWait
	if wait <= 0 {
		wait = 30 * time.Second
		if hb := time.Duration(reg.HeartbeatSeconds * float64(time.Second)); hb > 0 && hb/2 < wait {
			wait = hb / 2
		}
	}
	var index uint64
	var epoch string
	b := newBackoff(200*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		d, err := a.cfg.Master.Desired(ctx, reg.ID, index, epoch, wait)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrUnknownAgent) {
			a.log.Warn("the master does not know this agent; registering again", "agent_id", reg.ID)
			return
		}
		if err != nil {
			dl := b.next()
			a.log.Warn("polling the desired tasks failed; retrying", "err", err, "retry_in", dl.String())
			sleepCtx(ctx, dl)
			continue
		}
		b.reset()
		if d.Unchanged && epoch != "" && d.Epoch == epoch {
			// The set held is still the whole desired set.
			a.poke()
			index = d.Index
			continue
		}
		a.setDesired(d)
		a.poke()
		index, epoch = d.Index, d.Epoch
	}
}

// setDesired stores a desired set. Every answer is the whole set, so it
// is taken as is even when its index did not move (a restarted master may
// count from scratch); a pass over an unchanged set costs no engine call.
func (a *Agent) setDesired(d wire.Desired) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.desired == nil {
		a.orphanDeadline = a.cfg.Now().Add(a.cfg.OrphanGrace)
	}
	for _, t := range d.Tasks {
		a.known[t.TaskID] = true
		if r := a.tasks[t.TaskID]; r != nil && r.Spec == nil {
			spec := t
			r.Spec = &spec
		}
	}
	a.desired = &d
	want := make(map[string]bool, len(d.Tasks))
	for _, t := range d.Tasks {
		want[t.TaskID] = true
	}
	for id := range a.known {
		if a.tasks[id] == nil && !want[id] {
			delete(a.known, id) // gone for good: keep the set bounded
		}
	}
}

// sendLoop pushes journaled status updates to the master until they are
// acknowledged, in batches, with backoff on failure.
func (a *Agent) sendLoop(ctx context.Context) {
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.sendTrigger:
		case <-retry.C:
		}
		id := a.ID()
		pending := a.journal.Pending(100)
		if id == "" || len(pending) == 0 {
			continue
		}
		ack, err := a.cfg.Master.Status(ctx, id, wire.StatusBatch{Updates: pending})
		if err == nil {
			err = a.journal.Ack(ack.Acked)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d := b.next()
			a.log.Warn("sending status updates failed; retrying", "pending", len(pending), "err", err, "retry_in", d.String())
			retry.Reset(d)
			continue
		}
		if len(ack.Acked) == 0 {
			// The master answered but acknowledged nothing: try again
			// later without hammering it.
			d := b.next()
			a.log.Warn("the master acknowledged none of the status updates; retrying", "pending", len(pending), "retry_in", d.String())
			retry.Reset(d)
			continue
		}
		b.reset()
		if len(a.journal.Pending(1)) > 0 {
			a.pokeSender()
		}
	}
}
