package ui

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berth-platform/berth/internal/apiclient"
)

// TasksPage lists every task (apps' and job runs'), then the ended
// tasks the API keeps.
type TasksPage struct {
	Page
	Tasks []TaskRow
	Ended []EndedRow
}

// TasksView is the tasks page, tasks ordered by app then id.
func TasksView(tasks []apiclient.Task, now time.Time) TasksPage {
	apiclient.SortTasks(tasks)
	p := TasksPage{Page: Page{Title: "Tasks", Nav: "tasks"}}
	for _, t := range tasks {
		p.Tasks = append(p.Tasks, taskRow(t, now))
	}
	return p
}

// SandboxPage is one task's output.
type SandboxPage struct {
	Page
	Task TaskRow
	// Found is false when the task is no longer listed (its logs may
	// still be on the agent).
	Found       bool
	Stream      string
	Streams     []Choice
	Text        string
	Truncated   bool
	Next        int64
	LogError    string
	RawHref     string
	DownloadURL string
	// Job and JobHref name the job when the task is one of its runs.
	Job, JobHref string
}

// jobOfTask is the job a run's task id names (ct-<job>.<due>.<attempt>.<random>), or "".
func jobOfTask(id string) string {
	rest, ok := strings.CutPrefix(id, "ct-")
	parts := strings.Split(rest, ".")
	if !ok || len(parts) < 4 {
		return ""
	}
	return strings.Join(parts[:len(parts)-3], ".")
}

// maxShownLog is how much of a log the sandbox page shows (the tail).
const maxShownLog = 64 << 10

// SandboxView is the sandbox page of task id showing stream's text
// (read from offset 0; next is the offset after it).
func SandboxView(id string, task *apiclient.Task, stream string, text []byte, next int64, logErr string, now time.Time) SandboxPage {
	p := SandboxPage{Page: Page{Title: "Task " + id, Nav: "tasks"}, Stream: stream, Next: next, LogError: logErr}
	if task != nil {
		p.Found, p.Task = true, taskRow(*task, now)
	} else {
		p.Task = TaskRow{ID: id, Href: taskHref(id)}
	}
	if p.Job = jobOfTask(id); p.Job != "" {
		p.JobHref, p.Nav = jobHref(p.Job), "jobs"
	}
	for _, s := range []string{"stdout", "stderr"} {
		p.Streams = append(p.Streams, Choice{Value: s, Label: s, Selected: s == stream})
	}
	if len(text) > maxShownLog {
		text = text[len(text)-maxShownLog:]
		for len(text) > 0 && !utf8.RuneStart(text[0]) {
			text = text[1:]
		}
		p.Truncated = true
	}
	p.Text = strings.ToValidUTF8(string(text), "\uFFFD")
	p.RawHref = taskHref(id) + "/logs?stream=" + stream
	p.DownloadURL = p.RawHref + "&download=1"
	return p
}

// AgentsPage lists the agents with their resources and the totals.
type AgentsPage struct {
	Page
	Agents []AgentRow
	Totals AgentRow
}

// AgentRow is one agent (or the totals).
type AgentRow struct {
	ID, Hostname, URL, State string
	Attributes               []string
	CPUs, Mem, Disk          Usage
	Ports, PortsUsed         string
	Tasks                    int
	LastSeen, Version        string
}

// Usage is used of total, with the percentage for a meter.
type Usage struct {
	Used, Total string
	Pct         int
}

func usage(used, total float64) Usage {
	u := Usage{Used: num(round2(used)), Total: num(round2(total))}
	if total > 0 {
		u.Pct = int(100*used/total + 0.5)
	}
	return u
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// agentState is unreachable, draining/drained (Mesos' drain_info),
// deactivated, or active.
func agentState(a agentJSON) string {
	switch {
	case !a.Active:
		return "unreachable"
	case a.DrainInfo != nil && a.DrainInfo.State != "":
		return strings.ToLower(a.DrainInfo.State)
	case a.Deactivated:
		return "deactivated"
	}
	return "active"
}

// portCount counts the ports of a Mesos range string ("[31000-31499, 32000-32000]").
func portCount(ranges string) int {
	n := 0
	for _, r := range strings.Split(strings.Trim(ranges, "[] "), ",") {
		lo, hi, ok := strings.Cut(strings.TrimSpace(r), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil || b < a {
			continue
		}
		n += b - a + 1
	}
	return n
}

// portRanges shows a Mesos range string as "31000–31499, 32000": without
// brackets, a one-port range as its port.
func portRanges(ranges string) string {
	var out []string
	for _, r := range strings.Split(strings.Trim(ranges, "[] "), ",") {
		lo, hi, ok := strings.Cut(strings.TrimSpace(r), "-")
		switch {
		case !ok:
			continue
		case lo == hi:
			out = append(out, lo)
		default:
			out = append(out, lo+"–"+hi)
		}
	}
	return strings.Join(out, ", ")
}

// AgentsView is the agents page.
func AgentsView(agents []agentJSON, now time.Time) AgentsPage {
	p := AgentsPage{Page: Page{Title: "Agents", Nav: "agents"}}
	var used, total resourcesJSON
	tasks := 0
	for _, a := range agents {
		state := agentState(a)
		n := 0
		for _, t := range a.Tasks {
			if !strings.HasPrefix(t.State, "TASK_KILLED") && !strings.HasPrefix(t.State, "TASK_FINISHED") {
				n++
			}
		}
		p.Agents = append(p.Agents, AgentRow{ID: a.ID, Hostname: a.Hostname, URL: a.URL, State: state,
			Attributes: sortedLabels(a.Attributes), CPUs: usage(a.UsedResources.CPUs, a.Resources.CPUs),
			Mem: usage(a.UsedResources.Mem, a.Resources.Mem), Disk: usage(a.UsedResources.Disk, a.Resources.Disk),
			Ports: portRanges(a.Resources.Ports), PortsUsed: strconv.Itoa(portCount(a.UsedResources.Ports)) + " of " + strconv.Itoa(portCount(a.Resources.Ports)),
			Tasks: n, LastSeen: ago(now, a.LastSeen),
			Version: a.Version})
		if a.Active {
			used.CPUs, used.Mem, used.Disk = used.CPUs+a.UsedResources.CPUs, used.Mem+a.UsedResources.Mem, used.Disk+a.UsedResources.Disk
			total.CPUs, total.Mem, total.Disk = total.CPUs+a.Resources.CPUs, total.Mem+a.Resources.Mem, total.Disk+a.Resources.Disk
		}
		tasks += n
	}
	p.Totals = AgentRow{ID: "total", State: fmt.Sprintf("%d agents", len(agents)), CPUs: usage(used.CPUs, total.CPUs),
		Mem: usage(used.Mem, total.Mem), Disk: usage(used.Disk, total.Disk), Tasks: tasks}
	return p
}

// ClusterPage is the masters, the store and the load balancer.
type ClusterPage struct {
	Page
	Self, Leader, Store, Version, Uptime string
	IsLeader, HA                         bool
	Masters                              []MasterRow
	MastersNote                          string
	ServicePorts                         string
	LB                                   *RoutesSummary
	LBError                              string
}

// MasterRow is one master of the group (/v2/info's berth.masters).
type MasterRow struct {
	URL          string
	Leader, Self bool
}

// masterRows lists the group's masters, or says why there is no list.
func masterRows(info infoJSON, self string) ([]MasterRow, string) {
	var rows []MasterRow
	for _, m := range info.Berth.Masters {
		_, hostPort, _ := strings.Cut(m.URL, "://")
		rows = append(rows, MasterRow{URL: m.URL, Leader: m.Leader, Self: hostPort == self})
	}
	switch {
	case rows != nil:
		return rows, ""
	case info.Berth.MastersError != "":
		return nil, "unknown: " + info.Berth.MastersError
	}
	return nil, "not listed by this master"
}

// RoutesSummary is lbsync's last render and reloads, what it routes,
// and its Consul source and HAProxy when it reports them.
type RoutesSummary struct {
	LastRender, LastError        string
	Events                       []string
	Services, Backends, Warnings int
	Ownership, Consul, HAProxy   string
	ConsulBad, HAProxyBad        bool // the last Consul query or HAProxy reload failed
}

// consulLine is lbsync's Consul status, or "" when it sends none.
func consulLine(r routesJSON, now time.Time) string {
	c := r.Consul
	if c == nil {
		return ""
	}
	line := c.Address
	if !c.LastSnapshot.IsZero() {
		line += fmt.Sprintf(" · last snapshot %s (index %d)", agoTime(now, c.LastSnapshot), c.LastIndex)
	}
	if c.Error != "" {
		line += " · error: " + c.Error
	}
	return strings.TrimPrefix(line, " · ")
}

// haproxyLine is lbsync's HAProxy status, or "" when it sends none.
func haproxyLine(r routesJSON, now time.Time) string {
	h := r.HAProxy
	if h == nil {
		return ""
	}
	var parts []string
	if h.Version != "" {
		parts = append(parts, fmt.Sprintf("%s · master pid %d · %s · %s (%d failed)", h.Version,
			h.MasterPID, plural(h.Workers, "worker"), plural(h.Reloads, "reload"), h.FailedReloads))
	}
	if !h.LastReload.IsZero() {
		last := fmt.Sprintf("lbsync's last %s %s", h.LastReloadAction, agoTime(now, h.LastReload))
		if h.LastReloadError != "" {
			last += " — error: " + h.LastReloadError
		}
		parts = append(parts, last)
	}
	if len(parts) == 0 {
		return "not started by lbsync yet"
	}
	return strings.Join(parts, " · ")
}

// ClusterView is the cluster page; started is the master process's start
// (zero: unknown).
func ClusterView(info infoJSON, started time.Time, routes *routesJSON, routesErr string, now time.Time) ClusterPage {
	p := ClusterPage{Page: Page{Title: "Cluster", Nav: "cluster"}, Leader: info.Leader, IsLeader: info.Elected,
		HA: info.MarathonConfig.HA, Version: info.Name + " " + info.Version,
		Self:         net.JoinHostPort(info.MarathonConfig.Hostname, strconv.Itoa(infoPort(info))),
		ServicePorts: strconv.Itoa(info.MarathonConfig.LocalPortMin) + "–" + strconv.Itoa(info.MarathonConfig.LocalPortMax),
		LBError:      routesErr}
	p.Masters, p.MastersNote = masterRows(info, p.Self)
	p.Store = "embedded (bbolt)"
	if info.ZookeeperConfig.ZK != "" {
		p.Store = "ZooKeeper " + info.ZookeeperConfig.ZK
	}
	if p.Leader == "" {
		p.Leader = "none"
	}
	if !started.IsZero() {
		p.Uptime = short(now.Sub(started)) + " (since " + started.UTC().Format(time.RFC3339) + ")"
	}
	if routes != nil {
		p.LB = routesSummary(*routes, now)
	}
	return p
}

func routesSummary(r routesJSON, now time.Time) *RoutesSummary {
	s := &RoutesSummary{LastRender: "never", Services: len(r.Services), Warnings: len(r.Warnings),
		Ownership: r.Ownership, Consul: consulLine(r, now), HAProxy: haproxyLine(r, now),
		ConsulBad: r.Consul != nil && r.Consul.Error != "", HAProxyBad: r.HAProxy != nil && r.HAProxy.LastReloadError != ""}
	for _, sv := range r.Services {
		s.Backends += len(sv.Backends)
	}
	if r.ClusterID != "" {
		s.Ownership += ", cluster " + r.ClusterID
	}
	if !r.LastRender.IsZero() {
		s.LastRender = agoTime(now, r.LastRender)
	}
	if r.LastError != "" {
		s.LastError = r.LastError
		if !r.LastErrorAt.IsZero() {
			s.LastError += " (" + agoTime(now, r.LastErrorAt) + ")"
		}
	}
	for _, e := range r.Events {
		line := e.Target + ": " + e.Action
		if e.Why != "" {
			line += " (" + e.Why + ")"
		}
		if !e.At.IsZero() {
			line += ", " + agoTime(now, e.At)
		}
		if e.Err != "" {
			line += " — error: " + e.Err
		}
		s.Events = append(s.Events, line)
	}
	return s
}

// RoutesPage is what lbsync routes.
type RoutesPage struct {
	Page
	Configured bool
	Error      string
	HTTPPort   int
	Services   []ServiceRow
	VHosts     []VHostRow
	Warnings   []string
	Unrouted   []string
	Summary    *RoutesSummary
}

func excludedLine(e excludedJSON) string {
	line := net.JoinHostPort(e.Address, strconv.Itoa(e.Port)) + " " + e.Kind
	if e.Task != "" {
		line += " (" + e.Task + ")"
	}
	if e.Reason != "" {
		line += ": " + e.Reason
	}
	return line
}

// ServiceRow is one servicePort frontend.
type ServiceRow struct {
	Anchor, Name, App, AppHref, Mode, Balance string
	ServicePort                               int
	Default                                   bool
	VHosts                                    string
	Backends                                  []BackendRow
	Excluded                                  []string
}

// BackendRow is one routed instance with its Consul health and weight.
type BackendRow struct {
	Addr, Health, Task string
	Weight             int
}

// VHostRow is one :80 virtual host route.
type VHostRow struct {
	Host, Path  string
	ServicePort int
}

// RoutesView is the routes page (configured false: no lbsync address).
func RoutesView(r *routesJSON, configured bool, errText string, now time.Time) RoutesPage {
	p := RoutesPage{Page: Page{Title: "Routes", Nav: "routes"}, Configured: configured, Error: errText}
	if r == nil {
		return p
	}
	p.HTTPPort, p.Warnings, p.Summary = r.HTTPPort, r.Warnings, routesSummary(*r, now)
	for _, e := range r.Unrouted {
		p.Unrouted = append(p.Unrouted, "servicePort "+strconv.Itoa(e.ServicePort)+" "+e.App+": "+excludedLine(e))
	}
	for _, s := range r.Services {
		row := ServiceRow{Anchor: "sp-" + strconv.Itoa(s.ServicePort), Name: s.Name, App: s.App, Mode: s.Mode,
			Balance: s.Balance, ServicePort: s.ServicePort, Default: s.Name == r.Default,
			VHosts: strings.Join(append(append([]string{}, s.VHosts...), s.Paths...), " ")}
		if s.App != "" {
			row.AppHref = appHref(s.App)
		}
		for _, b := range s.Backends {
			w := b.Weight
			if w == 0 {
				w = 1
			}
			h := b.Health
			if h == "" {
				h = "passing"
			}
			row.Backends = append(row.Backends, BackendRow{Addr: net.JoinHostPort(b.Address, strconv.Itoa(b.Port)),
				Health: h, Task: b.Task, Weight: w})
		}
		for _, e := range s.Excluded {
			row.Excluded = append(row.Excluded, excludedLine(e))
		}
		p.Services = append(p.Services, row)
	}
	sort.Slice(p.Services, func(i, j int) bool { return p.Services[i].ServicePort < p.Services[j].ServicePort })
	for _, v := range r.Routes {
		path := v.Path
		if path == "" {
			path = "/"
		}
		p.VHosts = append(p.VHosts, VHostRow{Host: v.Host, Path: path, ServicePort: v.ServicePort})
	}
	return p
}

// DeploymentsPage lists the running deployments and the launch queue.
type DeploymentsPage struct {
	Page
	Deployments []DeploymentRow
	Queue       []QueueRow
}

// QueueRow is one app waiting for instances.
type QueueRow struct {
	App, AppHref string
	WaitView
}

// DeploymentsView is the deployments page.
func DeploymentsView(deps []apiclient.Deployment, queue []apiclient.QueueEntry, now time.Time) DeploymentsPage {
	p := DeploymentsPage{Page: Page{Title: "Deployments", Nav: "deployments"}}
	for _, d := range deps {
		p.Deployments = append(p.Deployments, deploymentRow(d))
	}
	for _, q := range queue {
		p.Queue = append(p.Queue, QueueRow{App: q.App.ID, AppHref: appHref(q.App.ID), WaitView: WaitView{
			Count: q.Count, Explanation: q.Explanation, DelaySecs: q.Delay.TimeLeftSeconds, Since: ago(now, q.Since),
			Reasons: q.ProcessedOffersSummary.RejectSummaryLastOffers}})
	}
	return p
}

// ErrorPage is a 404 or another error the page could not get past.
type ErrorPage struct {
	Page
	Status  int
	Message string
	Back    string
}

// ErrorView is the error page for status and the API's message.
func ErrorView(status int, message string) ErrorPage {
	title := "Error"
	if status == 404 {
		title = "Not found"
	}
	return ErrorPage{Page: Page{Title: title}, Status: status, Message: message, Back: "/ui/apps"}
}

// infoPort is the port /v2/info says the API is served on.
func infoPort(info infoJSON) int {
	if info.HTTPConfig.HTTPPort == 0 {
		return info.HTTPConfig.HTTPSPort
	}
	return info.HTTPConfig.HTTPPort
}
