package service

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/berth-platform/berth/jobs"
)

// queuedRun is a queued run with its job, for the allocator.
type queuedRun struct {
	r  *record
	in *Inflight
}

// launchQueued asks the queue allocator which queued runs may start and
// launches them through the placement core.
func (s *Service) launchQueued(ctx context.Context, tk *tick) {
	if len(s.runs) == 0 {
		// Nothing queued or running: the capacity (a pass over every
		// agent and task under the master's lock) is not needed.
		s.waiting.Store(false)
		s.used = jobs.Allocate(s.cfg.Queues, nil, nil, 0).Used
		return
	}
	capa := s.cfg.Launcher.Capacity()
	running, pending, byID := s.collect(tk, capa)
	s.waiting.Store(false)
	if len(pending) == 0 {
		s.used = jobs.Allocate(s.cfg.Queues, running, nil, 0).Used
		return
	}
	if capa.CPUs <= 0 || capa.Mem <= 0 {
		s.explain(tk, byID, "no agent is registered")
		return
	}
	if capa.Held != "" {
		s.used = jobs.Allocate(s.cfg.Queues, running, nil, 0).Used
		s.explain(tk, byID, capa.Held)
		s.waiting.Store(true)
		return
	}
	free := min(capa.FreeCPUs/capa.CPUs, capa.FreeMem/capa.Mem)
	if capa.Room > 0 && capa.Room < free {
		free = max(capa.Room, minDemand(pending)) // DRF with apps (jobs.ShareTurn); at least one run
	}
	a := jobs.Allocate(s.cfg.Queues, running, pending, free+1e-9)
	s.used = a.Used
	s.preempt(ctx, tk, a.Preempt)
	var batch []Launch
	var order []queuedRun
	for _, p := range a.Launch {
		q := byID[p.ID]
		batch = append(batch, Launch{Spec: TaskSpec(&q.r.Job, q.in), Constraints: Constraints(&q.r.Job)})
		order = append(order, q)
		delete(byID, p.ID)
	}
	s.explain(tk, byID, "")
	s.waiting.Store(starved(pending, byID, free))
	if len(batch) == 0 {
		return
	}
	placed, err := s.cfg.Launcher.Launch(ctx, batch)
	if err != nil {
		s.log.Warn("jobs: launching runs", "err", err)
		return
	}
	for i, p := range placed {
		q := order[i]
		tk.dirty[q.r.Job.Name] = true
		if !p.OK {
			q.in.Message = p.Why
			if strings.Contains(p.Why, "insufficient") {
				s.waiting.Store(true)
			}
			continue
		}
		q.in.State, q.in.Agent, q.in.Host, q.in.Message, q.in.NotBefore = runStaging, p.Agent, p.Host, "", ""
		q.in.Launched = jobs.FormatTime(tk.now)
		s.log.Info("jobs: run launched", "job", q.r.Job.Name, "task", q.in.TaskID, "host", p.Host, "due", q.in.Due)
	}
}

func minDemand(pending []jobs.Pending) float64 {
	d := math.Inf(1)
	for _, p := range pending {
		d = min(d, p.Demand)
	}
	return d
}

// starved reports whether a run left queued needs more than the free
// capacity (it waits for the cluster, not for its queue's maximum).
func starved(pending []jobs.Pending, left map[string]queuedRun, free float64) bool {
	for _, p := range pending {
		if _, ok := left[p.ID]; ok && p.Demand > free {
			return true
		}
	}
	return false
}

// collect is the allocator's input: the runs holding capacity and those
// waiting for it (past any retry delay), each with its demand — its
// dominant share of the live agents' cpus and mem.
func (s *Service) collect(tk *tick, capa Capacity) ([]jobs.Running, []jobs.Pending, map[string]queuedRun) {
	demand := func(r *record) float64 {
		d := 0.0
		if capa.CPUs > 0 {
			d = r.Job.CPUs / capa.CPUs
		}
		if capa.Mem > 0 {
			d = max(d, r.Job.Mem/capa.Mem)
		}
		return d
	}
	var running []jobs.Running
	var pending []jobs.Pending
	byID := map[string]queuedRun{}
	for id, name := range s.runs {
		r := s.jobs[name]
		in := s.inflight(name, id)
		if r == nil || in == nil {
			continue
		}
		if in.State != runQueued {
			running = append(running, jobs.Running{ID: id, Queue: r.Job.Queue, Demand: demand(r), Seq: in.Seq})
			continue
		}
		if in.NotBefore != "" {
			if nb, err := time.Parse(time.RFC3339Nano, in.NotBefore); err == nil && tk.now.Before(nb) {
				continue
			}
		}
		pending = append(pending, jobs.Pending{ID: id, Queue: r.Job.Queue, Demand: demand(r), Priority: r.Job.HighPriority, Seq: in.Seq})
		byID[id] = queuedRun{r, in}
	}
	return running, pending, byID
}

// preempt kills the runs the allocator takes back (once each).
func (s *Service) preempt(ctx context.Context, tk *tick, ids []string) {
	for _, id := range ids {
		name := s.runs[id]
		if in := s.inflight(name, id); in != nil && !in.Preempted {
			in.Preempted = true
			tk.dirty[name] = true
			s.log.Info("jobs: preempting a run to return lent capacity", "job", name, "task", id)
			if err := s.cfg.Launcher.Kill(ctx, id); err != nil {
				s.log.Warn("jobs: preempting", "task", id, "err", err)
			}
		}
	}
}

// explain records why queued runs were not launched (their queue has no
// free capacity, unless a reason is given); only a change is written.
func (s *Service) explain(tk *tick, waiting map[string]queuedRun, why string) {
	for _, q := range waiting {
		msg := why
		if msg == "" {
			msg = "waiting for capacity in queue " + q.r.Job.Queue
		}
		if q.in.Message != msg && !strings.HasPrefix(q.in.Message, "unplaced") {
			q.in.Message = msg
			tk.dirty[q.r.Job.Name] = true
		}
	}
}
