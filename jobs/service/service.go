package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/chronos"
	"github.com/berth-platform/berth/placement/store"
)

// Buckets of the master's store the job service owns.
const (
	BucketJobs = "jobs"
	BucketDeps = "jobdeps"
)

// Store is the part of the master's store the service uses.
type Store interface {
	List(ctx context.Context, bucket, prefix string) ([]store.KV, error)
	Apply(ctx context.Context, ops ...store.Op) error
}

// Config configures a Service.
type Config struct {
	Store    Store
	Queues   *jobs.Tree // nil = jobs.DefaultQueues()
	Defaults chronos.Defaults
	Now      func() time.Time
	Logger   *slog.Logger
	// Leader is the leader's host:port for GET …/leader.
	Leader func() string
	// HistoryLimit is how many runs are kept per job (default 20).
	HistoryLimit int
	// Launcher runs the jobs (nil: jobs are stored but never run).
	Launcher Launcher
	// Tick is the scheduler loop's period (default 250 ms); results and
	// manual runs wake it at once.
	Tick time.Duration
	// RetryDelay is the wait before a failed run's retry (default 60 s,
	// Chronos' --failure_retry).
	RetryDelay time.Duration
}

// Run is one entry of a job's history.
type Run struct {
	Due      string  `json:"due"`
	Started  string  `json:"started,omitempty"`
	Ended    string  `json:"ended,omitempty"`
	Status   string  `json:"status"` // queued, running, success, failure, skipped
	Exit     *int    `json:"exitStatus,omitempty"`
	Agent    string  `json:"agent,omitempty"` // its hostname
	AgentID  string  `json:"agentId,omitempty"`
	TaskID   string  `json:"taskId,omitempty"`
	Attempt  int     `json:"attempt"`
	Manual   bool    `json:"manual,omitempty"`
	Cause    string  `json:"cause,omitempty"`   // schedule, manual or parents
	Skipped  int     `json:"skipped,omitempty"` // occurrences skipped by epsilon
	Message  string  `json:"message,omitempty"`
	Duration float64 `json:"durationSeconds,omitempty"`
}

// record is one job as stored.
type record struct {
	Job     chronos.Job `json:"job"`
	State   string      `json:"state"` // idle, queued, running
	History []Run       `json:"history"`
	// Inflight are the runs claimed and not finished: queued (waiting
	// for capacity or a retry delay), staging or running.
	Inflight []*Inflight `json:"inflight,omitempty"`
}

// Service holds the jobs in memory, written through the store.
type Service struct {
	cfg  Config
	log  *slog.Logger
	mu   sync.Mutex
	jobs map[string]*record
	deps jobs.DepState
	tl   jobs.Timeline
	// runs maps an in-flight task id to its job.
	runs map[string]string
	// graph is the dependency graph of the stored jobs.
	graph *jobs.Graph
	seq   int64
	wake  chan struct{}
	// used is each queue's share of the job capacity held by running
	// runs, as of the last tick.
	used map[string]float64
	// waiting is set when a run is queued and when the last launch left
	// runs queued for lack of resources (read by the master, without
	// s.mu, for DRF).
	waiting atomic.Bool

	inMu  sync.Mutex
	inbox []Result
	// doneResults are stored results already folded in (deleted with the
	// next write).
	doneResults []string
}

// Waiting reports whether runs were queued since the last launch or it
// left runs queued for lack of resources (the cluster's, not a queue's
// maximum); safe to call with the master's lock held.
func (s *Service) Waiting() bool { return s.waiting.Load() }

// Weights weigh apps against jobs (the queue file's clusterShare).
func (s *Service) Weights() jobs.ShareWeights { return s.cfg.Queues.Weights }

// New loads the jobs from the store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg.fill()
	s := &Service{cfg: cfg, log: cfg.Logger, jobs: map[string]*record{}, deps: jobs.DepState{},
		runs: map[string]string{}, wake: make(chan struct{}, 1)}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Config) fill() {
	if c.Queues == nil {
		c.Queues = jobs.DefaultQueues()
	}
	if c.Defaults == (chronos.Defaults{}) {
		c.Defaults = chronos.DefaultDefaults
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HistoryLimit <= 0 {
		c.HistoryLimit = 20
	}
	if c.Tick <= 0 {
		c.Tick = 250 * time.Millisecond
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 60 * time.Second
	}
}

// load reads the jobs (with their in-flight runs), the task results not
// yet counted and the dependency edges.
func (s *Service) load(ctx context.Context) error {
	st := s.cfg.Store
	kvs, err := st.List(ctx, BucketJobs, "")
	if err != nil {
		return fmt.Errorf("jobs: load: %w", err)
	}
	for _, kv := range kvs {
		var r record
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return fmt.Errorf("jobs: load %s: %w", kv.Key, err)
		}
		s.jobs[r.Job.Name] = &r
		s.schedule(&r)
		for _, in := range r.Inflight {
			s.runs[in.TaskID] = r.Job.Name
			s.seq = max(s.seq, in.Seq)
		}
	}
	results, err := st.List(ctx, BucketResults, "")
	if err != nil {
		return fmt.Errorf("jobs: load task results: %w", err)
	}
	for _, kv := range results {
		var res Result
		if err := json.Unmarshal(kv.Value, &res); err == nil {
			s.inbox = append(s.inbox, res)
		}
	}
	if s.graph, err = s.graphWith(nil, ""); err != nil {
		s.log.Warn("jobs: stored dependency graph", "err", err)
		s.graph, _ = jobs.NewGraph(nil)
	}
	deps, err := st.List(ctx, BucketDeps, "")
	if err != nil {
		return fmt.Errorf("jobs: load dependency state: %w", err)
	}
	for _, kv := range deps {
		if p, c, ok := strings.Cut(kv.Key, " "); ok {
			s.deps[jobs.Edge{Parent: p, Child: c}] = true
		}
	}
	return nil
}

// schedule puts a scheduled, enabled job on the timeline.
func (s *Service) schedule(r *record) {
	s.tl.Remove(r.Job.Name)
	if r.Job.Schedule == "" || r.Job.Disabled {
		return
	}
	sch, err := jobs.ParseSchedule(r.Job.Schedule, r.Job.ScheduleTimeZone, s.cfg.Now())
	if err != nil || sch.Done() {
		return
	}
	s.tl.Set(r.Job.Name, sch.Start)
}

func putRecord(r *record) (store.Op, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return store.Op{}, err
	}
	return store.Put(BucketJobs, r.Job.Name, b), nil
}

// graphWith returns the dependency graph with job j replaced (or removed
// when j is nil and name is set).
func (s *Service) graphWith(j *chronos.Job, remove string) (*jobs.Graph, error) {
	parents := map[string][]string{}
	for n, r := range s.jobs {
		if n != remove {
			parents[n] = r.Job.Parents
		}
	}
	if j != nil {
		parents[j.Name] = j.Parents
	}
	return jobs.NewGraph(parents)
}

// Put creates or replaces a job from a request body; dependent is true for
// POST /dependency. A bad body changes nothing.
func (s *Service) Put(ctx context.Context, body []byte, dependent bool) error {
	j, err := chronos.Decode(body)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if err := j.Normalize(s.cfg.Defaults, dependent, now); err != nil {
		return err
	}
	leaf, err := s.cfg.Queues.Resolve(j.Queue)
	if err != nil {
		return &chronos.Error{Field: "queue", Message: strings.TrimPrefix(err.Error(), "queue: ")}
	}
	j.Queue = leaf
	if j.Schedule != "" {
		sch, _ := jobs.ParseSchedule(j.Schedule, j.ScheduleTimeZone, now)
		j.Schedule = sch.Rebase(now).String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, existed := s.jobs[j.Name]
	exists := func(n string) bool { _, ok := s.jobs[n]; return ok }
	if err := s.graph.Set(j.Name, j.Parents, exists); err != nil {
		return &chronos.Error{Field: "parents", Message: strings.TrimPrefix(err.Error(), "parents: ")}
	}
	undo := func() {
		if existed {
			_ = s.graph.Set(j.Name, old.Job.Parents, func(string) bool { return true })
		} else {
			s.graph.Remove(j.Name, false)
		}
	}
	r := &record{Job: *j, State: "idle"}
	if existed {
		r.State, r.History, r.Inflight = old.State, old.History, old.Inflight
		// counters are the service's, not the client's, once a job exists
		r.Job.SuccessCount, r.Job.ErrorCount = old.Job.SuccessCount, old.Job.ErrorCount
		r.Job.LastSuccess, r.Job.LastError = old.Job.LastSuccess, old.Job.LastError
		r.Job.ErrorsSinceLastSuccess = old.Job.ErrorsSinceLastSuccess
	}
	op, err := putRecord(r)
	if err != nil {
		undo()
		return err
	}
	if err := s.cfg.Store.Apply(ctx, op); err != nil {
		undo()
		return fmt.Errorf("jobs: store %s: %w", j.Name, err)
	}
	s.jobs[j.Name] = r
	s.schedule(r)
	s.Wake() // it may fall due before the next tick
	return nil
}

// ErrUnknown is the 400 for a job that does not exist.
func errUnknown(name string) error {
	return &chronos.Error{Field: "name", Message: fmt.Sprintf("job %q does not exist", name)}
}

// Delete removes a job and re-wires its children as Chronos does: they
// inherit its parents, or its schedule when it had none.
func (s *Service) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.jobs[name]
	if !ok {
		return errUnknown(name)
	}
	ops := []store.Op{store.Del(BucketJobs, name)}
	changed := map[string]*record{}
	for cn, c := range s.jobs {
		if cn == name || !contains(c.Job.Parents, name) {
			continue
		}
		nc := *c
		nc.Job.Parents = nil
		for _, p := range c.Job.Parents {
			if p != name {
				nc.Job.Parents = append(nc.Job.Parents, p)
			}
		}
		for _, p := range old.Job.Parents {
			if !contains(nc.Job.Parents, p) {
				nc.Job.Parents = append(nc.Job.Parents, p)
			}
		}
		if len(nc.Job.Parents) == 0 {
			nc.Job.Schedule, nc.Job.ScheduleTimeZone = old.Job.Schedule, old.Job.ScheduleTimeZone
		}
		op, err := putRecord(&nc)
		if err != nil {
			return err
		}
		ops = append(ops, op)
		changed[cn] = &nc
	}
	for e := range s.deps {
		if e.Parent == name || e.Child == name {
			ops = append(ops, store.Del(BucketDeps, e.Parent+" "+e.Child))
		}
	}
	if err := s.cfg.Store.Apply(ctx, ops...); err != nil {
		return fmt.Errorf("jobs: delete %s: %w", name, err)
	}
	delete(s.jobs, name)
	s.tl.Remove(name)
	s.killInflight(ctx, old)
	for e := range s.deps {
		if e.Parent == name || e.Child == name {
			delete(s.deps, e)
		}
	}
	for cn, r := range changed {
		s.jobs[cn] = r
		s.schedule(r)
	}
	if g, err := s.graphWith(nil, ""); err == nil {
		s.graph = g
	}
	return nil
}

// DeleteAll removes every job.
func (s *Service) DeleteAll(ctx context.Context) error {
	s.mu.Lock()
	names := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		if err := s.Delete(ctx, n); err != nil && !isUnknown(err) {
			return err
		}
	}
	return nil
}

func isUnknown(err error) bool {
	ce, ok := err.(*chronos.Error)
	return ok && ce.Field == "name"
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
