package ui

import (
	"encoding/json"
	"net/url"
	"strings"
)

// JobForm holds the job form's fields as typed.
type JobForm struct {
	Name, Command, Schedule, TimeZone, Parents, Owner, Description string
	CPUs, Mem, Disk, Retries, Image, Queue                         string
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
		Retries: str(m["retries"]), Image: str(obj(m["container"])["image"]), Queue: str(m["queue"]), Disabled: m["disabled"] == true,
		Shell: m["shell"] != false}
	return f
}

// JobFormFromValues reads a submitted job form.
func JobFormFromValues(v url.Values) JobForm {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return JobForm{Name: g("name"), Command: v.Get("command"), Schedule: g("schedule"), TimeZone: g("scheduleTimeZone"),
		Parents: g("parents"), Owner: g("owner"), Description: g("description"), CPUs: g("cpus"), Mem: g("mem"),
		Disk: g("disk"), Retries: g("retries"), Image: g("image"), Queue: g("queue"), Disabled: v.Get("disabled") == "on",
		Shell: v.Get("shell") == "on"}
}

// ApplyJobForm merges the form into base (other fields kept): a job with
// parents is dependent (its schedule dropped), otherwise scheduled.
func ApplyJobForm(base json.RawMessage, f JobForm) json.RawMessage {
	m := decodeFormDoc(base)
	set, setNum := m.str, m.num
	set("name", f.Name)
	set("command", f.Command)
	set("scheduleTimeZone", f.TimeZone)
	set("owner", f.Owner)
	set("description", f.Description)
	set("queue", f.Queue)
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

// jobErrorField is the form field a job API error message is about: the
// field it names first, else a guess from its words (Chronos' own
// messages name no field).
func jobErrorField(msg string) string {
	l := strings.ToLower(msg)
	// The job API names the field first ("<field>: …").
	if f, _, ok := strings.Cut(l, ":"); ok {
		switch f = strings.TrimSpace(f); f {
		case "name", "command", "schedule", "scheduletimezone", "parents", "owner", "cpus", "mem", "disk", "retries", "queue":
			if f == "scheduletimezone" {
				f = "scheduleTimeZone"
			}
			return f
		case "container", "container.image":
			return "image"
		}
	}
	for _, c := range []struct{ word, field string }{{"schedule", "schedule"}, {"parent", "parents"},
		{"name", "name"}, {"command", "command"}, {"cpus", "cpus"}, {"mem", "mem"}, {"disk", "disk"},
		{"retries", "retries"}, {"image", "image"}, {"container", "image"}, {"queue", "queue"}} {
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
	add("queue", "Queue (capacity queue, see Jobs › Capacity queues)", f.Queue, "default", "")
	return p
}
