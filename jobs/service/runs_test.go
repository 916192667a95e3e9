package service

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/wire"
	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement/store"
)

// fakeLauncher places every run on one agent "a1" with room for slots
// runs and remembers the tasks.
type fakeLauncher struct {
	mu       sync.Mutex
	tasks    map[string]wire.TaskSpec
	state    map[string]string
	launches int
	slots    int
	killed   []string
	capCalls int // Capacity calls: the master's offers pass under its lock
}

func newFake(slots int) *fakeLauncher {
	return &fakeLauncher{tasks: map[string]wire.TaskSpec{}, state: map[string]string{}, slots: slots}
}

func (f *fakeLauncher) Launch(_ context.Context, runs []Launch) ([]Placed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Placed, len(runs))
	for i, r := range runs {
		if _, ok := f.tasks[r.Spec.TaskID]; ok {
			out[i] = Placed{OK: true, Agent: "a1", Host: "h1"}
			continue
		}
		if len(f.tasks) >= f.slots {
			out[i] = Placed{Why: "unplaced 1 of 1: insufficient cpus on 1 agents"}
			continue
		}
		f.tasks[r.Spec.TaskID] = r.Spec
		f.state[r.Spec.TaskID] = wire.TaskStaging
		f.launches++
		out[i] = Placed{OK: true, Agent: "a1", Host: "h1"}
	}
	return out, nil
}

func (f *fakeLauncher) Task(id string) (TaskInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.state[id]
	return TaskInfo{State: st, Agent: "a1", Host: "h1", StartedAt: "2026-12-06T12:41:00.000Z"}, ok
}

func (f *fakeLauncher) JobTasks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.tasks {
		out = append(out, id)
	}
	return out
}

func (f *fakeLauncher) Kill(_ context.Context, id string) error {
	f.mu.Lock()
	f.killed = append(f.killed, id)
	f.mu.Unlock()
	return nil
}
func (f *fakeLauncher) Sync(context.Context) error { return nil }
func (f *fakeLauncher) Capacity() Capacity {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.capCalls++
	free := float64(f.slots - len(f.tasks))
	return Capacity{CPUs: float64(f.slots), Mem: 1e6, FreeCPUs: free, FreeMem: 1e6}
}

// finish ends every task of job name with exit code (the master's side).
func (f *fakeLauncher) finish(t *testing.T, st store.Store, svc *Service, name string, code int, now time.Time) int {
	f.mu.Lock()
	var ended []Result
	for id, spec := range f.tasks {
		if spec.AppID != AppIDPrefix+name {
			continue
		}
		state := wire.TaskFinished
		if code != 0 {
			state = wire.TaskFailed
		}
		c := code
		ended = append(ended, Result{TaskID: id, State: state, Exit: &c, Host: "h1", Ended: now})
		delete(f.tasks, id)
		delete(f.state, id)
	}
	f.mu.Unlock()
	for _, r := range ended {
		svc.TaskEnded(r)
	}
	return len(ended)
}

type clockT struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clockT) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clockT) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newRunEnv(t *testing.T, f *fakeLauncher, clk *clockT, dir string) (*Service, store.Store) {
	st, err := store.OpenBolt(store.BoltConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(context.Background(), Config{Store: st, Launcher: f, Now: clk.now, RetryDelay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func mustPut(t *testing.T, svc *Service, body string, dep bool) {
	t.Helper()
	if err := svc.Put(context.Background(), []byte(body), dep); err != nil {
		t.Fatal(err)
	}
}

func jobOf(t *testing.T, svc *Service, name string) JobView {
	for _, j := range svc.Jobs() {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("no job %s", name)
	return JobView{}
}

func TestScheduleRetryAndChain(t *testing.T) {
	ctx := context.Background()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	f := newFake(10)
	svc, st := newRunEnv(t, f, clk, t.TempDir())
	mustPut(t, svc, `{"name":"a","command":"true","schedule":"R/2026-12-06T12:01:00Z/PT1H","retries":"1","owner":"ops@x"}`, false)
	mustPut(t, svc, `{"name":"b","command":"true","parents":["a"]}`, true)
	mustPut(t, svc, `{"name":"c","command":"true","parents":["b"]}`, true)
	tick := func() {
		t.Helper()
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tick()
	if f.launches != 0 {
		t.Fatal("launched before due")
	}
	clk.add(time.Minute)
	tick()
	if f.launches != 1 || jobOf(t, svc, "a").State != "running" {
		t.Fatalf("launches %d state %s", f.launches, jobOf(t, svc, "a").State)
	}
	for _, spec := range f.tasks {
		for k, v := range map[string]string{"CHRONOS_JOB_NAME": "a", "CHRONOS_JOB_OWNER": "ops@x", "CHRONOS_RESOURCE_CPU": "0.1",
			"CHRONOS_RESOURCE_MEM": "128", "CHRONOS_JOB_RUN_TIME": "2026-12-06T12:01:00.000Z", "CHRONOS_JOB_RUN_ATTEMPT": "0",
			"mesos_task_id": spec.TaskID} {
			if spec.Env[k] != v {
				t.Errorf("env %s = %q, want %q", k, spec.Env[k], v)
			}
		}
		if spec.Cmd != "true" || spec.AppID != "chronos:a" {
			t.Errorf("spec %+v", spec)
		}
	}
	if j := jobOf(t, svc, "a"); j.Schedule != "R/2026-12-06T13:01:00.000Z/PT1H" || j.NextDue != "2026-12-06T13:01:00.000Z" {
		t.Errorf("schedule after the run: %s next %s", j.Schedule, j.NextDue)
	}
	// fails, retried after the delay, then succeeds
	f.finish(t, st, svc, "a", 3, clk.now())
	tick()
	if j := jobOf(t, svc, "a"); j.ErrorCount != 1 || j.ErrorsSinceLastSuccess != 1 || j.State != "queued" {
		t.Fatalf("after failure: %+v", j)
	}
	tick()
	if f.launches != 1 {
		t.Fatal("retried before the delay")
	}
	clk.add(time.Second)
	tick()
	if f.launches != 2 {
		t.Fatalf("retry not launched: %d", f.launches)
	}
	f.finish(t, st, svc, "a", 0, clk.now())
	tick() // a's success makes b ready; b is launched in the same tick
	if f.launches != 3 || jobOf(t, svc, "b").State != "running" {
		t.Fatalf("b not launched: %d %s", f.launches, jobOf(t, svc, "b").State)
	}
	f.finish(t, st, svc, "b", 0, clk.now())
	tick()
	f.finish(t, st, svc, "c", 0, clk.now())
	tick()
	for _, n := range []string{"a", "b", "c"} {
		j := jobOf(t, svc, n)
		if j.SuccessCount != 1 || j.State != "idle" || j.LastSuccess == "" {
			t.Errorf("%s: %+v", n, j)
		}
	}
	hist, _, _ := svc.History("a")
	if len(hist) != 2 || hist[0].Status != "failure" || *hist[0].Exit != 3 || hist[1].Status != "success" || hist[1].Attempt != 1 {
		t.Errorf("history of a: %+v", hist)
	}
	if h, _, _ := svc.History("c"); len(h) != 1 || h[0].Cause != "parents" {
		t.Errorf("history of c: %+v", h)
	}
	// A failed parent never starts its children.
	if err := svc.RunNow(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	tick()
	f.finish(t, st, svc, "b", 1, clk.now())
	tick()
	clk.add(time.Second)
	tick()
	f.finish(t, st, svc, "b", 1, clk.now()) // b's retries (default 2) …
	tick()
	clk.add(time.Second)
	tick()
	f.finish(t, st, svc, "b", 1, clk.now())
	tick()
	if j := jobOf(t, svc, "c"); j.SuccessCount != 1 || j.State != "idle" || f.launches != 7 {
		t.Errorf("c after b failed: %+v launches %d", j, f.launches)
	}
}

func TestEpsilonSkipConcurrentAndUnplaced(t *testing.T) {
	ctx := context.Background()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	f := newFake(1)
	svc, _ := newRunEnv(t, f, clk, t.TempDir())
	mustPut(t, svc, `{"name":"e","command":"sleep 1","schedule":"R/2026-12-06T12:01:00Z/PT1M","epsilon":"PT30S"}`, false)
	mustPut(t, svc, `{"name":"other","command":"true","schedule":"R1/2026-12-06T12:03:10Z/PT1M","disabled":true}`, false)
	clk.add(2*time.Minute + 40*time.Second) // 12:02:40: 12:01 and 12:02 missed by more than 30 s
	_ = svc.Tick(ctx)
	hist, _, _ := svc.History("e")
	if f.launches != 0 || len(hist) != 1 || hist[0].Status != "skipped" || hist[0].Skipped != 2 {
		t.Fatalf("epsilon: launches %d history %+v", f.launches, hist)
	}
	clk.add(30 * time.Second) // 12:03:10
	_ = svc.Tick(ctx)
	clk.add(time.Minute) // 12:04:10, first run still in flight
	_ = svc.Tick(ctx)
	hist, _, _ = svc.History("e")
	if f.launches != 1 || !strings.Contains(hist[len(hist)-1].Message, "concurrent") {
		t.Fatalf("concurrent: launches %d history %+v", f.launches, hist)
	}
	// a manual run of the disabled job waits: the only slot is taken
	if err := svc.RunNow(ctx, "other", []string{"-x"}); err != nil {
		t.Fatal(err)
	}
	_ = svc.Tick(ctx)
	_, in, _ := svc.History("other")
	if len(in) != 1 || in[0].State != "queued" || in[0].Message == "" {
		t.Fatalf("queued run: %+v", in)
	}
	if err := svc.KillRuns(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, in, _ := svc.History("other"); len(in) != 0 || jobOf(t, svc, "other").State != "idle" {
		t.Fatalf("after kill: %+v", in)
	}
}

// TestClaimSurvivesRestart: an occurrence claimed by one service and
// launched is adopted, not relaunched, by the next (a leader change), and
// a result stored before the change is counted once.
func TestClaimSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 59, 0, time.UTC)}
	f := newFake(5)
	st, err := store.OpenBolt(store.BoltConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := New(ctx, Config{Store: st, Launcher: f, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, svc, `{"name":"x","command":"true","schedule":"R/2026-12-06T12:01:00Z/PT1H"}`, false)
	clk.add(time.Second)
	_ = svc.Tick(ctx)
	if f.launches != 1 {
		t.Fatal("not launched")
	}
	// new leader over the same store and the same master tasks
	svc2, err := New(ctx, Config{Store: st, Launcher: f, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	_ = svc2.Tick(ctx)
	if f.launches != 1 || jobOf(t, svc2, "x").State != "running" {
		t.Fatalf("relaunched: %d, state %s", f.launches, jobOf(t, svc2, "x").State)
	}
	// the task ends while no leader folds it in: stored result only
	var id string
	for k := range f.tasks {
		id = k
	}
	zero := 0
	b := `{"taskId":"` + id + `","state":"TASK_FINISHED","exitStatus":0,"ended":"2026-12-06T12:01:05Z"}`
	_ = zero
	if err := st.Apply(ctx, store.Put(BucketResults, id, []byte(b))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		svc3, err := New(ctx, Config{Store: st, Launcher: f, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		_ = svc3.Tick(ctx)
		if j := jobOf(t, svc3, "x"); j.SuccessCount != 1 || j.State != "idle" {
			t.Fatalf("restart %d: %+v", i, j)
		}
	}
	_ = jobs.FormatTime
}

func TestJobOfTask(t *testing.T) {
	for id, want := range map[string]string{"ct-a.1.0.x": "a", "ct-my.job.v2.1796585700000.1.e22b02b8": "my.job.v2", "nope.1.2.3": "", "ct-x.1": ""} {
		if got, _ := jobOfTask(id); got != want {
			t.Errorf("jobOfTask(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestMaxCompletionTime(t *testing.T) {
	ctx := context.Background()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 41, 0, 0, time.UTC)}
	f := newFake(2)
	svc, _ := newRunEnv(t, f, clk, t.TempDir())
	mustPut(t, svc, `{"name":"slow","command":"sleep 100","schedule":"R/2030-01-01T00:00:00Z/P1D","maxCompletionTime":"5"}`, false)
	_ = svc.RunNow(ctx, "slow", nil)
	_ = svc.Tick(ctx)
	for id := range f.tasks {
		f.state[id] = wire.TaskRunning
	}
	_ = svc.Tick(ctx) // running since 12:41:00 (the fake's StartedAt)
	clk.add(4 * time.Second)
	_ = svc.Tick(ctx)
	if len(f.killed) != 0 {
		t.Fatal("killed before maxCompletionTime")
	}
	clk.add(2 * time.Second)
	_ = svc.Tick(ctx)
	_ = svc.Tick(ctx)
	if len(f.killed) != 1 {
		t.Fatalf("killed %v", f.killed)
	}
}

func TestMarkSuccessFiresChildren(t *testing.T) {
	ctx := context.Background()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 41, 0, 0, time.UTC)}
	f := newFake(4)
	svc, _ := newRunEnv(t, f, clk, t.TempDir())
	mustPut(t, svc, `{"name":"p","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D"}`, false)
	mustPut(t, svc, `{"name":"c","command":"true","parents":["p"]}`, true)
	e := &env{t: t, svc: svc}
	e.srv = httptest.NewServer(svc.Handler())
	defer e.srv.Close()
	if code, body := e.do("PUT", "/v1/scheduler/job/success/p", ""); code != 200 || body != "marked job p as successful: true" {
		t.Fatalf("PUT success = %d %q", code, body)
	}
	_ = svc.Tick(ctx)
	if j := jobOf(t, svc, "p"); j.SuccessCount != 1 || f.launches != 1 || jobOf(t, svc, "c").State != "running" {
		t.Fatalf("p %+v, launches %d", j, f.launches)
	}
}

func TestStrayTaskKilled(t *testing.T) {
	ctx := context.Background()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 41, 0, 0, time.UTC)}
	f := newFake(4)
	svc, _ := newRunEnv(t, f, clk, t.TempDir())
	mustPut(t, svc, `{"name":"a","command":"sleep 9","schedule":"R/2030-01-01T00:00:00Z/P1D"}`, false)
	_ = svc.RunNow(ctx, "a", nil)
	_ = svc.Tick(ctx)
	f.tasks["ct-gone.1.0.x"] = wire.TaskSpec{TaskID: "ct-gone.1.0.x", AppID: "chronos:gone"}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_ = svc.Run(cctx) // a new term: kills the stray, keeps a's run
	if len(f.killed) != 1 || f.killed[0] != "ct-gone.1.0.x" {
		t.Errorf("killed %v", f.killed)
	}
}

// TestPreemptionReturnsLentCapacity: a queue that lent its capacity gets
// it back from a preemptible borrower; the preempted runs are queued
// again, not counted as errors.
func TestPreemptionReturnsLentCapacity(t *testing.T) {
	ctx := context.Background()
	tree, err := jobs.ParseQueues([]byte(`queues: [{name: lender, capacity: 50, preemption: true}, {name: owner, capacity: 50}]`))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 41, 0, 0, time.UTC)}
	f := newFake(4)
	st, err := store.OpenBolt(store.BoltConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := New(ctx, Config{Store: st, Launcher: f, Now: clk.now, Queues: tree})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		mustPut(t, svc, fmt.Sprintf(`{"name":"l%d","command":"sleep 9","schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":"1","queue":"lender"}`, i), false)
		_ = svc.RunNow(ctx, fmt.Sprintf("l%d", i), nil)
	}
	for i := range 2 {
		mustPut(t, svc, fmt.Sprintf(`{"name":"o%d","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D","cpus":"1","queue":"owner"}`, i), false)
	}
	_ = svc.Tick(ctx)
	if f.launches != 4 {
		t.Fatalf("lender borrowed %d of 4 slots", f.launches)
	}
	for i := range 2 {
		_ = svc.RunNow(ctx, fmt.Sprintf("o%d", i), nil)
	}
	_ = svc.Tick(ctx)
	if len(f.killed) != 2 {
		t.Fatalf("preempted %v, want 2 of the lender's runs", f.killed)
	}
	for _, id := range f.killed { // the master's side of the kills
		f.mu.Lock()
		delete(f.tasks, id)
		f.mu.Unlock()
		svc.TaskEnded(Result{TaskID: id, State: wire.TaskKilled, Ended: clk.now()})
	}
	_ = svc.Tick(ctx)
	owners := 0
	for _, spec := range f.tasks {
		if strings.HasPrefix(spec.AppID, "chronos:o") {
			owners++
		}
	}
	if owners != 2 {
		t.Errorf("%d owner runs launched after the preemption, want 2", owners)
	}
	queued := 0
	for _, j := range svc.Jobs() {
		if j.ErrorCount != 0 {
			t.Errorf("%s counted an error for a preemption", j.Name)
		}
		if j.State == "queued" {
			queued++
		}
	}
	if queued != 2 {
		t.Errorf("%d preempted runs queued again, want 2", queued)
	}
}

func TestAsyncJobEndsWithCallback(t *testing.T) {
	ctx := context.Background()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 41, 0, 0, time.UTC)}
	f := newFake(4)
	svc, st := newRunEnv(t, f, clk, t.TempDir())
	mustPut(t, svc, `{"name":"as","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D","async":true,"retries":"0"}`, false)
	_ = svc.RunNow(ctx, "as", nil)
	_ = svc.Tick(ctx)
	var id string
	for k := range f.tasks {
		id = k
	}
	f.finish(t, st, svc, "as", 0, clk.now())
	_ = svc.Tick(ctx)
	if j := jobOf(t, svc, "as"); j.SuccessCount != 0 || j.State != "running" {
		t.Fatalf("before the callback: %+v", j)
	}
	e := &env{t: t, svc: svc, srv: httptest.NewServer(svc.Handler())}
	defer e.srv.Close()
	if code, body := e.do("PUT", "/scheduler/task/nope", `{"statusCode":0}`); code != 400 || !strings.Contains(body, "taskId") {
		t.Errorf("unknown task: %d %s", code, body)
	}
	if code, body := e.do("PUT", "/scheduler/task/"+id, `{"statusCode":"0"}`); code != 204 {
		t.Fatalf("callback: %d %s", code, body)
	}
	if j := jobOf(t, svc, "as"); j.SuccessCount != 1 || j.State != "idle" {
		t.Fatalf("after the callback: %+v", j)
	}
}

// TestDependencyStateSurvivesLeaderChange: a parent's success before a
// leader change still counts after it (Chronos keeps it in memory).
func TestDependencyStateSurvivesLeaderChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 41, 0, 0, time.UTC)}
	f := newFake(8)
	st, err := store.OpenBolt(store.BoltConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _ := New(ctx, Config{Store: st, Launcher: f, Now: clk.now})
	mustPut(t, svc, `{"name":"a","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D"}`, false)
	mustPut(t, svc, `{"name":"b","command":"true","schedule":"R/2030-01-01T00:00:00Z/P1D"}`, false)
	mustPut(t, svc, `{"name":"c","command":"true","parents":["a","b"]}`, true)
	_ = svc.RunNow(ctx, "a", nil)
	_ = svc.Tick(ctx)
	f.finish(t, st, svc, "a", 0, clk.now())
	_ = svc.Tick(ctx)
	// the next leader
	svc2, err := New(ctx, Config{Store: st, Launcher: f, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	_ = svc2.RunNow(ctx, "b", nil)
	_ = svc2.Tick(ctx)
	f.finish(t, st, svc2, "b", 0, clk.now())
	_ = svc2.Tick(ctx)
	if j := jobOf(t, svc2, "c"); j.State != "running" {
		t.Fatalf("c after a (old leader) and b (new leader) succeeded: %+v", j)
	}
}

// TestIdleTickSkipsCapacity: a tick with no run queued or in flight does
// not ask the master for its capacity (a pass over every agent and task
// under the master's lock, which cost an idle master with 100,000 tasks
// a sixth of a core); once a run is queued, it does.
func TestIdleTickSkipsCapacity(t *testing.T) {
	ctx := context.Background()
	clk := &clockT{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	f := newFake(2)
	svc, _ := newRunEnv(t, f, clk, t.TempDir())
	mustPut(t, svc, `{"name":"later","command":"true","schedule":"R/2026-12-06T13:00:00Z/PT1H"}`, false)
	for i := 0; i < 5; i++ {
		clk.add(time.Second)
		_ = svc.Tick(ctx)
	}
	if f.capCalls != 0 {
		t.Fatalf("idle ticks asked for the capacity %d times", f.capCalls)
	}
	if err := svc.RunNow(ctx, "later", nil); err != nil {
		t.Fatal(err)
	}
	_ = svc.Tick(ctx)
	if f.capCalls == 0 || f.launches != 1 {
		t.Fatalf("queued run: %d capacity calls, %d launches", f.capCalls, f.launches)
	}
}
