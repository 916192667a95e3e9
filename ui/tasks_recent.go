package ui

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// The public API lists no ended app tasks (Mesos' completed_tasks is not
// in /master/state), so the tasks page's "Recently ended" is what the API
// does keep: each app's lastTaskFailure (embed=apps.lastTaskFailure) and
// the ended runs of the jobs that ran last (/scheduler/job/stat).

// recentJobs is how many of the jobs that ran last are asked for their
// runs; maxEnded is how many ended tasks the page shows.
const recentJobs, maxEnded = 10, 20

// EndedRow is one ended task: an app's last failure or a job's run.
type EndedRow struct {
	Task, Href, Owner, OwnerHref, State, Ended, Host, Message string
	// at orders the rows, newest first.
	at string
}

// jobTaskApp is the job named by a job run's app id (chronos:<job>).
func jobTaskApp(appID string) (string, bool) { return strings.CutPrefix(appID, "chronos:") }

// endedTasks fetches what the API keeps of ended tasks (errors other
// than a 401 leave that part out: the page still lists the running
// tasks).
func (u *UI) endedTasks(r *http.Request) ([]EndedRow, error) {
	a, ctx := u.api(r), r.Context()
	var apps struct {
		Apps []apiclient.App `json:"apps"`
	}
	if err := a.get(ctx, "/v2/apps?embed=apps.lastTaskFailure", &apps); statusOf(err) == http.StatusUnauthorized {
		return nil, err
	}
	var fails []apiclient.TaskFailure
	for _, app := range apps.Apps {
		if app.LastTaskFailure != nil {
			fails = append(fails, *app.LastTaskFailure)
		}
	}
	jobs, _ := u.getJobs(r)
	sort.Slice(jobs, func(i, j int) bool { return lastRun(jobs[i]) > lastRun(jobs[j]) })
	stats := map[string]jobStat{}
	for _, j := range jobs[:min(len(jobs), recentJobs)] {
		if lastRun(j) == "" {
			break
		}
		var st jobStat
		if err := a.get(ctx, jobStatPath+url.PathEscape(j.Name), &st); err == nil {
			stats[j.Name] = st
		}
	}
	return EndedView(fails, stats, u.now()), nil
}

func lastRun(j jobJSON) string { return max(j.LastSuccess, j.LastError) }

// EndedView merges apps' last failures and jobs' ended runs, newest
// first, at most maxEnded.
func EndedView(fails []apiclient.TaskFailure, stats map[string]jobStat, now time.Time) []EndedRow {
	var out []EndedRow
	for _, f := range fails {
		out = append(out, EndedRow{Task: f.TaskID, Href: taskHref(f.TaskID), Owner: f.AppID, OwnerHref: appHref(f.AppID),
			State: stateLabel(f.State), Ended: ago(now, f.Timestamp), Host: f.Host, Message: f.Message, at: f.Timestamp})
	}
	for name, st := range stats {
		for _, h := range st.History {
			if h.TaskID == "" {
				continue // a skipped occurrence
			}
			out = append(out, EndedRow{Task: h.TaskID, Href: taskHref(h.TaskID), Owner: "job " + name, OwnerHref: jobHref(name),
				State: h.Status, Ended: ago(now, h.Ended), Host: h.Agent, Message: h.Message, at: h.Ended})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].at != out[j].at {
			return out[i].at > out[j].at
		}
		return out[i].Task < out[j].Task
	})
	return out[:min(len(out), maxEnded)]
}
