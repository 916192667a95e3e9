package ui

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Page is what every page's model carries for the layout.
type Page struct {
	Title string
	// Nav is the section the page belongs to (apps, tasks, …).
	Nav string
	// Notice and Alert are the flash messages of a redirect after an
	// action (?msg=, ?err=).
	Notice, Alert string
}

// NavItem is one entry of the navigation bar.
type NavItem struct {
	Key, Label, Href string
	Current          bool
}

// navItems is the navigation bar.
func navItems() []NavItem {
	items := []NavItem{
		{Key: "apps", Label: "Apps", Href: "/ui/apps"},
		{Key: "deployments", Label: "Deployments", Href: "/ui/deployments"},
		{Key: "tasks", Label: "Tasks", Href: "/ui/tasks"},
		{Key: "agents", Label: "Agents", Href: "/ui/agents"},
		{Key: "routes", Label: "Routes", Href: "/ui/routes"},
		{Key: "jobs", Label: "Jobs", Href: "/ui/jobs"},
	}
	return append(items, NavItem{Key: "cluster", Label: "Cluster", Href: "/ui/cluster"})
}

// appHref is the UI page of app id.
func appHref(id string) string { return "/ui/apps" + escapeID(id) }

// editHref is the edit form of app id.
func editHref(id string) string { return "/ui/edit" + escapeID(id) }

// taskHref is the sandbox page of a task.
func taskHref(id string) string { return "/ui/tasks/" + url.PathEscape(id) }

// num formats a resource figure without trailing zeros.
func num(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// ago is how long before now t was, for people ("3m ago"); "" for a
// zero or unparsable time.
func ago(now time.Time, ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || t.IsZero() {
		return ""
	}
	return agoTime(now, t)
}

func agoTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + short(-d)
	case d < time.Second:
		return "just now"
	default:
		return short(d) + " ago"
	}
}

// short is a duration rounded to its largest unit or two.
func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// sortedLabels are "key=value" strings in key order.
func sortedLabels(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// plural is "1 task" / "3 tasks".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// stateLabel turns TASK_RUNNING into "running".
func stateLabel(s string) string {
	return strings.ToLower(strings.TrimPrefix(s, "TASK_"))
}

// NavItems is the navigation bar with the page's section marked.
func (p Page) NavItems() []NavItem {
	items := navItems()
	for i := range items {
		if items[i].Key == p.Nav {
			items[i].Current = true
		}
	}
	return items
}
