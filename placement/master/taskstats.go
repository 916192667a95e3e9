package master

import (
	"sort"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// taskStats is Marathon's embed=apps.taskStats object: counts (and the
// running tasks' lifetimes) for all tasks, those started after the last
// scaling, those with the latest and those with an outdated config. A
// category without tasks is absent, as in Marathon. Call with m.mu held.
func (m *Master) taskStats(as *appState) map[string]any {
	app := as.rec.App
	var lastScaling, lastConfig time.Time
	if vi := app.VersionInfo; vi != nil {
		lastScaling, lastConfig = parseTS(vi.LastScalingAt), parseTS(vi.LastConfigChangeAt)
	}
	var all, afterScaling, latest, outdated []*Task
	for _, t := range sortedTasks(as.tasks) {
		if terminal(t.State) {
			continue
		}
		all = append(all, t)
		if !parseTS(t.StagedAt).Before(lastScaling) {
			afterScaling = append(afterScaling, t)
		}
		if !parseTS(t.Version).Before(lastConfig) {
			latest = append(latest, t)
		} else {
			outdated = append(outdated, t)
		}
	}
	now := m.now()
	out := map[string]any{}
	for key, ts := range map[string][]*Task{"totalSummary": all, "startedAfterLastScaling": afterScaling,
		"withLatestConfig": latest, "withOutdatedConfig": outdated} {
		if len(ts) > 0 {
			out[key] = map[string]any{"stats": statsOf(ts, now)}
		}
	}
	return out
}

// statsOf counts tasks by state and health and, when some run, gives
// their lifetimes since startedAt.
func statsOf(tasks []*Task, now time.Time) map[string]any {
	counts := map[string]int{"staged": 0, "running": 0, "healthy": 0, "unhealthy": 0}
	var lives []float64
	for _, t := range tasks {
		switch t.State {
		case wire.TaskStaging, wire.TaskStarting:
			counts["staged"]++
		case wire.TaskRunning:
			counts["running"]++
			if t.StartedAt != "" {
				lives = append(lives, now.Sub(parseTS(t.StartedAt)).Seconds())
			}
		}
		if h := t.healthy(); h != nil && *h {
			counts["healthy"]++
		} else if h != nil {
			counts["unhealthy"]++
		}
	}
	stats := map[string]any{"counts": counts}
	if len(lives) > 0 {
		stats["lifeTime"] = map[string]any{"averageSeconds": mean(lives), "medianSeconds": median(lives)}
	}
	return stats
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
