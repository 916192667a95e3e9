package ui

import (
	"html"
	"html/template"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/apiclient"
)

// Status names, as Marathon's UI shows them.
const (
	StatusRunning   = "Running"
	StatusDeploying = "Deploying"
	StatusWaiting   = "Waiting"
	StatusDelayed   = "Delayed"
	StatusSuspended = "Suspended"
)

// AppsPage is the apps list.
type AppsPage struct {
	Page
	Query, Label string
	Apps         []AppRow
	// Total is the number of apps before the filter.
	Total int
	// CPUs and Mem are the shown apps' configured totals (× instances).
	CPUs, Mem string
}

// AppRow is one app in the list (and the head of its page).
type AppRow struct {
	ID, Href                            string
	Status                              string
	Instances                           int
	Running, Staged, Healthy, Unhealthy int
	Bar                                 []BarSeg
	// BarTitle names the bar's non-empty segments ("9 healthy, 1 unhealthy").
	BarTitle        string
	CPUs, Mem, Disk string
	ServicePorts    []int
	Labels          []string
	Image, Cmd      string
}

// BarSeg is one segment of an instances bar: Class is h (healthy), u
// (unhealthy), r (running, no health check), s (staged) or w (missing);
// N its weight.
type BarSeg struct {
	Class, Title string
	N            int
}

// appStatus is the app's status: the queue says Delayed or Waiting,
// a deployment makes it Deploying, no instances Suspended.
func appStatus(a *apiclient.App, q *apiclient.QueueEntry) string {
	switch {
	case q != nil && q.Delay.TimeLeftSeconds > 0 && !q.Delay.Overdue:
		return StatusDelayed
	case q != nil && q.Count > 0 && len(a.Deployments) == 0:
		return StatusWaiting
	case len(a.Deployments) > 0:
		return StatusDeploying
	case a.Instances == 0 && a.TasksRunning == 0 && a.TasksStaged == 0:
		return StatusSuspended
	default:
		return StatusRunning
	}
}

// instancesBar splits max(instances, tasks) into healthy, unhealthy,
// running without a health result, staged and missing.
func instancesBar(a *apiclient.App) []BarSeg {
	healthy := min(a.TasksHealthy, a.TasksRunning)
	unhealthy := min(a.TasksUnhealthy, a.TasksRunning-healthy)
	plain := a.TasksRunning - healthy - unhealthy
	missing := a.Instances - a.TasksRunning - a.TasksStaged
	var out []BarSeg
	add := func(class, title string, n int) {
		if n > 0 {
			out = append(out, BarSeg{Class: class, Title: strconv.Itoa(n) + " " + title, N: n})
		}
	}
	add("h", "healthy", healthy)
	add("u", "unhealthy", unhealthy)
	add("r", "running", plain)
	add("s", "staged", a.TasksStaged)
	add("w", "waiting", missing)
	return out
}

func barTitle(bar []BarSeg) string {
	parts := make([]string, len(bar))
	for i, s := range bar {
		parts[i] = s.Title
	}
	if len(parts) == 0 {
		return "no instances"
	}
	return strings.Join(parts, ", ")
}

// BarHTML is the instances bar's markup (the "bar" partial). It is built
// here, not by the template, because escaping its numbers value by value
// took a third of the apps page's render time at 1,000 apps; every value
// in it is a number or one of instancesBar's fixed class names, and the
// title is escaped all the same.
func (r AppRow) BarHTML() template.HTML {
	var b strings.Builder
	b.WriteString(`<span class="bar" title="`)
	b.WriteString(html.EscapeString(r.BarTitle))
	b.WriteString(`">`)
	for _, s := range r.Bar {
		b.WriteString(`<i class="` + html.EscapeString(s.Class) + `" style="flex:` + strconv.Itoa(s.N) + `"></i>`)
	}
	b.WriteString(`</span> ` + strconv.Itoa(r.Running) + "/" + strconv.Itoa(r.Instances))
	return template.HTML(b.String())
}

func appRow(a *apiclient.App, q *apiclient.QueueEntry) AppRow {
	bar := instancesBar(a)
	return AppRow{
		ID: a.ID, Href: appHref(a.ID), Status: appStatus(a, q), Instances: a.Instances,
		Running: a.TasksRunning, Staged: a.TasksStaged, Healthy: a.TasksHealthy, Unhealthy: a.TasksUnhealthy,
		Bar: bar, BarTitle: barTitle(bar), CPUs: num(a.CPUs), Mem: num(a.Mem), Disk: num(a.Disk),
		ServicePorts: a.ServicePorts(), Labels: sortedLabels(a.Labels), Image: a.Image(), Cmd: a.Cmd,
	}
}

// queueByApp indexes the launch queue by app id.
func queueByApp(queue []apiclient.QueueEntry) map[string]*apiclient.QueueEntry {
	out := make(map[string]*apiclient.QueueEntry, len(queue))
	for i := range queue {
		out[queue[i].App.ID] = &queue[i]
	}
	return out
}

// matchLabel is whether labels has key (spec "KEY") or key=value (spec
// "KEY=VALUE" or "KEY:VALUE").
func matchLabel(labels map[string]string, spec string) bool {
	k, v, hasV := strings.Cut(spec, "=")
	if !hasV {
		k, v, hasV = strings.Cut(spec, ":")
	}
	got, ok := labels[strings.TrimSpace(k)]
	return ok && (!hasV || got == strings.TrimSpace(v))
}

// AppsView is the apps page: the apps whose id contains query and that
// carry label (both optional), in id order as the API lists them.
func AppsView(apps []apiclient.App, queue []apiclient.QueueEntry, query, label string) AppsPage {
	p := AppsPage{Page: Page{Title: "Apps", Nav: "apps"}, Query: query, Label: label, Total: len(apps)}
	q := strings.ToLower(strings.TrimSpace(query))
	label = strings.TrimSpace(label)
	byApp := queueByApp(queue)
	p.Apps = make([]AppRow, 0, len(apps))
	var cpus, mem float64
	for i := range apps {
		a := &apps[i]
		if q != "" && !strings.Contains(strings.ToLower(a.ID), q) {
			continue
		}
		if label != "" && !matchLabel(a.Labels, label) {
			continue
		}
		p.Apps = append(p.Apps, appRow(a, byApp[a.ID]))
		cpus += a.CPUs * float64(a.Instances)
		mem += a.Mem * float64(a.Instances)
	}
	p.CPUs, p.Mem = num(cpus), num(mem)
	return p
}
