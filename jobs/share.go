package jobs

import (
	"fmt"
	"math"
	"strconv"
)

// Apps and jobs share the cluster by Dominant Resource Fairness: each
// consumer's dominant share is the largest fraction of the cluster's cpus,
// mem or disk it holds, divided by its weight. When both have work waiting
// for resources, the one with the lower weighted dominant share is offered
// resources first and the other launches nothing new until that changes;
// the capacity queues then divide whatever the job service holds.

// Consumer names, as Turn.Hold and the explanations spell them.
const (
	ConsumerApps = "apps"
	ConsumerJobs = "jobs"
)

// Usage is cpus, mem and disk: a consumer's holdings or the cluster's
// totals.
type Usage struct {
	CPUs, Mem, Disk float64
}

// ShareWeights weigh apps against jobs (the queue file's clusterShare);
// 0 means 1. Weights 2:1 let apps hold twice the dominant share of jobs
// when both want more.
type ShareWeights struct {
	Apps float64 `yaml:"apps" json:"apps"`
	Jobs float64 `yaml:"jobs" json:"jobs"`
}

// Consumer is one side's holdings and whether it has work waiting for
// resources (app tasks or job runs not placed for lack of them).
type Consumer struct {
	Used    Usage
	Waiting bool
}

// Turn is the DRF decision between apps and jobs.
type Turn struct {
	// AppsShare and JobsShare are the weighted dominant shares.
	AppsShare, JobsShare float64
	// AppsRoom and JobsRoom are the dominant share (unweighted) each may
	// add before the decision is taken again: +Inf without a limit, 0
	// when held (see ShareTurn; Fit turns a room into tasks).
	AppsRoom, JobsRoom float64
	// Hold is the consumer that may not launch new work now ("" = none).
	Hold string
	// Why explains the hold (empty without one).
	Why string
}

// DominantShare is the largest fraction of total that u holds, and the
// resource it is ("cpus", "mem" or "disk"; "" when nothing is held).
func DominantShare(u, total Usage) (float64, string) {
	best, name := 0.0, ""
	for _, d := range []struct {
		used, total float64
		name        string
	}{{u.CPUs, total.CPUs, "cpus"}, {u.Mem, total.Mem, "mem"}, {u.Disk, total.Disk, "disk"}} {
		if d.total > 0 && d.used/d.total > best {
			best, name = d.used/d.total, d.name
		}
	}
	return best, name
}

// ShareTurn decides which of apps and jobs is offered resources first.
// Only when both wait is either limited: the free resources (free, as a
// dominant share: the smallest free fraction of cpus, mem and disk) go
// first to the side with the lower weighted dominant share until it
// reaches the other's, and what remains is split by the weights. The
// higher side is held when nothing remains. A side that waits alone takes
// whatever is free.
func ShareTurn(apps, jobs Consumer, total Usage, free float64, w ShareWeights) Turn {
	wa, wj := weightOr1(w.Apps), weightOr1(w.Jobs)
	as, ares := DominantShare(apps.Used, total)
	js, jres := DominantShare(jobs.Used, total)
	t := Turn{AppsShare: as / wa, JobsShare: js / wj, AppsRoom: math.Inf(1), JobsRoom: math.Inf(1)}
	if !apps.Waiting || !jobs.Waiting {
		return t
	}
	free = max(free, 0)
	lowApps := t.AppsShare < t.JobsShare
	gap := math.Abs(t.AppsShare-t.JobsShare) * wa // apps' catch-up, as an unweighted share
	if !lowApps {
		gap = math.Abs(t.AppsShare-t.JobsShare) * wj
	}
	first := min(gap, free)
	rest := free - first
	t.AppsRoom, t.JobsRoom = rest*wa/(wa+wj), rest*wj/(wa+wj)
	if lowApps {
		t.AppsRoom += first
	} else {
		t.JobsRoom += first
	}
	if t.AppsShare == t.JobsShare || rest > minRoom {
		t.AppsRoom, t.JobsRoom = max(t.AppsRoom, minRoom), max(t.JobsRoom, minRoom)
		return t
	}
	held, other := ConsumerJobs, ConsumerApps
	hs, hres, hw, os, ores, ow := js, jres, wj, as, ares, wa
	if !lowApps {
		held, other = ConsumerApps, ConsumerJobs
		hs, hres, hw, os, ores, ow = as, ares, wa, js, jres, wj
		t.AppsRoom = 0
	} else {
		t.JobsRoom = 0
	}
	t.Hold = held
	t.Why = fmt.Sprintf("DRF: %s hold a dominant share of %s%s against %s' %s%s (weights %s:%s); %s waiting for resources are offered them first",
		held, pct(hs), resNote(hres), other, pct(os), resNote(ores), num(hw), num(ow), other)
	return t
}

// FreeShare is the smallest free fraction of total's cpus, mem and disk
// (of those the cluster has): the dominant share a task may still take.
func FreeShare(free, total Usage) float64 {
	out := 1.0
	for _, d := range [][2]float64{{free.CPUs, total.CPUs}, {free.Mem, total.Mem}, {free.Disk, total.Disk}} {
		if d[1] > 0 {
			out = min(out, max(d[0], 0)/d[1])
		}
	}
	return out
}

// minRoom is the room at equal shares: one task each.
const minRoom = 1e-9

// Fit is how many of n tasks of dominant share each may launch within
// room: those that fit, and at least one when room > 0 (so that a room
// smaller than a task still makes progress).
// A task of no share, or an unlimited room, fits n times.
func Fit(room, each float64, n int) int {
	if math.IsInf(room, 1) || each <= 0 {
		return n
	}
	if room <= 0 {
		return 0
	}
	return min(n, max(1, int(math.Floor(room/each+1e-9))))
}

func weightOr1(w float64) float64 {
	if w <= 0 {
		return 1
	}
	return w
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func resNote(res string) string {
	if res == "" {
		return ""
	}
	return " (" + res + ")"
}
