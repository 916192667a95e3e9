package master

import (
	"fmt"
	"math"
	"strings"

	"github.com/berth-platform/berth/jobs"
	"github.com/berth-platform/berth/placement"
)

// Apps and jobs share the cluster by Dominant Resource Fairness
// (jobs.ShareTurn): while both wait for resources, the one holding the
// higher weighted dominant share launches nothing new, so that what ends
// is offered to the other first, and the other launches only up to the
// held side's share (one task may cross it) before the decision is taken
// again. The job service asks through jobLauncher.Capacity; an app's
// launch asks appsRoom. Both read the job
// service's Waiting flag, an atomic, so the master never takes the
// service's lock (the service locks before the master, never after).

// drfPrefix starts an explanation of a DRF hold (jobs.ShareTurn's Why).
const drfPrefix = "DRF:"

// shareTurn is the DRF decision now (m.mu held): the live agents' totals
// and what the non-terminal app and job tasks hold.
func (m *Master) shareTurn(appsWaiting, jobsWaiting bool) (jobs.Turn, jobs.Usage) {
	var total, apps, jobsUsed jobs.Usage
	for _, a := range m.agents {
		if !a.lost {
			r := a.reg.Resources
			total = jobs.Usage{CPUs: total.CPUs + r.CPUs, Mem: total.Mem + r.Mem, Disk: total.Disk + r.Disk}
		}
	}
	for _, t := range m.tasks {
		if terminal(t.State) {
			continue
		}
		u := &apps
		if isJobTask(t) {
			u = &jobsUsed
		}
		r := t.Spec.Resources
		*u = jobs.Usage{CPUs: u.CPUs + r.CPUs, Mem: u.Mem + r.Mem, Disk: u.Disk + r.Disk}
	}
	var w jobs.ShareWeights
	if m.jobs != nil {
		w = m.jobs.Weights()
	}
	free := jobs.Usage{CPUs: total.CPUs - apps.CPUs - jobsUsed.CPUs, Mem: total.Mem - apps.Mem - jobsUsed.Mem,
		Disk: total.Disk - apps.Disk - jobsUsed.Disk}
	return jobs.ShareTurn(jobs.Consumer{Used: apps, Waiting: appsWaiting},
		jobs.Consumer{Used: jobsUsed, Waiting: jobsWaiting}, total, jobs.FreeShare(free, total), w), total
}

// appsWaiting reports whether an app is short of instances for lack of
// resources (or held by DRF) — not for its constraints or a backoff.
func (m *Master) appsWaiting() bool {
	for _, as := range m.apps {
		if as.queue.count > 0 && as.queue.explanation != nil && starvedFor(as.queue.explanation) {
			return true
		}
	}
	return false
}

func starvedFor(e *placement.Explanation) bool {
	if strings.HasPrefix(e.Blocked, drfPrefix) {
		return true
	}
	for _, r := range e.Reasons {
		if strings.HasPrefix(r.Text, "insufficient") {
			return true
		}
	}
	return false
}

// appsRoom is how many of n new tasks of the app may launch now by DRF
// (all of them unless job runs wait for resources), and why none may
// (m.mu held). Without waiting job runs it costs one atomic load.
func (m *Master) appsRoom(need placement.Resources, n int) (int, string) {
	if m.jobs == nil || !m.jobs.Waiting() {
		return n, ""
	}
	t, total := m.shareTurn(true, true)
	if t.Hold == jobs.ConsumerApps {
		return 0, t.Why
	}
	each, _ := jobs.DominantShare(jobs.Usage{CPUs: need.CPUs, Mem: need.Mem, Disk: need.Disk}, total)
	k := jobs.Fit(t.AppsRoom, each, n)
	if k == n {
		return n, ""
	}
	return k, fmt.Sprintf("%s launching %d of %d: apps may grow by %.1f%% (to jobs' weighted dominant share %.1f%%) while job runs wait",
		drfPrefix, k, n, t.AppsRoom*100, t.JobsShare*100)
}

// jobsRoom is the dominant share new job runs may add now by DRF (+Inf
// unless apps wait for resources), and why none may (m.mu held).
func (m *Master) jobsRoom() (float64, string) {
	if !m.appsWaiting() {
		return math.Inf(1), ""
	}
	t, _ := m.shareTurn(true, true)
	return t.JobsRoom, t.Why
}
