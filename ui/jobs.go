package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The Chronos-compatible job API the jobs pages use (issue 14).
const (
	jobsPath       = "/scheduler/jobs"
	jobPath        = "/scheduler/job/"
	iso8601Path    = "/scheduler/iso8601"
	dependencyPath = "/scheduler/dependency"
	queuesPath     = "/scheduler/queues"
	jobStatPath    = "/scheduler/job/stat/"
)

// missingJobs is what the jobs pages say when the master has no job API.
const missingJobs = "This master does not serve the job API (/scheduler/jobs)."

func (u *UI) getJobs(r *http.Request) ([]jobJSON, error) {
	var jobs []jobJSON
	err := u.api(r).get(r.Context(), jobsPath, &jobs)
	return jobs, err
}

func (u *UI) jobsPage(w http.ResponseWriter, r *http.Request) {
	jobs, err := u.getJobs(r)
	if statusOf(err) == http.StatusNotFound {
		p := JobsPage{Page: Page{Title: "Jobs", Nav: "jobs"}, Missing: missingJobs}
		u.render(w, r, http.StatusOK, "jobs", &p)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := JobsView(jobs, u.now())
	u.render(w, r, http.StatusOK, "jobs", &p)
}

// queuesPage shows GET /scheduler/queues.
func (u *UI) queuesPage(w http.ResponseWriter, r *http.Request) {
	var queues []queueJSON
	err := u.api(r).get(r.Context(), queuesPath, &queues)
	if statusOf(err) == http.StatusNotFound {
		p := QueuesPage{Page: Page{Title: "Job queues", Nav: "jobs"}, Missing: missingJobs}
		u.render(w, r, http.StatusOK, "queues", &p)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := QueuesView(queues)
	u.render(w, r, http.StatusOK, "queues", &p)
}

// findJob is job name among every job (404 when absent).
func (u *UI) findJob(r *http.Request, name string) (*jobJSON, []jobJSON, error) {
	jobs, err := u.getJobs(r)
	if err != nil {
		return nil, nil, err
	}
	for i := range jobs {
		if jobs[i].Name == name {
			return &jobs[i], jobs, nil
		}
	}
	return nil, nil, &apiError{Method: http.MethodGet, Path: jobsPath, Status: http.StatusNotFound,
		Message: "Job '" + name + "' does not exist"}
}

func (u *UI) jobPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	j, all, err := u.findJob(r, name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var stat jobStat
	if err := u.api(r).get(r.Context(), jobStatPath+url.PathEscape(name), &stat); statusOf(err) == http.StatusUnauthorized {
		u.fail(w, r, err)
		return
	}
	p := JobView(*j, all, JobRuns(stat, u.now()), u.now())
	u.render(w, r, http.StatusOK, "job", &p)
}

// saveJob posts a job to /scheduler/dependency when it has parents,
// /scheduler/iso8601 otherwise (both create or replace).
func (u *UI) saveJob(r *http.Request, doc json.RawMessage) error {
	var probe struct {
		Parents []string `json:"parents"`
	}
	_ = json.Unmarshal(doc, &probe)
	path := iso8601Path
	if len(probe.Parents) > 0 {
		path = dependencyPath
	}
	_, _, err := u.api(r).call(r.Context(), http.MethodPost, path, doc)
	return err
}

// jobAction runs the job page's forms: run, disable, enable, delete.
func (u *UI) jobAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	back := jobHref(name)
	if err := r.ParseForm(); err != nil {
		redirect(w, r, back, "", err)
		return
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Path == "/ui/jobs" {
		back = "/ui/jobs"
	}
	a, ctx := u.api(r), r.Context()
	var err error
	var msg string
	switch r.PostForm.Get("action") {
	case "run":
		_, _, err = a.call(ctx, http.MethodPut, jobPath+url.PathEscape(name), nil)
		msg = "Started a run of " + name
	case "disable", "enable":
		var j *jobJSON
		if j, _, err = u.findJob(r, name); err == nil {
			var m map[string]any
			_ = json.Unmarshal(j.Raw, &m)
			m["disabled"] = r.PostForm.Get("action") == "disable"
			doc, _ := json.Marshal(m)
			err = u.saveJob(r, doc)
		}
		msg = strings.ToUpper(r.PostForm.Get("action")[:1]) + r.PostForm.Get("action")[1:] + "d " + name
	case "delete":
		if strings.TrimSpace(r.PostForm.Get("confirm")) != name {
			redirect(w, r, back, "", fmt.Errorf("not deleted: type the job name %s to confirm", name))
			return
		}
		if _, _, err = a.call(ctx, http.MethodDelete, jobPath+url.PathEscape(name), nil); err == nil {
			redirect(w, r, "/ui/jobs", "Deleted "+name, nil)
			return
		}
	default:
		err = fmt.Errorf("unknown action %q", r.PostForm.Get("action"))
	}
	if statusOf(err) == http.StatusUnauthorized {
		u.fail(w, r, err)
		return
	}
	redirect(w, r, back, msg, err)
}

var newJob = json.RawMessage(`{"name":"","command":"","schedule":"R//PT1H","cpus":0.1,"mem":64,"shell":true}`)

func (u *UI) newJobPage(w http.ResponseWriter, r *http.Request) {
	if _, err := u.getJobs(r); err != nil && statusOf(err) != http.StatusNotFound {
		u.fail(w, r, err)
		return
	}
	p := NewJobFormView(newJob, nil, r.URL.Query().Get("mode"), "", false)
	u.render(w, r, http.StatusOK, "jobform", &p)
}

func (u *UI) editJobPage(w http.ResponseWriter, r *http.Request) {
	j, _, err := u.findJob(r, r.PathValue("name"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := NewJobFormView(jobEditable(j.Raw), nil, r.URL.Query().Get("mode"), "", true)
	u.render(w, r, http.StatusOK, "jobform", &p)
}

// jobEditable drops the read-only run counters of a job.
func jobEditable(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	for _, k := range []string{"successCount", "errorCount", "lastSuccess", "lastError", "errorsSinceLastSuccess", "state", "nextDue"} {
		delete(m, k)
	}
	b, _ := json.Marshal(m)
	return b
}

// jobFormPost handles the job form: mode switches re-render the same
// document; saving posts it and shows the API's message beside the field
// it is about.
func (u *UI) jobFormPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	edit := r.PathValue("name") != ""
	var doc json.RawMessage
	var form *JobForm
	if f.Get("current") == "json" {
		doc = json.RawMessage(f.Get("json"))
		if !json.Valid(doc) {
			p := NewJobFormView(json.RawMessage(f.Get("base")), nil, "json", "not valid JSON", edit)
			p.JSON = f.Get("json")
			u.render(w, r, http.StatusUnprocessableEntity, "jobform", &p)
			return
		}
	} else {
		ff := JobFormFromValues(f)
		form = &ff
		doc = ApplyJobForm(json.RawMessage(f.Get("base")), ff)
	}
	switch f.Get("mode") {
	case "to-json", "to-form":
		p := NewJobFormView(doc, nil, strings.TrimPrefix(f.Get("mode"), "to-"), "", edit)
		u.render(w, r, http.StatusOK, "jobform", &p)
		return
	}
	err := u.saveJob(r, doc)
	if err == nil {
		var saved struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(doc, &saved)
		redirect(w, r, jobHref(saved.Name), "Saved job "+saved.Name, nil)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status == http.StatusUnauthorized {
		u.fail(w, r, err)
		return
	}
	p := NewJobFormView(doc, form, f.Get("current"), ae.Message, edit)
	if form != nil {
		p.Base = f.Get("base")
	}
	u.render(w, r, ae.Status, "jobform", &p)
}
