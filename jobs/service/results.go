package service

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/chronos"
	"github.com/berth-platform/berth/placement/store"
)

// applyResult folds one task result into its job: history, counters,
// a retry after a failure, and the dependents a success makes ready.
// The stored result is deleted in the same write.
func (s *Service) applyResult(tk *tick, res Result) {
	tk.ops = append(tk.ops, store.Del(BucketResults, res.TaskID))
	name, ok := s.runs[res.TaskID]
	if !ok {
		return // already counted, or its job is gone
	}
	r, in := s.jobs[name], s.inflight(name, res.TaskID)
	delete(s.runs, res.TaskID)
	if r == nil || in == nil {
		return
	}
	tk.dirty[name] = true
	run := runOf(in, res, tk.now)
	success := res.State == wire.TaskFinished && (res.Exit == nil || *res.Exit == 0)
	if r.Job.Async && success && !res.Callback {
		// an async job's run ends with its completion callback
		s.runs[res.TaskID] = name
		in.State, in.Message, in.Host, in.Started = runRunning, msgAsync, run.Agent, run.Started
		return
	}
	if in.Preempted && !success {
		run.Status, run.Message = "preempted", "killed to return lent capacity; queued again"
		s.addHistory(r, run)
		s.requeue(tk, r, in, in.Attempt)
		return
	}
	count(r, &run, success, in.Killed)
	s.addHistory(r, run)
	if run.Status == "failure" && in.Attempt < r.Job.Retries {
		s.retry(tk, r, in)
		return
	}
	s.removeInflight(r, res.TaskID)
	if run.Status != "killed" {
		s.fireChildren(tk, name, success || r.Job.SoftError)
	}
}

// runOf is the history entry of a finished attempt.
func runOf(in *Inflight, res Result, now time.Time) Run {
	ended := res.Ended
	if ended.IsZero() {
		ended = now
	}
	started := in.Started
	if started == "" {
		started = res.StartedAt
	}
	run := Run{Due: in.Due, Started: started, Ended: jobs.FormatTime(ended), Exit: res.Exit, Agent: res.Host, AgentID: res.Agent,
		TaskID: res.TaskID, Attempt: in.Attempt, Manual: in.Manual, Cause: in.Cause, Message: res.Message}
	if in.Message == msgOvertime || in.Message == msgNoStart {
		run.Message = in.Message
	}
	if run.Agent == "" {
		run.Agent = in.Host
	}
	if t, err := time.Parse(time.RFC3339Nano, started); err == nil {
		run.Duration = ended.Sub(t).Seconds()
	}
	return run
}

// count sets the run's status and the job's counters.
func count(r *record, run *Run, success, killed bool) {
	switch {
	case success:
		run.Status = "success"
		zero := 0
		run.Exit = &zero
		r.Job.SuccessCount++
		r.Job.LastSuccess = run.Ended
		r.Job.ErrorsSinceLastSuccess = 0
	case killed:
		run.Status = "killed"
	default:
		run.Status = "failure"
		r.Job.ErrorCount++
		r.Job.LastError = run.Ended
		r.Job.ErrorsSinceLastSuccess++
	}
}

// retry queues the next attempt of a failed run after the retry delay.
func (s *Service) retry(tk *tick, r *record, in *Inflight) {
	s.requeue(tk, r, in, in.Attempt+1)
	in.NotBefore = jobs.FormatTime(tk.now.Add(s.cfg.RetryDelay))
	in.Message = "retry " + strconv.Itoa(in.Attempt) + " of " + strconv.Itoa(r.Job.Retries) + " after " + s.cfg.RetryDelay.String()
}

// requeue puts a run back in its queue as attempt, with a new task id.
func (s *Service) requeue(tk *tick, r *record, in *Inflight, attempt int) {
	delete(s.runs, in.TaskID)
	due, _ := time.Parse(time.RFC3339Nano, in.Due)
	in.Attempt = attempt
	in.TaskID = taskID(r.Job.Name, due, in.Attempt)
	in.State, in.Started, in.Launched, in.Agent, in.Host, in.Message = runQueued, "", "", "", "", ""
	in.Preempted, in.NotBefore = false, ""
	s.runs[in.TaskID] = r.Job.Name
	tk.dirty[r.Job.Name] = true
}

func (s *Service) removeInflight(r *record, id string) {
	out := r.Inflight[:0]
	for _, in := range r.Inflight {
		if in.TaskID != id {
			out = append(out, in)
		}
	}
	r.Inflight = out
	if len(out) == 0 {
		r.Inflight = nil
	}
}

// killInflight kills the tasks of r's runs and forgets them (the job is
// being deleted or its runs killed).
func (s *Service) killInflight(ctx context.Context, r *record) {
	for _, in := range r.Inflight {
		delete(s.runs, in.TaskID)
		if in.State != runQueued && s.cfg.Launcher != nil {
			if err := s.cfg.Launcher.Kill(ctx, in.TaskID); err != nil {
				s.log.Warn("jobs: killing", "task", in.TaskID, "err", err)
			}
		}
	}
}

// RunNow queues a manual run of a job (PUT job/{name}); arguments are
// added to the job's for this run.
func (s *Service) RunNow(ctx context.Context, name string, args []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.jobs[name]
	if !ok {
		return errUnknown(name)
	}
	tk := &tick{now: s.cfg.Now(), dirty: map[string]bool{}}
	s.enqueue(tk, r, tk.now, causeManual, args)
	if err := s.flush(ctx, tk); err != nil {
		return err
	}
	s.Wake()
	return nil
}

// KillRuns kills every queued and running run of a job (DELETE
// task/kill/{name}): queued ones are dropped, running ones end as killed
// (no retry, no dependents).
func (s *Service) KillRuns(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.jobs[name]
	if !ok {
		return errUnknown(name)
	}
	tk := &tick{now: s.cfg.Now(), dirty: map[string]bool{name: true}}
	var keep []*Inflight
	for _, in := range r.Inflight {
		if in.State == runQueued {
			delete(s.runs, in.TaskID)
			s.addHistory(r, Run{Due: in.Due, Status: "killed", TaskID: in.TaskID, Attempt: in.Attempt, Manual: in.Manual,
				Ended: jobs.FormatTime(tk.now), Message: "killed while queued"})
			continue
		}
		in.Killed = true
		keep = append(keep, in)
		if s.cfg.Launcher != nil {
			if err := s.cfg.Launcher.Kill(ctx, in.TaskID); err != nil {
				return fmt.Errorf("jobs: kill %s: %w", in.TaskID, err)
			}
		}
	}
	r.Inflight = keep
	return s.flush(ctx, tk)
}

// History returns a job's runs, oldest first, and its in-flight runs.
func (s *Service) History(name string) ([]Run, []Inflight, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.jobs[name]
	if !ok {
		return nil, nil, false
	}
	hist := append([]Run{}, r.History...)
	var in []Inflight
	for _, i := range r.Inflight {
		in = append(in, *i)
	}
	sort.Slice(in, func(a, b int) bool { return in[a].Seq < in[b].Seq })
	return hist, in, true
}

// TaskAgent returns the agent id of a job run's task, in flight or in
// the history.
func (s *Service) TaskAgent(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name, ok := s.runs[id]; ok {
		if in := s.inflight(name, id); in != nil && in.Agent != "" {
			return in.Agent, true
		}
	}
	name, ok := jobOfTask(id)
	if r := s.jobs[name]; ok && r != nil {
		for _, run := range r.History {
			if run.TaskID == id && run.AgentID != "" {
				return run.AgentID, true
			}
		}
	}
	return "", false
}

// jobOfTask is the job name in a task id "ct-<job>.<ms>.<attempt>.<rand>"
// (a job name may hold dots).
func jobOfTask(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, "ct-")
	if !ok {
		return "", false
	}
	for i := 0; i < 3; i++ {
		j := strings.LastIndexByte(rest, '.')
		if j < 0 {
			return "", false
		}
		rest = rest[:j]
	}
	return rest, rest != ""
}

// MarkSuccess records a success by hand (PUT job/success/{name}), as if
// a run had succeeded now: counters, history and the dependents.
func (s *Service) MarkSuccess(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.jobs[name]
	if !ok {
		return errUnknown(name)
	}
	tk := &tick{now: s.cfg.Now(), dirty: map[string]bool{name: true}}
	now := jobs.FormatTime(tk.now)
	r.Job.SuccessCount++
	r.Job.LastSuccess, r.Job.ErrorsSinceLastSuccess = now, 0
	s.addHistory(r, Run{Due: now, Ended: now, Status: "success", Manual: true, Message: "marked successful by hand"})
	s.fireChildren(tk, name, true)
	if err := s.flush(ctx, tk); err != nil {
		return err
	}
	s.Wake()
	return nil
}

// fireChildren applies a parent's final result to the dependency state
// and queues the children it makes ready.
func (s *Service) fireChildren(tk *tick, name string, ok bool) {
	if s.graph == nil {
		return
	}
	ready, changes := s.graph.ParentFinished(s.deps, name, ok)
	s.applyDeps(tk, changes)
	for _, c := range ready {
		cr := s.jobs[c]
		if cr == nil || cr.Job.Disabled || (!cr.Job.Concurrent && len(cr.Inflight) > 0) {
			continue
		}
		s.enqueue(tk, cr, tk.now, causeParents, nil)
	}
}

const msgAsync = "the task ended; waiting for the job's completion callback (async)"

// Complete is an async job's completion callback (PUT /scheduler/task/
// {taskId} with {"statusCode":N}; 0 is success): it ends the run as its
// task's end would for a job that is not async.
func (s *Service) Complete(ctx context.Context, taskID string, code int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.runs[taskID]; !ok {
		return &chronos.Error{Field: "taskId", Message: fmt.Sprintf("no run in flight has task %q", taskID)}
	}
	tk := &tick{now: s.cfg.Now(), dirty: map[string]bool{}}
	state := wire.TaskFinished
	if code != 0 {
		state = wire.TaskFailed
	}
	s.applyResult(tk, Result{TaskID: taskID, State: state, Exit: &code, Ended: tk.now, Callback: true,
		Message: "completion callback statusCode " + strconv.Itoa(code)})
	if err := s.flush(ctx, tk); err != nil {
		return err
	}
	s.Wake()
	return nil
}
