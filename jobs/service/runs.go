package service

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/store"
	"github.com/google/uuid"
)

// Causes of a run.
const (
	causeSchedule = "schedule"
	causeManual   = "manual"
	causeParents  = "parents"
)

// Run states of an Inflight.
const (
	runQueued  = "queued"
	runStaging = "staging"
	runRunning = "running"
)

// Inflight is a claimed run not finished yet. It is stored with its job
// before its task is launched: a leader that takes over finds it, adopts
// the task when the master has it, and launches it otherwise — an
// occurrence runs once.
type Inflight struct {
	TaskID  string `json:"taskId"`
	Due     string `json:"due"`
	Attempt int    `json:"attempt"`
	Manual  bool   `json:"manual,omitempty"`
	// Cause is why the run exists: schedule, manual or parents.
	Cause     string   `json:"cause,omitempty"`
	Arguments []string `json:"arguments,omitempty"`
	State     string   `json:"state"`
	NotBefore string   `json:"notBefore,omitempty"`
	Queued    string   `json:"queued"`
	Launched  string   `json:"launched,omitempty"`
	Started   string   `json:"started,omitempty"`
	Agent     string   `json:"agent,omitempty"`
	Host      string   `json:"host,omitempty"`
	// Message says why a queued run is not running (the placement
	// explanation, the queue's capacity, a retry delay).
	Message string `json:"message,omitempty"`
	Killed  bool   `json:"killed,omitempty"`
	// Preempted is set when the allocator took the run's capacity back
	// for a queue below its guarantee: it is queued again, not counted.
	Preempted bool  `json:"preempted,omitempty"`
	Seq       int64 `json:"seq"`
}

// Run runs the scheduler loop until ctx ends (the master runs it while it
// leads).
func (s *Service) Run(ctx context.Context) error {
	if s.cfg.Launcher == nil {
		<-ctx.Done()
		return nil
	}
	s.killStrays(ctx)
	t := time.NewTimer(s.cfg.Tick)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("jobs: scheduler tick", "err", err)
		}
		t.Reset(s.untilNext())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// untilNext is the wait before the next tick: the tick period, or less
// when an occurrence falls due sooner (a run starts on time, not up to a
// tick late).
func (s *Service) untilNext() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.cfg.Tick
	if _, due, ok := s.tl.Peek(); ok {
		d = min(d, max(due.Sub(s.cfg.Now()), 0))
	}
	return d
}

// tick is the state of one pass: which records and dependency edges to
// write.
type tick struct {
	now   time.Time
	dirty map[string]bool
	ops   []store.Op
}

// Tick is one pass: fold task results in, claim due occurrences, follow
// task states, persist, then launch what the queues allow.
func (s *Service) Tick(ctx context.Context) error {
	l := s.cfg.Launcher
	res := s.takeResults()
	if len(res) > 0 {
		if err := l.Sync(ctx); err != nil {
			s.inMu.Lock()
			s.inbox = append(res, s.inbox...)
			s.inMu.Unlock()
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := &tick{now: s.cfg.Now(), dirty: map[string]bool{}}
	for _, r := range res {
		s.applyResult(tk, r)
	}
	s.claimDue(tk)
	s.follow(ctx, tk)
	if err := s.flush(ctx, tk); err != nil {
		return err
	}
	s.launchQueued(ctx, tk)
	return s.flush(ctx, tk)
}

// flush writes the dirty records and queued ops.
func (s *Service) flush(ctx context.Context, tk *tick) error {
	ops := tk.ops
	for name := range tk.dirty {
		r := s.jobs[name]
		if r == nil {
			continue
		}
		r.State = jobState(r)
		op, err := putRecord(r)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	tk.ops, tk.dirty = nil, map[string]bool{}
	if len(ops) == 0 {
		return nil
	}
	if err := s.cfg.Store.Apply(ctx, ops...); err != nil {
		return fmt.Errorf("jobs: store: %w", err)
	}
	return nil
}

func jobState(r *record) string {
	st := "idle"
	for _, in := range r.Inflight {
		if in.State != runQueued {
			return "running"
		}
		st = "queued"
	}
	return st
}

// enqueue claims a run of r due at due.
func (s *Service) enqueue(tk *tick, r *record, due time.Time, cause string, args []string) {
	s.seq++
	in := &Inflight{Due: jobs.FormatTime(due), Manual: cause == causeManual, Cause: cause, Arguments: args, State: runQueued,
		Queued: jobs.FormatTime(tk.now), Seq: s.seq}
	in.TaskID = taskID(r.Job.Name, due, 0)
	r.Inflight = append(r.Inflight, in)
	s.runs[in.TaskID] = r.Job.Name
	tk.dirty[r.Job.Name] = true
	s.waiting.Store(true) // for DRF until the next launch says otherwise
	if s.graph != nil {
		s.applyDeps(tk, s.graph.ChildStarted(r.Job.Name))
	}
}

// taskID is "ct-<job>.<due ms>.<attempt>.<random>": a valid container
// name, unique per attempt.
func taskID(name string, due time.Time, attempt int) string {
	return "ct-" + name + "." + strconv.FormatInt(due.UnixMilli(), 10) + "." + strconv.Itoa(attempt) + "." + uuid.NewString()[:8]
}

func (s *Service) applyDeps(tk *tick, changes map[jobs.Edge]bool) {
	for e, v := range changes {
		key := e.Parent + " " + e.Child
		if v {
			tk.ops = append(tk.ops, store.Put(BucketDeps, key, []byte("1")))
		} else if s.deps[e] {
			tk.ops = append(tk.ops, store.Del(BucketDeps, key))
		}
	}
	s.deps.Apply(changes)
}

// claimDue consumes the due occurrences of the scheduled jobs.
func (s *Service) claimDue(tk *tick) {
	for _, name := range s.tl.PopDue(tk.now, nil) {
		r := s.jobs[name]
		if r == nil {
			continue
		}
		sch, err := jobs.ParseSchedule(r.Job.Schedule, r.Job.ScheduleTimeZone, tk.now)
		if err != nil {
			continue
		}
		var eps time.Duration
		if p, err := jobs.ParsePeriod(r.Job.Epsilon); err == nil {
			eps = p.Approx()
		}
		st := sch.StepAt(tk.now, eps)
		if st.Skipped > 0 {
			msg := "missed by more than epsilon " + r.Job.Epsilon
			if st.Skipped > 1 {
				msg = fmt.Sprintf("%d occurrences from %s missed by more than epsilon %s", st.Skipped,
					jobs.FormatTime(st.SkippedFirst), r.Job.Epsilon)
			}
			s.addHistory(r, Run{Due: jobs.FormatTime(st.SkippedLast), Status: "skipped", Skipped: st.Skipped, Message: msg})
		}
		if !st.Run.IsZero() {
			if !r.Job.Concurrent && len(r.Inflight) > 0 {
				s.addHistory(r, Run{Due: jobs.FormatTime(st.Run), Status: "skipped", Skipped: 1,
					Message: "the previous run is still in flight (concurrent: false)"})
			} else {
				s.enqueue(tk, r, st.Run, causeSchedule, nil)
			}
		}
		r.Job.Schedule = st.Rest.String()
		tk.dirty[name] = true
		if !st.Rest.Done() {
			s.tl.Set(name, st.Rest.Start)
		}
	}
}

func (s *Service) addHistory(r *record, run Run) {
	r.History = append(r.History, run)
	if n := len(r.History) - s.cfg.HistoryLimit; n > 0 {
		r.History = append([]Run(nil), r.History[n:]...)
	}
}

// follow moves launched runs to running as their tasks start, and kills
// a run past its job's maxCompletionTime (seconds; it ends as a failure).
func (s *Service) follow(ctx context.Context, tk *tick) {
	for id, name := range s.runs {
		in := s.inflight(name, id)
		if in == nil || in.State == runQueued {
			continue
		}
		if in.State == runStaging {
			if ti, ok := s.cfg.Launcher.Task(id); ok && ti.State == wire.TaskRunning {
				in.State, in.Started = runRunning, ti.StartedAt
				tk.dirty[name] = true
			} else if l, err := time.Parse(time.RFC3339Nano, in.Launched); err == nil && ok &&
				ti.State == wire.TaskStaging && tk.now.Sub(l) > LaunchTimeout && in.Message != msgNoStart {
				// its agent never reported it: kill it (a failure, retried)
				in.Message = msgNoStart
				tk.dirty[name] = true
				if err := s.cfg.Launcher.Kill(ctx, id); err != nil {
					s.log.Warn("jobs: killing a run that never started", "task", id, "err", err)
				}
			}
		}
		r := s.jobs[name]
		if in.State != runRunning || r.Job.MaxCompletionTime <= 0 || in.Message == msgOvertime {
			continue
		}
		if st, err := time.Parse(time.RFC3339Nano, in.Started); err == nil &&
			tk.now.Sub(st) > time.Duration(r.Job.MaxCompletionTime)*time.Second {
			in.Message = msgOvertime
			tk.dirty[name] = true
			if err := s.cfg.Launcher.Kill(ctx, id); err != nil {
				s.log.Warn("jobs: killing an overdue run", "task", id, "err", err)
			}
		}
	}
}

const (
	msgOvertime = "killed: ran longer than maxCompletionTime"
	msgNoStart  = "killed: its agent did not start it within the launch timeout"
)

// LaunchTimeout is how long a launched run may stay unreported by its
// agent (the master's task launch timeout for apps).
const LaunchTimeout = 5 * time.Minute

func (s *Service) inflight(name, id string) *Inflight {
	if r := s.jobs[name]; r != nil {
		for _, in := range r.Inflight {
			if in.TaskID == id {
				return in
			}
		}
	}
	return nil
}

// killStrays kills the job tasks the master has that no stored run owns
// (a job deleted while its run was in flight, its kill lost with the
// leader): a leader starting its term owns every job task there is.
func (s *Service) killStrays(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.cfg.Launcher.JobTasks() {
		if _, ok := s.runs[id]; ok {
			continue
		}
		s.log.Info("jobs: killing a task no run owns", "task", id)
		if err := s.cfg.Launcher.Kill(ctx, id); err != nil {
			s.log.Warn("jobs: killing a stray task", "task", id, "err", err)
		}
	}
}
