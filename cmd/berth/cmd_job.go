package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

func jobsCommand() command {
	return command{name: "jobs", summary: "list the jobs (berth jobs queues: the capacity queues)", run: runJobs}
}

func jobCommand() command {
	return command{name: "job", summary: "add, run, show the history of, or remove a job", run: runJob}
}

func runJobs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth jobs", flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	v, code, ok := cliSetup("jobs", "[queues] [flags]", -1, fs, &f, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(v.args) == 1 && v.args[0] == "queues" {
		qs, err := v.client.JobQueues(ctx)
		if err != nil {
			return v.fail(err)
		}
		if f.json {
			return v.printJSON(qs)
		}
		cliTable(stdout, []string{"QUEUE", "PARENT", "CAPACITY", "MAX", "GUARANTEED", "USED", "PENDING", "JOBS", "POLICY"}, cliQueueRows(qs))
		return cliExitOK
	}
	if len(v.args) > 0 {
		fmt.Fprintf(stderr, "berth jobs: unexpected arguments %q (only \"queues\")\n", v.args)
		return cliExitUsage
	}
	js, err := v.client.Jobs(ctx)
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		raw := make([]json.RawMessage, 0, len(js))
		for _, j := range js {
			raw = append(raw, j.Raw)
		}
		return v.printJSON(raw)
	}
	cliTable(stdout, []string{"NAME", "SCHEDULE", "NEXT RUN", "LAST", "SUCCESS", "ERRORS", "STATE", "QUEUE"}, cliJobRows(js, time.Now()))
	return cliExitOK
}

// cliJobRows are `berth jobs` rows.
func cliJobRows(js []apiclient.Job, now time.Time) [][]string {
	var rows [][]string
	for _, j := range js {
		sched := j.Schedule
		if len(j.Parents) > 0 {
			sched = "after " + strings.Join(j.Parents, ",")
		}
		next := "-"
		if j.NextDue != "" {
			next = j.NextDue
			if t, err := time.Parse(time.RFC3339Nano, j.NextDue); err == nil && t.After(now) {
				next += " (in " + cliAge(t.Sub(now)) + ")"
			}
		}
		if j.Disabled {
			next = "disabled"
		}
		last := "-"
		switch {
		case j.LastError > j.LastSuccess:
			last = "failure " + j.LastError
		case j.LastSuccess != "":
			last = "success " + j.LastSuccess
		}
		rows = append(rows, []string{j.Name, sched, next, last, strconv.Itoa(j.SuccessCount), strconv.Itoa(j.ErrorCount),
			cliOr(j.State, "idle"), j.Queue})
	}
	return rows
}

func cliQueueRows(qs []apiclient.JobQueue) [][]string {
	pc := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) + "%" }
	var rows [][]string
	for _, q := range qs {
		rows = append(rows, []string{q.Name, cliOr(q.Parent, "-"), pc(q.Capacity), pc(q.MaxCapacity),
			strconv.FormatFloat(q.Guaranteed, 'f', 1, 64) + "%", strconv.FormatFloat(q.Used, 'f', 1, 64) + "%",
			strconv.Itoa(q.Pending), strconv.Itoa(q.Jobs), cliOr(q.Policy, "fifo")})
	}
	return rows
}

func runJob(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	verbs := "add FILE | run NAME | history NAME | rm NAME"
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "Usage: berth job %s [flags]\n", verbs)
		return cliExitUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("berth job "+sub, flag.ContinueOnError)
	var f cliFlags
	f.register(fs, true)
	arguments := ""
	if sub == "run" {
		fs.StringVar(&arguments, "arguments", "", "arguments added to the job's for this run (Chronos' ?arguments=)")
	}
	usage := map[string]string{"add": "FILE", "run": "NAME", "history": "NAME", "rm": "NAME"}[sub]
	if usage == "" {
		fmt.Fprintf(stderr, "berth job: unknown verb %q; want %s\n", sub, verbs)
		return cliExitUsage
	}
	v, code, ok := cliSetup("job "+sub, usage+" [flags]", 1, fs, &f, args[1:], stdout, stderr)
	if !ok {
		return code
	}
	name := v.args[0]
	switch sub {
	case "add":
		return jobAdd(ctx, v, name)
	case "run":
		if err := v.client.RunJob(ctx, name, arguments); err != nil {
			return v.fail(err)
		}
		return v.done(f.json, map[string]string{"job": name, "result": "run queued"})
	case "rm":
		if err := v.client.DeleteJob(ctx, name); err != nil {
			return v.fail(err)
		}
		return v.done(f.json, map[string]string{"job": name, "result": "deleted"})
	}
	st, err := v.client.JobStat(ctx, name)
	if err != nil {
		return v.fail(err)
	}
	if f.json {
		return v.printJSON(st)
	}
	cliJobHistory(stdout, st)
	return cliExitOK
}

func (v cliVerb) done(asJSON bool, out map[string]string) int {
	if asJSON {
		return v.printJSON(out)
	}
	fmt.Fprintf(v.stdout, "%s: %s\n", out["job"], out["result"])
	return cliExitOK
}

// jobAdd posts a job file: one Chronos job object or an array of them
// (in order, so that parents come first); a job with parents goes to
// /dependency, the others to /iso8601.
func jobAdd(ctx context.Context, v cliVerb, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return v.fail(err)
	}
	var defs []json.RawMessage
	if strings.HasPrefix(strings.TrimSpace(string(data)), "[") {
		if err := json.Unmarshal(data, &defs); err != nil {
			return v.fail(fmt.Errorf("%s: %w", path, err))
		}
	} else {
		defs = []json.RawMessage{data}
	}
	var names []string
	for _, d := range defs {
		var head struct {
			Name    string   `json:"name"`
			Parents []string `json:"parents"`
		}
		if err := json.Unmarshal(d, &head); err != nil {
			return v.fail(fmt.Errorf("%s: %w", path, err))
		}
		if err := v.client.PutJob(ctx, d, len(head.Parents) > 0); err != nil {
			return v.fail(fmt.Errorf("job %q: %w", head.Name, err))
		}
		names = append(names, head.Name)
	}
	if v.flags.json {
		return v.printJSON(map[string]any{"added": names})
	}
	for _, n := range names {
		fmt.Fprintf(v.stdout, "%s: added\n", n)
	}
	return cliExitOK
}

// cliJobHistory prints the runs in flight, the history (newest first) and
// the duration percentiles.
func cliJobHistory(w io.Writer, st *apiclient.JobStat) {
	if len(st.Inflight) > 0 {
		var rows [][]string
		for _, in := range st.Inflight {
			rows = append(rows, []string{in.Due, in.State, strconv.Itoa(in.Attempt), cliOr(in.Host, "-"), in.TaskID, cliOr(in.Message, "-")})
		}
		cliTable(w, []string{"DUE", "STATE", "ATTEMPT", "AGENT", "TASK", "WHY"}, rows)
		fmt.Fprintln(w)
	}
	if len(st.History) == 0 {
		fmt.Fprintln(w, "no runs yet")
		return
	}
	var rows [][]string
	for _, r := range st.History {
		exit, dur := "-", "-"
		if r.Exit != nil {
			exit = strconv.Itoa(*r.Exit)
		}
		if r.Duration > 0 {
			dur = strconv.FormatFloat(r.Duration, 'f', 2, 64) + "s"
		}
		how := r.Cause
		switch {
		case r.Manual:
			how = "manual"
		case how == "":
			how = "schedule"
		}
		status := r.Status
		if r.Message != "" && r.Status != "success" {
			status += " (" + r.Message + ")"
		}
		rows = append(rows, []string{r.Due, cliOr(r.Started, "-"), cliOr(r.Ended, "-"), status, exit, dur,
			cliOr(r.Agent, "-"), strconv.Itoa(r.Attempt), how, cliOr(r.TaskID, "-")})
	}
	cliTable(w, []string{"DUE", "STARTED", "ENDED", "STATUS", "EXIT", "DURATION", "AGENT", "ATTEMPT", "RUN", "TASK"}, rows)
	h := st.Histogram
	if h["count"] > 0 {
		fmt.Fprintf(w, "\nduration of %v successful runs: median %.2fs, mean %.2fs, p75 %.2fs, p95 %.2fs, p99 %.2fs\n",
			h["count"], h["median"], h["mean"], h["75thPercentile"], h["95thPercentile"], h["99thPercentile"])
	}
}
