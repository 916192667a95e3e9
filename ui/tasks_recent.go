package ui

import (
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// The tasks page's "Recently ended" merges what the API keeps of ended
// tasks: the master's completed_tasks (/master/state: the last ended
// tasks of its current term, in memory), the ended runs of the jobs that
// ran last (/scheduler/job/stat, which survive a leader change) and each
// app's lastTaskFailure (embed=apps.lastTaskFailure, likewise).

// recentJobs is how many of the jobs that ran last are asked for their
// runs; maxEnded is how many ended tasks the page shows.
const recentJobs, maxEnded = 10, 20

// EndedRow is one ended task: an app's or a job's.
type EndedRow struct {
	Task, Href, Owner, OwnerHref, State, Ended, Host, Message string
	// at orders the rows, newest first.
	at string
}

// EndedSources are the API's answers the recently ended tasks come from.
type EndedSources struct {
	State masterStateJSON
	Fails []apiclient.TaskFailure
	Stats map[string]jobStat // by job name
}

// jobTaskApp is the job named by a job run's app id (chronos:<job>).
func jobTaskApp(appID string) (string, bool) { return strings.CutPrefix(appID, "chronos:") }

// endedTasks fetches what the API keeps of ended tasks (errors other
// than a 401 leave that part out: the page still lists the running
// tasks).
func (u *UI) endedTasks(r *http.Request) ([]EndedRow, error) {
	a, ctx := u.api(r), r.Context()
	var src EndedSources
	if err := a.get(ctx, "/master/state", &src.State); statusOf(err) == http.StatusUnauthorized {
		return nil, err
	}
	var apps struct {
		Apps []apiclient.App `json:"apps"`
	}
	if err := a.get(ctx, "/v2/apps?embed=apps.lastTaskFailure", &apps); statusOf(err) == http.StatusUnauthorized {
		return nil, err
	}
	for _, app := range apps.Apps {
		if app.LastTaskFailure != nil {
			src.Fails = append(src.Fails, *app.LastTaskFailure)
		}
	}
	jobs, _ := u.getJobs(r)
	sort.Slice(jobs, func(i, j int) bool { return lastRun(jobs[i]) > lastRun(jobs[j]) })
	src.Stats = map[string]jobStat{}
	for _, j := range jobs[:min(len(jobs), recentJobs)] {
		if lastRun(j) == "" {
			break
		}
		var st jobStat
		if err := a.get(ctx, jobStatPath+url.PathEscape(j.Name), &st); err == nil {
			src.Stats[j.Name] = st
		}
	}
	return EndedView(src, u.now()), nil
}

func lastRun(j jobJSON) string { return max(j.LastSuccess, j.LastError) }

// EndedView merges the jobs' ended runs, the master's completed tasks and
// the apps' last failures — a task listed by more than one of them once,
// in that order of preference —, newest first, at most maxEnded.
func EndedView(src EndedSources, now time.Time) []EndedRow {
	var out []EndedRow
	seen := map[string]bool{}
	add := func(r EndedRow) {
		if !seen[r.Task] {
			seen[r.Task] = true
			out = append(out, r)
		}
	}
	for name, st := range src.Stats {
		for _, h := range st.History {
			if h.TaskID == "" {
				continue // a skipped occurrence
			}
			add(EndedRow{Task: h.TaskID, Href: taskHref(h.TaskID), Owner: "job " + name, OwnerHref: jobHref(name),
				State: h.Status, Ended: ago(now, h.Ended), Host: h.Agent, Message: h.Message, at: h.Ended})
		}
	}
	for _, c := range completedRows(src.State, now) {
		add(c)
	}
	for _, f := range src.Fails {
		add(EndedRow{Task: f.TaskID, Href: taskHref(f.TaskID), Owner: f.AppID, OwnerHref: appHref(f.AppID),
			State: stateLabel(f.State), Ended: ago(now, f.Timestamp), Host: f.Host, Message: f.Message, at: f.Timestamp})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].at != out[j].at {
			return out[i].at > out[j].at
		}
		return out[i].Task < out[j].Task
	})
	return out[:min(len(out), maxEnded)]
}

// completedRows are the master's completed tasks as rows: the agent's
// hostname, the last status' time and message.
func completedRows(st masterStateJSON, now time.Time) []EndedRow {
	hosts := map[string]string{}
	for _, s := range st.Slaves {
		hosts[s.ID] = s.Hostname
	}
	var out []EndedRow
	for _, fw := range st.Frameworks {
		for _, c := range fw.CompletedTasks {
			r := EndedRow{Task: c.ID, Href: taskHref(c.ID), Owner: c.Name, OwnerHref: appHref(c.Name),
				State: stateLabel(c.State), Host: hosts[c.SlaveID]}
			if job, ok := jobTaskApp(c.Name); ok {
				r.Owner, r.OwnerHref = "job "+job, jobHref(job)
			}
			if r.Host == "" {
				r.Host = c.SlaveID
			}
			if n := len(c.Statuses); n > 0 {
				last := c.Statuses[n-1]
				sec, frac := math.Modf(last.Timestamp)
				r.at = time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC().Format("2006-01-02T15:04:05.000Z")
				r.Ended, r.Message = ago(now, r.at), last.Message
			}
			out = append(out, r)
		}
	}
	return out
}
