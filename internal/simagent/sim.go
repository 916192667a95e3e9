package simagent

import (
	"context"
	"errors"
	"time"

	"github.com/berth-platform/berth/agent"
	"github.com/berth-platform/berth/internal/wire"
)

// sim is one simulated agent: its id, its running tasks and its status
// sequence. Only its own goroutine touches it.
type sim struct {
	f       *Fleet
	i       int
	host    string
	id      string
	seq     uint64
	running map[string]wire.TaskStatus
}

func (s *sim) run(ctx context.Context) {
	retry := 200 * time.Millisecond
	for ctx.Err() == nil {
		reg, err := s.register(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.f.errorCount.Add(1)
				s.f.cfg.Log.Debug("simulated agent: registration failed; retrying", "agent", s.host, "err", err, "retry_in", retry.String())
				sleep(ctx, retry)
				retry = min(2*retry, 5*time.Second)
			}
			continue
		}
		retry = 200 * time.Millisecond
		s.f.registered.Add(1)
		s.poll(ctx, reg)
		s.f.registered.Add(-1)
	}
	s.f.running.Add(-int64(len(s.running)))
}

func (s *sim) register(ctx context.Context) (wire.Registered, error) {
	reg := wire.Registration{ID: s.id, Hostname: s.host, AdvertiseIP: "127.0.0.1",
		Resources: s.f.cfg.Resources, Version: "simulated", Tasks: make([]wire.TaskStatus, 0, len(s.running))}
	if s.f.cfg.Attributes != nil {
		reg.Attributes = s.f.cfg.Attributes(s.i)
	}
	for _, st := range s.running {
		reg.Tasks = append(reg.Tasks, st)
	}
	out, err := s.f.cfg.Master.Register(ctx, reg)
	if err == nil {
		s.id = out.ID
	}
	return out, err
}

// poll long-polls the desired set and applies each answer until the master
// forgets the agent or ctx ends.
func (s *sim) poll(ctx context.Context, reg wire.Registered) {
	wait := s.f.cfg.PollWait
	if wait <= 0 {
		wait = 30 * time.Second
		if hb := time.Duration(reg.HeartbeatSeconds * float64(time.Second)); hb > 0 && hb/2 < wait {
			wait = hb / 2
		}
	}
	var index uint64
	var epoch string
	for ctx.Err() == nil {
		d, err := s.f.cfg.Master.Desired(ctx, s.id, index, epoch, wait)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, agent.ErrUnknownAgent) {
			return
		}
		if err != nil {
			s.f.errorCount.Add(1)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		s.f.polls.Add(1)
		if d.Unchanged && epoch != "" && d.Epoch == epoch {
			index = d.Index
			continue
		}
		index, epoch = d.Index, d.Epoch
		if !s.apply(ctx, d) {
			return
		}
	}
}

// apply runs the plan for one desired set and reports it; false when the
// master no longer knows the agent.
func (s *sim) apply(ctx context.Context, d wire.Desired) bool {
	running := make(map[string]bool, len(s.running))
	for id := range s.running {
		running[id] = true
	}
	start, stop := Plan(running, d)
	if len(start)+len(stop) == 0 {
		return true
	}
	now := s.f.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	updates := make([]wire.TaskStatus, 0, len(start)+len(stop))
	for _, t := range start {
		s.seq++
		st := wire.TaskStatus{Seq: s.seq, TaskID: t.TaskID, AppID: t.AppID, State: wire.TaskRunning,
			Timestamp: now, Host: s.host, IPAddress: "127.0.0.1", HostPorts: hostPorts(t)}
		s.running[t.TaskID] = st
		updates = append(updates, st)
	}
	for _, id := range stop {
		s.seq++
		st := s.running[id]
		st.Seq, st.State, st.Timestamp, st.Message = s.seq, wire.TaskKilled, now, "killed by the simulated runtime"
		delete(s.running, id)
		updates = append(updates, st)
	}
	s.f.running.Add(int64(len(start) - len(stop)))
	return s.report(ctx, updates)
}

// report posts updates in batches of at most 500 until each is acked.
func (s *sim) report(ctx context.Context, updates []wire.TaskStatus) bool {
	for len(updates) > 0 && ctx.Err() == nil {
		n := min(len(updates), 500)
		ack, err := s.f.cfg.Master.Status(ctx, s.id, wire.StatusBatch{Updates: updates[:n]})
		if errors.Is(err, agent.ErrUnknownAgent) {
			return false
		}
		if err != nil || len(ack.Acked) == 0 {
			s.f.errorCount.Add(1)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		s.f.posts.Add(1)
		s.f.updates.Add(int64(len(ack.Acked)))
		acked := make(map[uint64]bool, len(ack.Acked))
		for _, q := range ack.Acked {
			acked[q] = true
		}
		rest := updates[:0]
		for _, u := range updates {
			if !acked[u.Seq] {
				rest = append(rest, u)
			}
		}
		updates = rest
	}
	return true
}

func hostPorts(t wire.TaskSpec) []int {
	var out []int
	for _, p := range t.Ports {
		if p.HostPort != 0 {
			out = append(out, p.HostPort)
		}
	}
	return out
}
