package master

import (
	"strings"
	"testing"

	"github.com/berth-platform/berth/jobs"
)

// TestDRFAppsAndJobs: an app of 32 one-cpu instances and 24 one-cpu jobs
// saturate a 16-cpu cluster; tasks and runs end after 1–3 steps. With
// weights 1:1 they hold 50/50 of the cpus (±6 points, time-averaged), the
// side held back says why (the app's queue entry, a run's message); with
// clusterShare apps 3, jobs 1 they hold 75/25. Without DRF (appsRoom and
// jobsRoom unlimited) the job service, which ticks first in each step,
// keeps nearly everything: apps measured 5.9 %.
func TestDRFAppsAndJobs(t *testing.T) {
	for _, c := range []struct {
		file string
		apps float64
	}{
		{"queues: [{name: default, capacity: 100}]", 50},
		{"clusterShare: {apps: 3, jobs: 1}\nqueues: [{name: default, capacity: 100}]", 75},
	} {
		tree, err := jobs.ParseQueues([]byte(c.file))
		if err != nil {
			t.Fatal(err)
		}
		s := newCapacitySim(t, tree)
		s.h.must(201, "POST", "/v2/apps", `{"id":"/web","cmd":"sleep 1000","cpus":1,"mem":64,"instances":32}`)
		s.addJobs(t, "default", 24)
		var apps, total int
		sawAppsHeld, sawJobsHeld := false, false
		for k := range 160 {
			run := s.step(t, k)
			if k >= 10 {
				apps += run["apps"]
				total += run["apps"] + run["default"]
			}
			s.h.m.mu.Lock()
			if e := s.h.m.apps["/web"].queue.explanation; e != nil && strings.HasPrefix(e.Blocked, "DRF:") {
				sawAppsHeld = true
			}
			s.h.m.mu.Unlock()
			if capa := (jobLauncher{s.h.m}).Capacity(); capa.Held != "" || (capa.Room > 0 && capa.Room < 1) {
				sawJobsHeld = true
			}
		}
		share := float64(apps) / float64(total) * 100
		t.Logf("weights %q: apps hold %.1f%% of %d run-steps (%.1f of 16 cpus busy on average)", c.file, share, total, float64(total)/150)
		if share < c.apps-6 || share > c.apps+6 {
			t.Errorf("apps' share %.1f%%, want %v ± 6", share, c.apps)
		}
		if avg := float64(total) / 150; avg < 14 {
			t.Errorf("average %.1f of 16 cpus busy: the cluster is not saturated", avg)
		}
		if !sawAppsHeld || !sawJobsHeld {
			t.Errorf("held with an explanation: apps %v, jobs %v; want both", sawAppsHeld, sawJobsHeld)
		}
	}
}
