package jobs

import (
	"fmt"
	"testing"
	"time"
)

// tickJobs builds n schedules with periods from a minute to a day, starts
// spread over a day before t0, and their timeline.
func tickJobs(n int, t0 time.Time) (map[string]Schedule, *Timeline) {
	r := newRand(7)
	periods := []string{"PT1M", "PT5M", "PT10M", "PT1H", "P1D", "P1W", "P10M"}
	scheds := make(map[string]Schedule, n)
	tl := &Timeline{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("job-%06d", i)
		start := t0.Add(-time.Duration(r.Int63n(int64(24 * time.Hour)))).Format(time.RFC3339)
		s, err := ParseSchedule("R/"+start+"/"+periods[r.Intn(len(periods))], "", t0)
		if err != nil {
			panic(err)
		}
		s = s.Rebase(t0)
		scheds[name] = s
		tl.Set(name, s.Start)
	}
	return scheds, tl
}

// tick is one scheduler pass: pop the due jobs, step each, put it back.
func tick(scheds map[string]Schedule, tl *Timeline, now time.Time, buf []string) (ran int) {
	for _, name := range tl.PopDue(now, buf[:0]) {
		st := scheds[name].StepAt(now, time.Minute)
		if !st.Run.IsZero() {
			ran++
		}
		scheds[name] = st.Rest
		if !st.Rest.Done() {
			tl.Set(name, st.Rest.Start)
		}
	}
	return ran
}

// BenchmarkTick100k: a one-second tick over 100,000 jobs (the due ones are
// stepped and rescheduled).
func BenchmarkTick100k(b *testing.B) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	scheds, tl := tickJobs(100_000, t0)
	buf := make([]string, 0, 1024)
	now := t0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Second)
		tick(scheds, tl, now, buf)
	}
}

// BenchmarkTick100kAllDue: the worst case, all 100,000 jobs due in the same
// tick (after a master was down for a day: each one skips its missed
// occurrences and is rescheduled).
func BenchmarkTick100kAllDue(b *testing.B) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		scheds, tl := tickJobs(100_000, t0)
		buf := make([]string, 0, 100_000)
		b.StartTimer()
		tick(scheds, tl, t0.Add(24*time.Hour), buf)
	}
}

func BenchmarkNextFarPast(b *testing.B) {
	s, _ := ParseSchedule("R/2018-05-30T14:00:00.000Z/PT10M", "Europe/Berlin", time.Time{})
	after := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := 0; i < b.N; i++ {
		s.Next(after)
	}
}
