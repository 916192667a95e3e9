package ui

import (
	"bytes"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// AppPage is one app: its head, tasks, configuration, versions,
// deployments and, while instances wait, why.
type AppPage struct {
	Page
	App         AppRow
	EditHref    string
	Tasks       []TaskRow
	Config      string
	Versions    []VersionRow
	Diff        *DiffView
	Deployments []DeploymentRow
	Waiting     *WaitView
	LastFailure string
	Timeline    []TimelineGroup
	// Retry offers an action a deployment refused again, with force.
	Retry *RetryForm
}

// TaskRow is one task of an app (or of the tasks page).
type TaskRow struct {
	ID, Href       string
	App, AppHref   string
	Agent, Host    string
	AgentShort     string
	HostPorts      []string
	State          string
	Health, HClass string
	Started        string
	Version        string
	LogsHref       string
	ErrLogsHref    string
}

// VersionRow is one stored version of an app.
type VersionRow struct {
	Version string
	Current bool
	// A and B mark the two versions the diff compares.
	A, B bool
}

// DeploymentRow is one deployment with its step progress.
type DeploymentRow struct {
	ID, Version       string
	Step, Total, Pct  int
	Steps             []StepRow
	AffectedApps      []string
	CurrentActionsStr string
}

// StepRow is one deployment step: its actions and whether it is done,
// current or pending.
type StepRow struct {
	N       int
	Actions string
	State   string
}

// WaitView explains instances still to place.
type WaitView struct {
	Count       int
	Explanation string
	DelaySecs   int
	Since       string
	Reasons     []apiclient.RejectReason
}

// AppInputs are what the app page is made of, as the API answered.
type AppInputs struct {
	App         *apiclient.App
	Versions    []string
	Deployments []apiclient.Deployment
	Queue       []apiclient.QueueEntry
	// DiffA and DiffB are the compared versions' definitions (nil: no
	// diff), named by their versions.
	DiffA, DiffB       json.RawMessage
	DiffAVer, DiffBVer string
	// Routes is lbsync's status (nil: not configured or unreachable).
	Routes *routesJSON
	// Retry is an action refused by a deployment's lock (nil: none).
	Retry *RetryForm
}

// AppView is the page of one app.
func AppView(in AppInputs, now time.Time) AppPage {
	a := in.App
	q := queueByApp(in.Queue)[a.ID]
	p := AppPage{Page: Page{Title: a.ID, Nav: "apps"}, App: appRow(a, q), EditHref: editHref(a.ID)}
	for _, t := range a.Tasks {
		p.Tasks = append(p.Tasks, taskRow(t, now))
	}
	p.Timeline = Timeline(a.Tasks, routedTasks(in.Routes))
	p.Retry = in.Retry
	p.Config = prettyJSON(definitionOnly(a.Raw))
	for _, v := range in.Versions {
		p.Versions = append(p.Versions, VersionRow{Version: v, Current: v == a.Version,
			A: v == in.DiffAVer, B: v == in.DiffBVer})
	}
	if in.DiffA != nil && in.DiffB != nil {
		p.Diff = &DiffView{A: in.DiffAVer, B: in.DiffBVer,
			Lines: Diff(prettyJSON(definitionOnly(in.DiffA)), prettyJSON(definitionOnly(in.DiffB)))}
	}
	for _, d := range in.Deployments {
		for _, id := range d.AffectedApps {
			if id == a.ID {
				p.Deployments = append(p.Deployments, deploymentRow(d))
				break
			}
		}
	}
	if q != nil && (q.Count > 0 || q.Delay.TimeLeftSeconds > 0) {
		p.Waiting = &WaitView{Count: q.Count, Explanation: q.Explanation, DelaySecs: q.Delay.TimeLeftSeconds,
			Since: ago(now, q.Since), Reasons: q.ProcessedOffersSummary.RejectSummaryLastOffers}
	}
	if f := a.LastTaskFailure; f != nil {
		p.LastFailure = f.State + " on " + f.Host + " " + ago(now, f.Timestamp) + ": " + f.Message
	}
	return p
}

func taskRow(t apiclient.Task, now time.Time) TaskRow {
	r := TaskRow{ID: t.ID, Href: taskHref(t.ID), App: t.AppID, AppHref: appHref(t.AppID), Agent: t.SlaveID,
		Host: t.Host, State: stateLabel(t.State), Version: t.Version,
		LogsHref: taskHref(t.ID) + "?stream=stdout", ErrLogsHref: taskHref(t.ID) + "?stream=stderr"}
	if job, ok := jobTaskApp(t.AppID); ok {
		r.App, r.AppHref = "job "+job, jobHref(job)
	}
	r.AgentShort = t.SlaveID
	if len(r.AgentShort) > 8 {
		r.AgentShort = r.AgentShort[:8] + "…"
	}
	for _, port := range t.Ports {
		r.HostPorts = append(r.HostPorts, net.JoinHostPort(t.Host, strconv.Itoa(port)))
	}
	if t.StartedAt != nil {
		r.Started = ago(now, *t.StartedAt)
	}
	r.Health, r.HClass = "no check", "n"
	if len(t.HealthCheckResults) > 0 {
		r.Health, r.HClass = "healthy", "h"
		for _, h := range t.HealthCheckResults {
			if !h.Alive {
				r.Health, r.HClass = "unhealthy", "u"
			}
		}
	}
	return r
}

func deploymentRow(d apiclient.Deployment) DeploymentRow {
	r := DeploymentRow{ID: d.ID, Version: d.Version, Step: d.CurrentStep, Total: d.TotalSteps,
		AffectedApps: d.AffectedApps}
	if r.Total == 0 {
		r.Total = len(d.Steps)
	}
	if r.Total > 0 {
		r.Pct = 100 * max(0, r.Step-1) / r.Total
	}
	for i, s := range d.Steps {
		st := "pending"
		switch {
		case i+1 < d.CurrentStep:
			st = "done"
		case i+1 == d.CurrentStep:
			st = "current"
		}
		r.Steps = append(r.Steps, StepRow{N: i + 1, Actions: actionsString(s.Actions), State: st})
	}
	r.CurrentActionsStr = actionsString(d.CurrentActions)
	return r
}

func actionsString(as []apiclient.Action) string {
	var b bytes.Buffer
	for i, a := range as {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Action + " " + a.App)
	}
	return b.String()
}

// statusFields are the AppInfo fields the API adds to a definition.
var statusFields = []string{"tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy",
	"deployments", "tasks", "lastTaskFailure", "readinessCheckResults", "taskStats", "versionInfo"}

// definitionOnly drops the status fields of an AppInfo, keeping the
// definition as a user would PUT it back.
func definitionOnly(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	for _, k := range statusFields {
		delete(m, k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

// prettyJSON indents raw (keys in order, as encoding/json writes maps).
func prettyJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
