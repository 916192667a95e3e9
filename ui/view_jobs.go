package ui

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// jobJSON is a Chronos job, the fields the jobs pages show; Raw is its
// whole JSON.
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
	SuccessCount           int      `json:"successCount"`
	ErrorCount             int      `json:"errorCount"`
	LastSuccess            string   `json:"lastSuccess"`
	LastError              string   `json:"lastError"`
	ErrorsSinceLastSuccess int      `json:"errorsSinceLastSuccess"`
	Container              *struct {
		Image string `json:"image"`
	} `json:"container"`
	Raw json.RawMessage `json:"-"`
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

// JobsPage lists the jobs with their dependency graph and queues.
type JobsPage struct {
	Page
	// Missing is set when the master does not serve the job API.
	Missing string
	Jobs    []JobRow
	Graph   Graph
	Queues  []QueueShare
}

// JobRow is one job in the list (and the head of its page).
type JobRow struct {
	Name, Href, Command, Schedule, Next  string
	LastSuccess, LastError, State, Owner string
	Parents                              []string
	Successes, Errors                    int
	Disabled                             bool
	Image                                string
	CPUs, Mem, Disk                      string
}

// QueueShare is one capacity queue: configured and used share.
type QueueShare struct {
	Name, Configured, Used string
	UsedPct                int
}

func jobHref(name string) string { return "/ui/jobs/" + url.PathEscape(name) }

// nextRun is the due time of a Chronos schedule (R[n]/start/period): the
// stored start is the next run; "" when no run is left or it does not
// parse.
func nextRun(schedule string, now time.Time) string {
	parts := strings.Split(schedule, "/")
	if len(parts) != 3 || parts[0] == "R0" {
		return ""
	}
	if parts[1] == "" {
		return "now"
	}
	t, err := time.Parse(time.RFC3339Nano, parts[1])
	if err != nil {
		return parts[1]
	}
	return agoTime(now, t)
}

func jobRow(j jobJSON, now time.Time) JobRow {
	r := JobRow{Name: j.Name, Href: jobHref(j.Name), Command: j.Command, Schedule: j.Schedule,
		Parents: j.Parents, Successes: j.SuccessCount, Errors: j.ErrorCount, Disabled: j.Disabled, Owner: j.Owner,
		LastSuccess: ago(now, j.LastSuccess), LastError: ago(now, j.LastError),
		CPUs: num(j.CPUs), Mem: num(j.Mem), Disk: num(j.Disk)}
	if j.Container != nil {
		r.Image = j.Container.Image
	}
	if len(j.Parents) > 0 {
		r.Schedule = "after " + strings.Join(j.Parents, ", ")
	} else if !j.Disabled {
		r.Next = nextRun(j.Schedule, now)
	}
	switch {
	case j.Disabled:
		r.State = "disabled"
	case j.LastError != "" && (j.LastSuccess == "" || j.LastError > j.LastSuccess):
		r.State = "failure"
	case j.LastSuccess != "":
		r.State = "success"
	default:
		r.State = "fresh"
	}
	return r
}

// JobsView is the jobs page: jobs by name, their graph, the queues.
func JobsView(jobs []jobJSON, queues []map[string]any, now time.Time) JobsPage {
	p := JobsPage{Page: Page{Title: "Jobs", Nav: "jobs"}}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Name < jobs[j].Name })
	for _, j := range jobs {
		p.Jobs = append(p.Jobs, jobRow(j, now))
	}
	p.Graph = JobGraph(p.Jobs)
	for _, q := range queues {
		qs := QueueShare{Name: str(q["name"]), Configured: str(firstOf(q, "share", "weight", "configured")),
			Used: str(firstOf(q, "used", "usedShare"))}
		if u, ok := firstOf(q, "used", "usedShare").(float64); ok {
			qs.UsedPct = int(100*u + 0.5)
			if u > 1 {
				qs.UsedPct = int(u + 0.5)
			}
		}
		p.Queues = append(p.Queues, qs)
	}
	return p
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

// JobPage is one job: its settings, JSON, runs and actions.
type JobPage struct {
	Page
	Job  JobRow
	JSON string
	Runs []RunRow
}

// RunRow is one run of a job (from its task history).
type RunRow struct {
	Task, Href, State, Started, Ended, Agent string
}

// JobView is the page of job j with its recent runs.
func JobView(j jobJSON, runs []RunRow, now time.Time) JobPage {
	return JobPage{Page: Page{Title: "Job " + j.Name, Nav: "jobs"}, Job: jobRow(j, now),
		JSON: prettyJSON(j.Raw), Runs: runs}
}

// Graph is the jobs' dependency graph laid out for SVG: one column per
// depth (a job sits right of its deepest parent), one row per job in its
// column.
type Graph struct {
	Width, Height int
	Nodes         []GraphNode
	Edges         []GraphEdge
}

// GraphNode is one job's box.
type GraphNode struct {
	Name, Label, Href, State string
	X, Y, W, H, TX, TY       int
}

// GraphEdge is one parent → child arrow.
type GraphEdge struct {
	X1, Y1, X2, Y2 int
}

const (
	graphW, graphH       = 150, 34
	graphGapX, graphGapY = 60, 18
	graphPad             = 10
)

// JobGraph lays the jobs out by depth; a job whose parent is unknown
// sits at depth 0. Cycles (the API refuses them) are cut.
func JobGraph(jobs []JobRow) Graph {
	byName := map[string]JobRow{}
	for _, j := range jobs {
		byName[j.Name] = j
	}
	depth := map[string]int{}
	var depthOf func(name string, seen map[string]bool) int
	depthOf = func(name string, seen map[string]bool) int {
		if d, ok := depth[name]; ok {
			return d
		}
		if seen[name] {
			return 0
		}
		seen[name] = true
		d := 0
		for _, p := range byName[name].Parents {
			if _, ok := byName[p]; ok {
				d = max(d, depthOf(p, seen)+1)
			}
		}
		depth[name] = d
		return d
	}
	cols := map[int][]string{}
	maxDepth := 0
	for _, j := range jobs {
		d := depthOf(j.Name, map[string]bool{})
		cols[d] = append(cols[d], j.Name)
		maxDepth = max(maxDepth, d)
	}
	var g Graph
	pos := map[string]GraphNode{}
	rows := 0
	for d := 0; d <= maxDepth; d++ {
		sort.Strings(cols[d])
		for i, name := range cols[d] {
			n := GraphNode{Name: name, Label: name, Href: jobHref(name), State: byName[name].State,
				X: graphPad + d*(graphW+graphGapX), Y: graphPad + i*(graphH+graphGapY), W: graphW, H: graphH}
			if len(n.Label) > 18 {
				n.Label = n.Label[:17] + "…"
			}
			n.TX, n.TY = n.X+8, n.Y+graphH/2+5
			pos[name] = n
			g.Nodes = append(g.Nodes, n)
		}
		rows = max(rows, len(cols[d]))
	}
	for _, j := range jobs {
		c := pos[j.Name]
		for _, p := range j.Parents {
			if pn, ok := pos[p]; ok && depth[p] < depth[j.Name] {
				g.Edges = append(g.Edges, GraphEdge{X1: pn.X + pn.W, Y1: pn.Y + pn.H/2, X2: c.X - 2, Y2: c.Y + c.H/2})
			}
		}
	}
	if len(jobs) > 0 {
		g.Width = 2*graphPad + (maxDepth+1)*graphW + maxDepth*graphGapX
		g.Height = 2*graphPad + rows*graphH + (rows-1)*graphGapY
	}
	return g
}

// JobForm holds the job form's fields as typed.
type JobForm struct {
	Name, Command, Schedule, TimeZone, Parents, Owner, Description string
	CPUs, Mem, Disk, Retries, Image                                string
	Disabled, Shell                                                bool
}

// JobFormPage is the ADD JOB / edit job form, with a JSON mode on the
// same document.
type JobFormPage struct {
	Page
	Edit    bool
	Action  string
	Mode    string
	F       JobForm
	JSON    string
	Base    string
	Errors  map[string][]string
	General []string
	Fields  map[string]Field
}

// JobFormFromJSON reads the form's fields out of a job.
func JobFormFromJSON(doc json.RawMessage) JobForm {
	var m map[string]any
	_ = json.Unmarshal(doc, &m)
	var parents []string
	for _, p := range list(m["parents"]) {
		parents = append(parents, str(p))
	}
	f := JobForm{Name: str(m["name"]), Command: str(m["command"]), Schedule: str(m["schedule"]),
		TimeZone: str(m["scheduleTimeZone"]), Parents: strings.Join(parents, ", "), Owner: str(m["owner"]),
		Description: str(m["description"]), CPUs: str(m["cpus"]), Mem: str(m["mem"]), Disk: str(m["disk"]),
		Retries: str(m["retries"]), Image: str(obj(m["container"])["image"]), Disabled: m["disabled"] == true,
		Shell: m["shell"] != false}
	return f
}

// JobFormFromValues reads a submitted job form.
func JobFormFromValues(v url.Values) JobForm {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return JobForm{Name: g("name"), Command: v.Get("command"), Schedule: g("schedule"), TimeZone: g("scheduleTimeZone"),
		Parents: g("parents"), Owner: g("owner"), Description: g("description"), CPUs: g("cpus"), Mem: g("mem"),
		Disk: g("disk"), Retries: g("retries"), Image: g("image"), Disabled: v.Get("disabled") == "on",
		Shell: v.Get("shell") == "on"}
}

// ApplyJobForm merges the form into base (other fields kept): a job with
// parents is dependent (its schedule dropped), otherwise scheduled.
func ApplyJobForm(base json.RawMessage, f JobForm) json.RawMessage {
	m := map[string]any{}
	_ = json.Unmarshal(base, &m)
	if m == nil {
		m = map[string]any{}
	}
	set := func(k, v string) {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	setNum := func(k, v string) {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = numberOrString(v)
		}
	}
	set("name", f.Name)
	set("command", f.Command)
	set("scheduleTimeZone", f.TimeZone)
	set("owner", f.Owner)
	set("description", f.Description)
	setNum("cpus", f.CPUs)
	setNum("mem", f.Mem)
	setNum("disk", f.Disk)
	setNum("retries", f.Retries)
	m["disabled"], m["shell"] = f.Disabled, f.Shell
	var parents []string
	for _, p := range strings.Split(f.Parents, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parents = append(parents, p)
		}
	}
	if len(parents) > 0 {
		m["parents"] = parents
		delete(m, "schedule")
	} else {
		delete(m, "parents")
		set("schedule", f.Schedule)
	}
	if f.Image != "" {
		c := obj(m["container"])
		if c == nil {
			c = map[string]any{"type": "DOCKER"}
		}
		c["image"] = f.Image
		m["container"] = c
	} else {
		delete(m, "container")
	}
	b, err := json.Marshal(m)
	if err != nil {
		return base
	}
	return b
}

// jobErrorField guesses which field a Chronos error message (which names
// no path) is about.
func jobErrorField(msg string) string {
	l := strings.ToLower(msg)
	for _, c := range []struct{ word, field string }{{"schedule", "schedule"}, {"parent", "parents"},
		{"name", "name"}, {"command", "command"}, {"cpus", "cpus"}, {"mem", "mem"}, {"disk", "disk"},
		{"retries", "retries"}, {"image", "image"}, {"container", "image"}} {
		if strings.Contains(l, c.word) {
			return c.field
		}
	}
	return ""
}

// NewJobFormView is the job form for doc (edit: an existing job), with
// the API's error message (if any) beside the field it is about.
func NewJobFormView(doc json.RawMessage, f *JobForm, mode, apiErr string, edit bool) JobFormPage {
	p := JobFormPage{Page: Page{Title: "Add job", Nav: "jobs"}, Edit: edit, Action: "/ui/jobs/new", Mode: mode,
		Errors: map[string][]string{}}
	if mode != "json" {
		p.Mode = "form"
	}
	if f == nil {
		ff := JobFormFromJSON(doc)
		f = &ff
	}
	p.F = *f
	if edit {
		p.Title, p.Action = "Edit job "+f.Name, jobHref(f.Name)+"/edit"
	}
	p.JSON, p.Base = prettyJSON(doc), string(doc)
	if apiErr != "" {
		if field := jobErrorField(apiErr); field != "" && p.Mode == "form" {
			p.Errors[field] = []string{apiErr}
		} else {
			p.General = []string{apiErr}
		}
	}
	p.Fields = map[string]Field{}
	add := func(name, label, value, placeholder, mode string) {
		p.Fields[name] = Field{Key: name, Name: name, Label: label, Value: value, Placeholder: placeholder,
			Mode: mode, Errors: p.Errors[name]}
	}
	add("name", "Name", f.Name, "nightly-report", "")
	add("command", "Command", f.Command, "echo hello", "")
	add("schedule", "Schedule (ISO 8601 R[n]/start/period)", f.Schedule, "R/2026-01-01T02:30:00Z/P1D", "")
	add("scheduleTimeZone", "Time zone", f.TimeZone, "Europe/Berlin", "")
	add("parents", "Parents (dependent job: runs after these succeed)", f.Parents, "extract, load", "")
	add("owner", "Owner (e-mails)", f.Owner, "team@example.com", "")
	add("description", "Description", f.Description, "", "")
	add("cpus", "CPUs", f.CPUs, "0.1", "decimal")
	add("mem", "Memory (MiB)", f.Mem, "128", "decimal")
	add("disk", "Disk (MiB)", f.Disk, "256", "decimal")
	add("retries", "Retries", f.Retries, "2", "numeric")
	add("image", "Docker image", f.Image, "berth/busybox", "")
	return p
}

// jobRunsFrom reads a Chronos job stat answer's task history.
func jobRunsFrom(stat map[string]any, now time.Time) []RunRow {
	var out []RunRow
	for _, t := range list(firstOf(stat, "taskStatHistory", "runs", "history")) {
		m := obj(t)
		id := str(firstOf(m, "taskId", "id"))
		state := stateLabel(str(firstOf(m, "taskState", "state", "status")))
		if x, ok := m["exitStatus"].(float64); ok && state == "failure" {
			state += fmt.Sprintf(" (exit %d)", int(x))
		}
		out = append(out, RunRow{Task: id, Href: taskHref(id), State: state,
			Started: ago(now, str(firstOf(m, "startTime", "startedAt", "started"))), Ended: ago(now, str(firstOf(m, "endTime", "finishedAt", "ended"))),
			Agent: str(firstOf(m, "slaveId", "agent", "agentId"))})
	}
	return out
}
