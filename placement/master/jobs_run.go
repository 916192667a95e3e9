package master

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs/service"
	"github.com/berth-platform/berth/placement"
	"github.com/berth-platform/berth/placement/store"
)

// isJobTask reports whether t is a run of a job (not an app's task).
func isJobTask(t *Task) bool { return strings.HasPrefix(t.AppID, service.AppIDPrefix) }

// runJobs runs the job service's loop while this master leads; the
// returned func waits for it to end (after ctx ends).
func (m *Master) runJobs(ctx context.Context) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.jobs.Run(ctx); err != nil {
			m.log.Error("master: job service", "err", err)
		}
	}()
	return func() { <-done }
}

var exitRE = regexp.MustCompile(`exited with code (-?\d+)`)

// jobTaskEnded hands a job task's terminal state to the job service and
// returns the write that keeps it (in the same batch that forgets the
// task, so a result is never lost nor counted twice across a leader
// change).
func (m *Master) jobTaskEnded(t *Task, state, msg string, now time.Time) []store.Op {
	res := service.Result{TaskID: t.ID, State: state, Message: msg, Agent: t.AgentID, Host: t.Host,
		StartedAt: t.StartedAt, Ended: now.UTC()}
	switch {
	case state == wire.TaskFinished:
		zero := 0
		res.Exit = &zero
	case exitRE.MatchString(msg):
		n, _ := strconv.Atoi(exitRE.FindStringSubmatch(msg)[1])
		res.Exit = &n
	}
	b, _ := json.Marshal(res)
	if m.jobs != nil {
		m.jobs.TaskEnded(res)
	}
	return []store.Op{store.Put(service.BucketResults, t.ID, b)}
}

// jobLauncher is the job service's view of the master.
type jobLauncher struct{ m *Master }

// Launch places each run with the placement core over the same offers as
// apps and records its task as staging for its agent.
func (l jobLauncher) Launch(_ context.Context, runs []service.Launch) ([]service.Placed, error) {
	m := l.m
	m.mu.Lock()
	now := m.now()
	var offers *offerSet
	out := make([]service.Placed, len(runs))
	var ops []store.Op
	for i, run := range runs {
		spec := run.Spec
		if t := m.tasks[spec.TaskID]; t != nil {
			out[i] = service.Placed{OK: true, Agent: t.AgentID, Host: t.Host}
			continue
		}
		if offers == nil {
			offers = m.buildOffers()
		}
		cons, err := placement.ParseConstraints(run.Constraints)
		if err != nil {
			out[i] = service.Placed{Why: "constraints: " + err.Error()}
			continue
		}
		need := placement.Resources{CPUs: spec.Resources.CPUs, Mem: spec.Resources.Mem, Disk: spec.Resources.Disk}
		res := placement.Place(offers.offers, placement.Request{AppID: spec.AppID, Resources: need, Instances: 1,
			Constraints: cons}, placement.Options{Seed: m.cfg.Seed + m.passes})
		if len(res.Placements) == 0 {
			out[i] = service.Placed{Why: res.Explanation.String()}
			continue
		}
		p := res.Placements[0]
		t := &Task{ID: spec.TaskID, AppID: spec.AppID, AgentID: p.AgentID, Host: p.Hostname, State: wire.TaskStaging,
			Version: spec.AppVersion, StagedAt: ts(now), Spec: spec}
		offers.take(p.AgentID, need, nil)
		m.indexTask(t)
		m.notifyAgent(t.AgentID)
		ops = append(ops, taskOp(t))
		out[i] = service.Placed{OK: true, Agent: p.AgentID, Host: p.Hostname}
	}
	var seq uint64
	if len(ops) > 0 {
		seq = m.w.enqueue(ops...)
	}
	m.mu.Unlock()
	if seq > 0 {
		if err := m.w.wait(seq); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Task is the master's view of a job task.
func (l jobLauncher) Task(id string) (service.TaskInfo, bool) {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tasks[id]
	if t == nil {
		return service.TaskInfo{}, false
	}
	return service.TaskInfo{State: t.State, Agent: t.AgentID, Host: t.Host, StartedAt: t.StartedAt}, true
}

// JobTasks lists the job tasks the master knows.
func (l jobLauncher) JobTasks() []string {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id, t := range m.tasks {
		if isJobTask(t) && !terminal(t.State) {
			out = append(out, id)
		}
	}
	return out
}

// Kill orders the task's agent to stop it.
func (l jobLauncher) Kill(_ context.Context, id string) error {
	m := l.m
	m.mu.Lock()
	t := m.tasks[id]
	if t == nil || !isJobTask(t) {
		m.mu.Unlock()
		return nil
	}
	ops := m.killTasks([]*Task{t}, killUser)
	var seq uint64
	if len(ops) > 0 {
		seq = m.w.enqueue(ops...)
	}
	m.mu.Unlock()
	if seq > 0 {
		return m.w.wait(seq)
	}
	return nil
}

// Sync waits until everything the master queued for the store is durable
// (the results handed to the service with it).
func (l jobLauncher) Sync(context.Context) error {
	m := l.m
	m.mu.Lock()
	seq := m.w.last()
	m.mu.Unlock()
	return m.w.wait(seq)
}

// Capacity sums the live agents' cpus and mem, total and free.
func (l jobLauncher) Capacity() service.Capacity {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	var c service.Capacity
	for _, o := range m.buildOffers().offers {
		c.CPUs += o.Capacity.CPUs
		c.Mem += o.Capacity.Mem
		c.FreeCPUs += max(o.Resources.CPUs, 0)
		c.FreeMem += max(o.Resources.Mem, 0)
	}
	c.Room, c.Held = m.jobsRoom()
	if c.Room > 0 {
		c.Held = ""
	}
	return c
}

// jobRunForLogs finds the agent of an ended job run from the job's
// history, so that its sandbox logs stay readable (called without m.mu:
// the service locks before the master, never after).
func (m *Master) jobRunForLogs(id string) (*Task, string) {
	aid, ok := m.jobs.TaskAgent(id)
	if !ok {
		return nil, ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	url := ""
	if a := m.agents[aid]; a != nil {
		url = a.reg.URL
	}
	return &Task{ID: id, AgentID: aid}, url
}
