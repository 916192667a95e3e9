package ui

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// jobJSON is a job of GET /scheduler/jobs (jobs/service.JobView: the
// Chronos fields plus Berth's state and nextDue), the fields the jobs
// pages show; Raw is its whole JSON.
type jobJSON struct {
	Name                   string   `json:"name"`
	Command                string   `json:"command"`
	Schedule               string   `json:"schedule"`
	ScheduleTimeZone       string   `json:"scheduleTimeZone"`
	Parents                []string `json:"parents"`
	Owner                  string   `json:"owner"`
	Description            string   `json:"description"`
	Disabled               bool     `json:"disabled"`
	Retries                int      `json:"retries"`
	CPUs                   float64  `json:"cpus"`
	Mem                    float64  `json:"mem"`
	Disk                   float64  `json:"disk"`
	Queue                  string   `json:"queue"`
	SuccessCount           int      `json:"successCount"`
	ErrorCount             int      `json:"errorCount"`
	LastSuccess            string   `json:"lastSuccess"`
	LastError              string   `json:"lastError"`
	ErrorsSinceLastSuccess int      `json:"errorsSinceLastSuccess"`
	Container              *struct {
		Image string `json:"image"`
	} `json:"container"`
	// State is the API's: idle, queued or running.
	State string `json:"state"`
	// NextDue is when the next scheduled run is due (absent: none).
	NextDue string          `json:"nextDue"`
	Raw     json.RawMessage `json:"-"`
}

type plainJob jobJSON

func (j *jobJSON) UnmarshalJSON(b []byte) error {
	var p plainJob
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*j = jobJSON(p)
	j.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// JobsPage lists the jobs with their dependency graph.
type JobsPage struct {
	Page
	// Missing is set when the master does not serve the job API.
	Missing string
	Jobs    []JobRow
	Graph   Graph
	// Queued and Running count the jobs in those states.
	Queued, Running int
}

// JobRow is one job in the list (and the head of its page).
type JobRow struct {
	Name, Href, Command, Schedule, Next string
	LastSuccess, LastError, Owner       string
	// State is the API's state (idle, queued, running); a disabled
	// idle job is "disabled".
	State string
	// Result is the last run's outcome: success, failure, or fresh (no
	// run yet), as /scheduler/jobs/summary's status says it.
	Result                         string
	Queue                          string
	Parents                        []string
	Successes, Errors, ErrorsSince int
	Disabled                       bool
	Image                          string
	CPUs, Mem, Disk                string
}

func jobHref(name string) string { return "/ui/jobs/" + url.PathEscape(name) }

// lastResult is the job's last outcome, the way the job API's summary
// computes its status.
func lastResult(j jobJSON) string {
	switch {
	case j.LastSuccess == "" && j.LastError == "":
		return "fresh"
	case j.LastError > j.LastSuccess:
		return "failure"
	}
	return "success"
}

func jobRow(j jobJSON, now time.Time) JobRow {
	r := JobRow{Name: j.Name, Href: jobHref(j.Name), Command: j.Command, Schedule: j.Schedule,
		Parents: j.Parents, Successes: j.SuccessCount, Errors: j.ErrorCount, ErrorsSince: j.ErrorsSinceLastSuccess,
		Disabled: j.Disabled, Owner: j.Owner, LastSuccess: ago(now, j.LastSuccess), LastError: ago(now, j.LastError),
		Next: ago(now, j.NextDue), State: j.State, Result: lastResult(j), Queue: j.Queue,
		CPUs: num(j.CPUs), Mem: num(j.Mem), Disk: num(j.Disk)}
	if j.Container != nil {
		r.Image = j.Container.Image
	}
	if len(j.Parents) > 0 {
		r.Schedule = "after " + strings.Join(j.Parents, ", ")
	}
	if j.Disabled && (r.State == "" || r.State == "idle") {
		r.State = "disabled"
	}
	return r
}

// JobsView is the jobs page: jobs by name and their graph.
func JobsView(jobs []jobJSON, now time.Time) JobsPage {
	p := JobsPage{Page: Page{Title: "Jobs", Nav: "jobs"}}
	jobs = slices.Clone(jobs)
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Name < jobs[j].Name })
	for _, j := range jobs {
		r := jobRow(j, now)
		p.Jobs = append(p.Jobs, r)
		switch r.State {
		case "queued":
			p.Queued++
		case "running":
			p.Running++
		}
	}
	p.Graph = JobGraph(p.Jobs, "")
	return p
}

// JobPage is one job: its settings, JSON, runs, graph and actions.
type JobPage struct {
	Page
	Job   JobRow
	JSON  string
	Runs  []RunRow
	Graph Graph
}

// RunRow is one run of a job: in flight (queued, running) or ended.
type RunRow struct {
	Task, Href, State, Cause, Due, Started, Ended, Took, Agent, Message string
	// Logs is set when the run had a task on an agent (its sandbox).
	Logs bool
}

// JobView is the page of job j with its runs; all is every job (for the
// part of the dependency graph j belongs to).
func JobView(j jobJSON, all []jobJSON, runs []RunRow, now time.Time) JobPage {
	rows := make([]JobRow, 0, len(all))
	for _, o := range all {
		rows = append(rows, jobRow(o, now))
	}
	return JobPage{Page: Page{Title: "Job " + j.Name, Nav: "jobs"}, Job: jobRow(j, now),
		JSON: prettyJSON(j.Raw), Runs: runs, Graph: JobGraph(related(rows, j.Name), j.Name)}
}

// related is the jobs connected to name through parents, in either
// direction (only name itself when it has no relatives).
func related(jobs []JobRow, name string) []JobRow {
	adj := map[string][]string{}
	for _, j := range jobs {
		for _, p := range j.Parents {
			adj[j.Name] = append(adj[j.Name], p)
			adj[p] = append(adj[p], j.Name)
		}
	}
	seen := map[string]bool{name: true}
	for todo := []string{name}; len(todo) > 0; {
		n := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, m := range adj[n] {
			if !seen[m] {
				seen[m] = true
				todo = append(todo, m)
			}
		}
	}
	var out []JobRow
	for _, j := range jobs {
		if seen[j.Name] {
			out = append(out, j)
		}
	}
	return out
}

// jobStat is GET /scheduler/job/stat/{name} (jobs/service.Stat): the
// ended runs newest first and the runs in flight.
type jobStat = apiclient.JobStat

// JobRuns is the job page's runs: those in flight first, then the ended
// ones newest first.
func JobRuns(st jobStat, now time.Time) []RunRow {
	var out []RunRow
	for _, in := range st.Inflight {
		out = append(out, RunRow{Task: in.TaskID, Href: taskHref(in.TaskID), State: in.State, Cause: runCause(in.Cause, in.Attempt),
			Due: ago(now, in.Due), Started: ago(now, in.Started), Agent: in.Host, Message: in.Message,
			Logs: in.Launched != "" || in.Started != ""})
	}
	for _, h := range st.History {
		r := RunRow{Task: h.TaskID, Href: taskHref(h.TaskID), State: h.Status, Cause: runCause(h.Cause, h.Attempt),
			Due: ago(now, h.Due), Started: ago(now, h.Started), Ended: ago(now, h.Ended), Agent: h.Agent,
			Message: h.Message, Logs: h.TaskID != "" && h.Agent != ""}
		if h.Exit != nil && h.Status != "success" {
			r.State += fmt.Sprintf(" (exit %d)", *h.Exit)
		}
		if h.Skipped > 0 {
			r.State += fmt.Sprintf(" (%d occurrences)", h.Skipped)
		}
		if h.Duration > 0 {
			r.Took = took(h.Duration)
		}
		out = append(out, r)
	}
	return out
}

func runCause(cause string, attempt int) string {
	if attempt > 0 {
		return fmt.Sprintf("%s, retry %d", cause, attempt)
	}
	return cause
}

// took is a run's duration in seconds, readable.
func took(sec float64) string {
	if sec < 60 {
		return fmt.Sprintf("%.1fs", sec)
	}
	return short(time.Duration(sec * float64(time.Second)))
}
