package ui

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/jobs/service"
	"github.com/berth-platform/berth/placement/chronos"
)

// The jobs pages' golden fixture is written with the job API's own types
// (jobs/service.JobView, Stat, QueueView) and sent through their JSON, so
// a golden cannot pass on keys the API does not send.

func apiJSON[T any](t *testing.T, v any, out *T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

func intp(i int) *int { return &i }

// jobsFixture is GET /scheduler/jobs, the job stat of "extract" and GET
// /scheduler/queues, as the job service answers them.
func jobsFixture(t *testing.T) ([]jobJSON, jobStat, []queueJSON) {
	t.Helper()
	api := []service.JobView{
		{Job: chronos.Job{Name: "extract", Command: "extract.sh", Shell: true, Schedule: "R/2026-01-02T04:00:00.000Z/PT1H",
			Owner: "data@example.com", Retries: 2, CPUs: 0.5, Mem: 256, Queue: "batch", SuccessCount: 40, ErrorCount: 1,
			LastSuccess: "2026-01-02T03:00:10.000Z", LastError: "2026-01-01T12:00:00.000Z"},
			State: "running", NextDue: "2026-01-02T04:00:00.000Z"},
		{Job: chronos.Job{Name: "load", Command: "load.sh", Shell: true, Parents: []string{"extract"}, CPUs: 0.1, Mem: 64,
			Queue: "batch", SuccessCount: 39, ErrorCount: 2, LastSuccess: "2026-01-02T02:01:00.000Z",
			LastError: "2026-01-02T03:01:00.000Z", ErrorsSinceLastSuccess: 1}, State: "idle"},
		{Job: chronos.Job{Name: "report", Command: "report.sh", Shell: true, Parents: []string{"load", "extract"}, CPUs: 0.1,
			Mem: 64, Queue: "adhoc"}, State: "queued"},
		{Job: chronos.Job{Name: "cleanup-old-partitions-weekly", Command: "cleanup.sh", Shell: true,
			Schedule: "R/2026-01-04T00:00:00.000Z/P1W", Disabled: true, CPUs: 0.1, Mem: 32, Queue: "adhoc", SuccessCount: 3,
			LastSuccess: "2025-12-28T00:00:05.000Z", Container: &chronos.Container{Type: "DOCKER", Image: "berth/busybox"}},
			State: "idle", NextDue: "2026-01-04T00:00:00.000Z"},
	}
	stat := service.Stat{
		History: []service.Run{
			{Due: "2026-01-02T03:00:00.000Z", Started: "2026-01-02T03:00:00.120Z", Ended: "2026-01-02T03:00:10.000Z",
				Status: "success", Exit: intp(0), Agent: "node-1", AgentID: "a1", TaskID: "ct-extract.1767322800000.0.ab12",
				Cause: "schedule", Duration: 9.88},
			{Due: "2026-01-01T12:00:00.000Z", Started: "2026-01-01T12:00:00.100Z", Ended: "2026-01-01T12:00:02.000Z",
				Status: "failure", Exit: intp(3), Agent: "node-2", AgentID: "a2", TaskID: "ct-extract.1767268800000.1.cd34",
				Attempt: 1, Cause: "schedule", Duration: 1.9},
			{Due: "2026-01-01T10:00:00.000Z", Status: "skipped", Skipped: 2, Message: "missed by more than epsilon"},
		},
		Inflight: []service.Inflight{
			{TaskID: "ct-extract.1767326400000.0.ef56", Due: "2026-01-02T03:04:00.000Z", State: "running",
				Queued: "2026-01-02T03:04:00.000Z", Launched: "2026-01-02T03:04:00.010Z", Started: "2026-01-02T03:04:00.300Z",
				Agent: "a1", Host: "node-1", Cause: "manual", Manual: true},
		},
	}
	queues := []service.QueueView{
		{Name: "root", Capacity: 100, MaxCapacity: 100, Guaranteed: 100, Used: 62.5, Policy: "fifo", Jobs: 4, Pending: 1},
		{Name: "batch", Parent: "root", Capacity: 60, MaxCapacity: 100, Guaranteed: 60, Used: 50, Policy: "fifo", Jobs: 2},
		{Name: "adhoc", Parent: "root", Capacity: 40, MaxCapacity: 50, Guaranteed: 40, Used: 12.5, Policy: "priority",
			Preemption: true, Jobs: 2, Pending: 1},
	}
	var jobs []jobJSON
	var st jobStat
	var qs []queueJSON
	apiJSON(t, api, &jobs)
	apiJSON(t, stat, &st)
	apiJSON(t, queues, &qs)
	return jobs, st, qs
}

// jsonKeys are the JSON keys of struct type t (embedded structs
// flattened, nested structs and slices of structs as "outer.inner").
func jsonKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
			continue
		case f.Anonymous && name == "":
			jsonKeys(f.Type, prefix, out)
			continue
		case name == "":
			name = f.Name
		}
		out[prefix+name] = true
		jsonKeys(f.Type, prefix+name+".", out)
	}
}

// TestJobTypesMatchTheAPI: every key the jobs pages read is one the job
// API writes, and the queue type reads all of QueueView.
func TestJobTypesMatchTheAPI(t *testing.T) {
	for _, c := range []struct {
		what     string
		ui, api  any
		allOfAPI bool
	}{
		{"GET /scheduler/jobs", jobJSON{}, service.JobView{}, false},
		{"GET /scheduler/job/stat", jobStat{}, service.Stat{}, false},
		{"GET /scheduler/queues", queueJSON{}, service.QueueView{}, true},
	} {
		ui, api := map[string]bool{}, map[string]bool{}
		jsonKeys(reflect.TypeOf(c.ui), "", ui)
		jsonKeys(reflect.TypeOf(c.api), "", api)
		for k := range ui {
			if !api[k] {
				t.Errorf("%s: the UI reads %q, which the API does not write", c.what, k)
			}
		}
		for k := range api {
			if c.allOfAPI && !ui[k] {
				t.Errorf("%s: the UI does not read %q", c.what, k)
			}
		}
	}
	// And a real answer decodes with nothing left over.
	b, _ := json.Marshal(service.QueueView{Name: "q", Parent: "root", Capacity: 1, MaxCapacity: 2, Guaranteed: 3, Used: 4,
		Pending: 5, Policy: "fifo", Preemption: true, Jobs: 6})
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var q queueJSON
	if err := d.Decode(&q); err != nil || q.Guaranteed != 3 || q.Used != 4 || q.Pending != 5 {
		t.Errorf("decode %s: %+v %v", b, q, err)
	}
}

// TestQueuesView: the tree's indentation, the bar's marker and fill, the
// pending runs.
func TestQueuesView(t *testing.T) {
	_, _, qs := jobsFixture(t)
	p := QueuesView(qs)
	if len(p.Queues) != 3 || p.Pending != 1 {
		t.Fatalf("queues %+v pending %d", p.Queues, p.Pending)
	}
	root, batch, adhoc := p.Queues[0], p.Queues[1], p.Queues[2]
	if root.Depth != 0 || root.Leaf || batch.Depth != 1 || !batch.Leaf || !adhoc.Leaf {
		t.Errorf("tree %+v", p.Queues)
	}
	if batch.Guaranteed != "60 %" || batch.Used != "50 %" || batch.GuarPct != 60 || batch.UsedPct != 50 || batch.Over {
		t.Errorf("batch %+v", batch)
	}
	if adhoc.MaxCapacity != "50 %" || adhoc.Pending != 1 || !adhoc.Preemption {
		t.Errorf("adhoc %+v", adhoc)
	}
	over := QueuesView([]queueJSON{{Name: "q", Guaranteed: 20, Used: 130}}).Queues[0]
	if !over.Over || over.UsedPct != 100 {
		t.Errorf("a queue above its guarantee: %+v", over)
	}
}

// TestJobRowsUseTheAPIState: the state column is the API's; next run is
// nextDue; the last result follows lastSuccess/lastError.
func TestJobRowsUseTheAPIState(t *testing.T) {
	jobs, st, _ := jobsFixture(t)
	p := JobsView(jobs, fixedNow)
	got := map[string]JobRow{}
	for _, r := range p.Jobs {
		got[r.Name] = r
	}
	for name, want := range map[string][3]string{
		"extract": {"running", "success", "in 55m00s"}, "load": {"idle", "failure", ""},
		"report": {"queued", "fresh", ""}, "cleanup-old-partitions-weekly": {"disabled", "success", "in 44h55m"},
	} {
		r := got[name]
		if r.State != want[0] || r.Result != want[1] || r.Next != want[2] {
			t.Errorf("%s: state %q result %q next %q, want %q", name, r.State, r.Result, r.Next, want)
		}
	}
	if p.Running != 1 || p.Queued != 1 || got["extract"].Queue != "batch" {
		t.Errorf("counts %d running %d queued, queue %q", p.Running, p.Queued, got["extract"].Queue)
	}
	runs := JobRuns(st, fixedNow)
	if len(runs) != 4 || runs[0].State != "running" || !runs[0].Logs || runs[0].Agent != "node-1" ||
		runs[1].State != "success" || runs[1].Took != "9.9s" || runs[2].State != "failure (exit 3)" ||
		runs[2].Cause != "schedule, retry 1" || runs[3].State != "skipped (2 occurrences)" || runs[3].Logs {
		t.Errorf("runs %+v", runs)
	}
	// The job page's graph is the job's relatives: all four but the
	// unrelated cleanup job, with load marked.
	jp := JobView(jobs[1], jobs, runs, fixedNow) // load
	var names []string
	for _, n := range jp.Graph.Nodes {
		names = append(names, n.Name)
		if n.Current != (n.Name == "load") {
			t.Errorf("node %s current=%v", n.Name, n.Current)
		}
	}
	if strings.Join(names, ",") != "extract,load,report" || len(jp.Graph.Edges) != 3 {
		t.Errorf("graph nodes %v edges %d", names, len(jp.Graph.Edges))
	}
}

// TestJobOfTask: a run's task id names its job (dots in the name kept).
func TestJobOfTask(t *testing.T) {
	for id, want := range map[string]string{
		"ct-extract.1767322800000.0.ab12": "extract", "ct-a.b.1767322800000.2.ab12": "a.b",
		"shop_web.5f1c": "", "ct-x.1": "",
	} {
		if got := jobOfTask(id); got != want {
			t.Errorf("jobOfTask(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestJobErrorField: the field the job API's message names first, else a
// guess from its words.
func TestJobErrorField(t *testing.T) {
	for msg, want := range map[string]string{
		`queue: unknown queue "x" (leaf queues: [a b])`: "queue",
		"scheduleTimeZone: unknown time zone Mars/Base": "scheduleTimeZone",
		"parents: unknown job nope":                     "parents",
		"cpus: must be ≥ 0":                             "cpus",
		"Invalid schedule: every hour":                  "schedule",
		"something else":                                "",
	} {
		if got := jobErrorField(msg); got != want {
			t.Errorf("jobErrorField(%q) = %q, want %q", msg, got, want)
		}
	}
}
