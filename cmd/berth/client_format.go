package main

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// The pure formatting of the client verbs: no I/O, no clock (now is
// passed in).

// cliAge is a duration for people, two units at most: 45s, 3m12s, 2h5m, 3d4h.
func cliAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return cliTwoUnits(s/60, "m", s%60, "s")
	case s < 86400:
		return cliTwoUnits(s/3600, "h", s%3600/60, "m")
	default:
		return cliTwoUnits(s/86400, "d", s%86400/3600, "h")
	}
}

func cliTwoUnits(a int64, ua string, b int64, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, ua)
	}
	return fmt.Sprintf("%d%s%d%s", a, ua, b, ub)
}

// cliSince is the age of a Marathon timestamp at now, "-" when empty and
// "?" when unparsable.
func cliSince(ts string, now time.Time) string {
	if ts == "" {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return "?"
	}
	return cliAge(now.Sub(t))
}

// cliState drops the TASK_ prefix: TASK_RUNNING → RUNNING.
func cliState(s string) string {
	if s == "" {
		return "-"
	}
	return strings.TrimPrefix(s, "TASK_")
}

// cliHealth summarises a task's health check results.
func cliHealth(t apiclient.Task) string {
	if len(t.HealthCheckResults) == 0 {
		return "-"
	}
	for _, h := range t.HealthCheckResults {
		if !h.Alive {
			return "unhealthy"
		}
	}
	return "healthy"
}

// cliHostPorts is host:port1,port2 (host alone without ports).
func cliHostPorts(t apiclient.Task) string {
	host := cliOr(t.Host, "-")
	if len(t.Ports) == 0 {
		return host
	}
	return host + ":" + cliInts(t.Ports)
}

func cliInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// cliTaskAge is the time since the task started (or was staged).
func cliTaskAge(t apiclient.Task, now time.Time) string {
	if t.StartedAt != nil && *t.StartedAt != "" {
		return cliSince(*t.StartedAt, now)
	}
	return cliSince(t.StagedAt, now)
}

var cliTaskHeader = []string{"ID", "APP", "AGENT", "HOST:PORTS", "STATE", "HEALTH", "AGE"}

// cliTaskRows are `berth ps` rows, sorted by app then task id.
func cliTaskRows(tasks []apiclient.Task, now time.Time) [][]string {
	sorted := append([]apiclient.Task(nil), tasks...)
	apiclient.SortTasks(sorted)
	rows := make([][]string, 0, len(sorted))
	for _, t := range sorted {
		rows = append(rows, []string{t.ID, t.AppID, cliOr(t.SlaveID, "-"), cliHostPorts(t), cliState(t.State),
			cliHealth(t), cliTaskAge(t, now)})
	}
	return rows
}

var cliAppHeader = []string{"ID", "RUNNING", "HEALTHY", "CPUS", "MEM", "SERVICE PORTS", "DEPLOYING", "IMAGE/CMD"}

// cliAppRows are `berth apps` rows, sorted by id.
func cliAppRows(apps []apiclient.App) [][]string {
	sorted := append([]apiclient.App(nil), apps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	rows := make([][]string, 0, len(sorted))
	for _, a := range sorted {
		healthy := "-"
		if len(a.HealthChecks) > 0 {
			healthy = fmt.Sprintf("%d/%d", a.TasksHealthy, a.Instances)
		}
		deploying := "-"
		if len(a.Deployments) > 0 {
			deploying = "yes"
		}
		rows = append(rows, []string{a.ID, fmt.Sprintf("%d/%d", a.TasksRunning, a.Instances), healthy,
			cliNum(a.CPUs), cliNum(a.Mem), cliOr(cliInts(a.ServicePorts()), "-"), deploying, cliWhat(&a, 40)})
	}
	return rows
}

// cliNum prints a float without useless decimals: 0.25, 256.
func cliNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// cliWhat is the app's image or, for a command app, its command cut to max runes.
func cliWhat(a *apiclient.App, max int) string {
	if img := a.Image(); img != "" {
		return img
	}
	cmd := a.Cmd
	if cmd == "" {
		cmd = strings.Join(a.Args, " ")
	}
	cmd = strings.Join(strings.Fields(cmd), " ")
	if r := []rune(cmd); max > 1 && len(r) > max {
		cmd = string(r[:max-1]) + "…"
	}
	return cliOr(cmd, "-")
}

var cliDeploymentHeader = []string{"ID", "VERSION", "APPS", "ACTIONS", "STEP"}

// cliDeploymentRows are `berth deployments` rows, sorted by version then id.
func cliDeploymentRows(ds []apiclient.Deployment) [][]string {
	sorted := append([]apiclient.Deployment(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Version != sorted[j].Version {
			return sorted[i].Version < sorted[j].Version
		}
		return sorted[i].ID < sorted[j].ID
	})
	rows := make([][]string, 0, len(sorted))
	for _, d := range sorted {
		var acts []string
		for _, a := range d.CurrentActions {
			acts = append(acts, a.Action+" "+a.App)
		}
		rows = append(rows, []string{d.ID, d.Version, strings.Join(d.AffectedApps, ","),
			cliOr(strings.Join(acts, "; "), "-"), fmt.Sprintf("%d/%d", d.CurrentStep, d.TotalSteps)})
	}
	return rows
}

// cliEntryExplanation says why a queued app's instances are not placed:
// Berth's explanation, else the backoff, else the reject summary.
func cliEntryExplanation(e *apiclient.QueueEntry) string {
	if e.Explanation != "" {
		return e.Explanation
	}
	if e.Delay.TimeLeftSeconds > 0 {
		return fmt.Sprintf("launch delayed by backoff for %ds more", e.Delay.TimeLeftSeconds)
	}
	var reasons []string
	for _, r := range e.ProcessedOffersSummary.RejectSummaryLastOffers {
		if r.Declined > 0 {
			reasons = append(reasons, fmt.Sprintf("%s (%d of %d agents)", r.Reason, r.Declined, r.Processed))
		}
	}
	if len(reasons) > 0 {
		return "rejected: " + strings.Join(reasons, ", ")
	}
	return fmt.Sprintf("%d instance(s) waiting for a placement attempt", e.Count)
}

// cliExplainText is `berth explain` for people: the queue entry's
// explanation and reject summary, or that every instance is placed.
func cliExplainText(app *apiclient.App, e *apiclient.QueueEntry) string {
	var b strings.Builder
	if e == nil {
		fmt.Fprintf(&b, "%s: all %d instances placed\n", app.ID, app.Instances)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %d instance(s) not placed yet\n", e.App.ID, e.Count)
	fmt.Fprintf(&b, "  %s\n", cliEntryExplanation(e))
	if e.Delay.TimeLeftSeconds > 0 && e.Explanation != "" {
		fmt.Fprintf(&b, "  launch delayed by backoff for %ds more\n", e.Delay.TimeLeftSeconds)
	}
	var rows [][]string
	for _, r := range e.ProcessedOffersSummary.RejectSummaryLastOffers {
		rows = append(rows, []string{"  " + r.Reason, strconv.Itoa(r.Declined), strconv.Itoa(r.Processed)})
	}
	if len(rows) > 0 {
		b.WriteString("\n")
		cliTable(&b, []string{"  REASON", "DECLINED", "OF AGENTS"}, rows)
	}
	if app != nil && app.LastTaskFailure != nil {
		fmt.Fprintf(&b, "\n  last task failure: %s\n", cliFailureLine(app.LastTaskFailure))
	}
	return b.String()
}

// cliAppDetail is `berth app ID` for people.
func cliAppDetail(a *apiclient.App, now time.Time) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	kv := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	kv("ID", a.ID)
	kv("Version", cliOr(a.Version, "-"))
	kv("Instances", cliProgressBody(a, nil))
	kv("Resources", fmt.Sprintf("cpus %s, mem %s MiB, disk %s MiB", cliNum(a.CPUs), cliNum(a.Mem), cliNum(a.Disk)))
	if img := a.Image(); img != "" {
		kv("Image", img)
	}
	if cmd := cliWhat(&apiclient.App{Cmd: a.Cmd, Args: a.Args}, 0); cmd != "-" {
		kv("Command", cmd)
	}
	kv("Service ports", cliOr(cliInts(a.ServicePorts()), "-"))
	var cons []string
	for _, c := range a.Constraints {
		cons = append(cons, strings.Join(c, " "))
	}
	kv("Constraints", cliOr(strings.Join(cons, "; "), "-"))
	kv("Labels", cliOr(cliLabels(a.Labels), "-"))
	var deps []string
	for _, d := range a.Deployments {
		deps = append(deps, d.ID)
	}
	kv("Deployments", cliOr(strings.Join(deps, ", "), "-"))
	if a.LastTaskFailure != nil {
		kv("Last failure", cliFailureLine(a.LastTaskFailure))
	}
	tw.Flush()
	if len(a.Tasks) > 0 {
		b.WriteString("\n")
		cliTable(&b, cliTaskHeader, cliTaskRows(a.Tasks, now))
	}
	return b.String()
}

func cliLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ", ")
}
