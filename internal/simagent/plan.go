package simagent

import (
	"sort"

	"github.com/berth-platform/berth/internal/wire"
)

// Plan compares the tasks a simulated agent runs with the master's desired
// set: start lists the desired tasks not running yet (in the set's order),
// stop the running tasks the set no longer holds or lists in Kill (sorted).
// It changes nothing; the caller applies the result.
func Plan(running map[string]bool, d wire.Desired) (start []wire.TaskSpec, stop []string) {
	want := make(map[string]bool, len(d.Tasks))
	for _, t := range d.Tasks {
		want[t.TaskID] = true
	}
	for _, id := range d.Kill {
		delete(want, id)
	}
	for _, t := range d.Tasks {
		if want[t.TaskID] && !running[t.TaskID] {
			start = append(start, t)
		}
	}
	for id := range running {
		if !want[id] {
			stop = append(stop, id)
		}
	}
	sort.Strings(stop)
	return start, stop
}
