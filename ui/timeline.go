package ui

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// TimelineGroup is the timeline of one deployed version: for each of its
// tasks, the milliseconds from the version's POST to placed (staged), to
// started, to its first passing health check, and whether lbsync routes
// to it (with the times lbsync saw it in Consul and routed it, when its
// status carries them).
type TimelineGroup struct {
	Version string
	Tasks   []TimelineRow
}

// TimelineRow is one task's steps, each in ms after the previous one
// ("" when not reached or not known).
type TimelineRow struct {
	Task, Href                      string
	Placed, Started, Healthy, Total string
	InConsul, Routed                string
}

// backendTimes are lbsync's times for one task's backend (zero: not
// reported).
type backendTimes struct{ inConsul, routed time.Time }

// taskTimes are the timestamps the task carries in the API.
type taskTimes struct {
	HealthCheckResults []struct {
		FirstSuccess string `json:"firstSuccess"`
	} `json:"healthCheckResults"`
}

func parseTS(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil && !t.IsZero()
}

func msBetween(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return ""
	}
	return strconv.FormatInt(b.Sub(a).Milliseconds(), 10)
}

// Timeline groups tasks by the version they run and times each step
// from the task's own timestamps; routed (nil: lbsync not known) is the
// task ids lbsync has as backends, with its times when it reports them.
func Timeline(tasks []apiclient.Task, routed map[string]backendTimes) []TimelineGroup {
	by := map[string]*TimelineGroup{}
	for _, t := range tasks {
		g := by[t.Version]
		if g == nil {
			g = &TimelineGroup{Version: t.Version}
			by[t.Version] = g
		}
		posted, _ := parseTS(t.Version)
		staged, _ := parseTS(t.StagedAt)
		var started, healthy time.Time
		if t.StartedAt != nil {
			started, _ = parseTS(*t.StartedAt)
		}
		var tt taskTimes
		_ = json.Unmarshal(t.Raw, &tt)
		for _, h := range tt.HealthCheckResults {
			if hs, ok := parseTS(h.FirstSuccess); ok && (healthy.IsZero() || hs.After(healthy)) {
				healthy = hs
			}
		}
		r := TimelineRow{Task: t.ID, Href: taskHref(t.ID), Placed: msBetween(posted, staged),
			Started: msBetween(staged, started), Healthy: msBetween(started, healthy)}
		end := healthy
		if end.IsZero() {
			end = started
		}
		bt, ok := routed[t.ID]
		switch {
		case routed == nil:
			r.Routed = "unknown"
		case ok && !bt.routed.IsZero():
			from := end
			if bt.inConsul.After(from) {
				from = bt.inConsul
			}
			r.InConsul, r.Routed = msBetween(end, bt.inConsul), "+"+msBetween(from, bt.routed)
			end = bt.routed
		case ok:
			r.Routed = "yes"
		default:
			r.Routed = "not yet"
		}
		r.Total = msBetween(posted, end)
		g.Tasks = append(g.Tasks, r)
	}
	out := make([]TimelineGroup, 0, len(by))
	for _, g := range by {
		sort.Slice(g.Tasks, func(i, j int) bool { return g.Tasks[i].Task < g.Tasks[j].Task })
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out
}

// routedTasks is the set of task ids lbsync has as backends (nil when
// lbsync's status is not known).
func routedTasks(r *routesJSON) map[string]backendTimes {
	if r == nil {
		return nil
	}
	out := map[string]backendTimes{}
	for _, s := range r.Services {
		for _, b := range s.Backends {
			if b.Task != "" {
				bt := out[b.Task]
				if bt.routed.IsZero() || (!b.RoutedAt.IsZero() && b.RoutedAt.Before(bt.routed)) {
					bt = backendTimes{inConsul: b.InConsulAt, routed: b.RoutedAt}
				}
				out[b.Task] = bt
			}
		}
	}
	return out
}
