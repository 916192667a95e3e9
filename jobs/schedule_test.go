package jobs

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the machine's zoneinfo
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Period
	}{
		{"P10M", Period{Months: 10}},
		{"PT10M", Period{Minutes: 10}},
		{"P1Y12M12D", Period{Years: 1, Months: 12, Days: 12}},
		{"P12DT12M", Period{Days: 12, Minutes: 12}},
		{"P1Y2M3DT4H5M6S", Period{Years: 1, Months: 2, Days: 3, Hours: 4, Minutes: 5, Nanos: 6e9}},
		{"P2W", Period{Weeks: 2}},
		{"PT1.5S", Period{Nanos: 1.5e9}},
		{"PT0,25S", Period{Nanos: 0.25e9}},
		{"P1D", Period{Days: 1}},
		{"PT24H", Period{Hours: 24}},
	} {
		got, err := ParsePeriod(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePeriod(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParsePeriodErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "must start with P"},
		{"10M", "must start with P"},
		{"P", "no fields"},
		{"PT", "T must be followed"},
		{"P1H", "out of place"},
		{"PT1D", "out of place"},
		{"P1D2Y", "out of place"},
		{"P-1D", "expected a number"},
		{"PT0S", "longer than zero"},
		{"P1.5D", "only seconds may have a fraction"},
		{"P1DTT1H", "T given twice"},
		{"P1", "expected a number followed by a designator"},
		{"P99999999D", "whole numbers"},
	} {
		_, err := ParsePeriod(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePeriod(%q) error = %v; want it to mention %q", tc.in, err, tc.want)
		}
	}
}

func TestPeriodString(t *testing.T) {
	for _, s := range []string{"P10M", "PT10M", "P1Y12M12D", "P12DT12M", "P1Y2M3DT4H5M6S", "P2W", "PT1.5S"} {
		p, err := ParsePeriod(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePeriod(%q).String() = %q, %v", s, p.String(), err)
		}
	}
}

// TestNextPeriodForms walks the seed's period forms from a fixed start and
// checks the first occurrences after a given instant.
func TestNextPeriodForms(t *testing.T) {
	start := "2026-01-31T10:00:00Z"
	for _, tc := range []struct {
		period, after string
		want          []string
	}{
		{"PT10M", "2026-01-31T10:00:00Z", []string{"2026-01-31T10:10:00Z", "2026-01-31T10:20:00Z"}},
		{"PT10M", "2026-03-01T00:05:00Z", []string{"2026-03-01T00:10:00Z", "2026-03-01T00:20:00Z"}},
		// ten months; Jan 31 + 10 months is Nov 30 (clamped), + 20 is Sep 30.
		{"P10M", "2026-01-31T10:00:00Z", []string{"2026-11-30T10:00:00Z", "2027-09-30T10:00:00Z"}},
		{"P1Y12M12D", "2026-01-31T10:00:00Z", []string{"2028-02-12T10:00:00Z", "2030-02-24T10:00:00Z"}},
		{"P12DT12M", "2026-01-31T10:00:00Z", []string{"2026-02-12T10:12:00Z", "2026-02-24T10:24:00Z"}},
		{"P1Y2M3DT4H5M6S", "2026-01-31T10:00:00Z", []string{"2027-04-03T14:05:06Z", "2028-06-06T18:10:12Z"}},
		// start on the grid: the occurrence at exactly 'after' is not "next".
		{"P1D", "2026-02-01T10:00:00Z", []string{"2026-02-02T10:00:00Z", "2026-02-03T10:00:00Z"}},
		// before the start: the start itself.
		{"P1D", "2020-01-01T00:00:00Z", []string{"2026-01-31T10:00:00Z", "2026-02-01T10:00:00Z"}},
	} {
		s, err := ParseSchedule("R/"+start+"/"+tc.period, "", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		at := mustTime(t, tc.after)
		for i, w := range tc.want {
			got, ok := s.Next(at)
			if !ok || !got.Equal(mustTime(t, w)) {
				t.Errorf("%s: Next #%d after %s = %s, %v; want %s", tc.period, i, at, got, ok, w)
			}
			at = got
		}
	}
}

// TestNextFarPast is a start years in the past with a short period: Next is
// still exact and on the grid.
func TestNextFarPast(t *testing.T) {
	s, err := ParseSchedule("R/2018-05-30T14:00:00.000Z/PT24H", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Next(mustTime(t, "2026-12-06T12:41:16Z"))
	if want := mustTime(t, "2026-12-06T14:00:00Z"); !got.Equal(want) {
		t.Errorf("Next = %s, want %s", got, want)
	}
	got, _ = s.Next(mustTime(t, "2026-12-06T14:00:00Z"))
	if want := mustTime(t, "2026-12-07T14:00:00Z"); !got.Equal(want) {
		t.Errorf("Next on the grid = %s, want %s", got, want)
	}
	s, _ = ParseSchedule("R/2018-05-30T14:00:00.000Z/PT7S", "", time.Time{})
	after := mustTime(t, "2026-12-06T12:41:16.5Z")
	got, _ = s.Next(after)
	if d := got.Sub(s.Start) % (7 * time.Second); d != 0 || !got.After(after) || got.Sub(after) > 7*time.Second {
		t.Errorf("PT7S Next = %s: off grid by %s or not the first after %s", got, d, after)
	}
}

func TestRepetitions(t *testing.T) {
	s, err := ParseSchedule("R3/2026-01-01T00:00:00Z/PT1H", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	at, n := s.Start.Add(-time.Second), 0
	for {
		next, ok := s.Next(at)
		if !ok {
			break
		}
		n, at = n+1, next
	}
	if n != 3 {
		t.Errorf("R3 gave %d occurrences, want 3", n)
	}
	r0, _ := ParseSchedule("R0/2026-01-01T00:00:00Z/PT1H", "", time.Time{})
	if _, ok := r0.Next(time.Time{}); ok || !r0.Done() {
		t.Error("R0 has an occurrence")
	}
	// R counts down as occurrences are consumed, and R0 stops.
	now := mustTime(t, "2026-01-01T00:00:10Z")
	st := s.StepAt(now, time.Minute)
	if !st.Run.Equal(s.Start) || st.Rest.Repeat != 2 || st.Rest.String() != "R2/2026-01-01T01:00:00.000Z/PT1H" {
		t.Errorf("first step = %+v (%s)", st, st.Rest)
	}
	st = st.Rest.StepAt(mustTime(t, "2026-01-01T05:00:00Z"), time.Minute)
	if !st.Run.IsZero() || st.Skipped != 2 || !st.Rest.Done() {
		t.Errorf("late step = %+v, want two skipped and done", st)
	}
	if st2 := st.Rest.StepAt(mustTime(t, "2027-01-01T00:00:00Z"), time.Hour); !st2.Run.IsZero() || st2.Skipped != 0 {
		t.Errorf("R0 step ran: %+v", st2)
	}
}

func TestStepEpsilon(t *testing.T) {
	s, _ := ParseSchedule("R/2026-01-01T00:00:00Z/PT10M", "", time.Time{})
	for _, tc := range []struct {
		name    string
		now     string
		eps     time.Duration
		run     string
		skipped int
		nextDue string
	}{
		{"not due", "2025-12-31T23:59:59Z", time.Minute, "", 0, "2026-01-01T00:00:00Z"},
		{"on time", "2026-01-01T00:00:00Z", time.Minute, "2026-01-01T00:00:00Z", 0, "2026-01-01T00:10:00Z"},
		{"late within epsilon", "2026-01-01T00:00:59Z", time.Minute, "2026-01-01T00:00:00Z", 0, "2026-01-01T00:10:00Z"},
		{"late beyond epsilon", "2026-01-01T00:01:01Z", time.Minute, "", 1, "2026-01-01T00:10:00Z"},
		{"down an hour, last slot on time", "2026-01-01T01:00:30Z", time.Minute, "2026-01-01T01:00:00Z", 6, "2026-01-01T01:10:00Z"},
		{"down an hour, all late", "2026-01-01T01:05:00Z", time.Minute, "", 7, "2026-01-01T01:10:00Z"},
		{"zero epsilon", "2026-01-01T00:00:00.001Z", 0, "", 1, "2026-01-01T00:10:00Z"},
	} {
		st := s.StepAt(mustTime(t, tc.now), tc.eps)
		if tc.run == "" && !st.Run.IsZero() || tc.run != "" && !st.Run.Equal(mustTime(t, tc.run)) {
			t.Errorf("%s: run %s, want %q", tc.name, st.Run, tc.run)
		}
		if st.Skipped != tc.skipped || !st.Rest.Start.Equal(mustTime(t, tc.nextDue)) {
			t.Errorf("%s: skipped %d next %s; want %d, %s", tc.name, st.Skipped, st.Rest.Start, tc.skipped, tc.nextDue)
		}
		if st.Skipped > 0 && (!st.SkippedFirst.Equal(s.Start) || st.SkippedLast.Before(st.SkippedFirst)) {
			t.Errorf("%s: skipped range %s–%s", tc.name, st.SkippedFirst, st.SkippedLast)
		}
	}
}

func TestRebase(t *testing.T) {
	s, _ := ParseSchedule("R5/2018-05-30T14:00:00.000Z/PT24H", "", time.Time{})
	r := s.Rebase(mustTime(t, "2026-12-06T15:00:00Z"))
	if r.String() != "R5/2026-12-07T14:00:00.000Z/PT24H" {
		t.Errorf("Rebase = %s", r)
	}
	if on := s.Rebase(mustTime(t, "2026-12-06T14:00:00Z")); on.String() != "R5/2026-12-06T14:00:00.000Z/PT24H" {
		t.Errorf("Rebase on the grid = %s", on)
	}
	future, _ := ParseSchedule("R/2030-01-01T00:00:00Z/P1D", "", time.Time{})
	if f := future.Rebase(mustTime(t, "2026-12-06T15:00:00Z")); !f.Start.Equal(future.Start) {
		t.Errorf("future start moved: %s", f)
	}
}

// TestTimeZoneDST: P1D in a zone keeps the local wall clock across both DST
// changes; PT24H is elapsed time and shifts by an hour.
func TestTimeZoneDST(t *testing.T) {
	for _, tc := range []struct {
		sched, zone, after string
		want               []string
	}{
		// Europe/Berlin springs forward on 2026-03-29, falls back on 2026-10-25.
		{"R/2026-03-27T02:30:00Z/P1D", "Europe/Berlin", "2026-03-27T00:00:00Z",
			[]string{"2026-03-27T02:30:00+01:00", "2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{"R/2026-10-24T09:00:00Z/P1D", "Europe/Berlin", "2026-10-24T00:00:00Z",
			[]string{"2026-10-24T09:00:00+02:00", "2026-10-25T09:00:00+01:00", "2026-10-26T09:00:00+01:00"}},
		{"R/2026-10-24T09:00:00Z/PT24H", "Europe/Berlin", "2026-10-24T00:00:00Z",
			[]string{"2026-10-24T09:00:00+02:00", "2026-10-25T08:00:00+01:00", "2026-10-26T08:00:00+01:00"}},
		// Java's short id: 18:32 Pacific, not 18:32 UTC.
		{"R/2014-10-10T18:32:00Z/PT60M", "PST", "2014-10-10T00:00:00Z",
			[]string{"2014-10-10T18:32:00-07:00", "2014-10-10T19:32:00-07:00"}},
		{"R/2026-11-01T00:30:00Z/P1D", "America/New_York", "2026-10-31T00:00:00Z",
			[]string{"2026-11-01T00:30:00-04:00", "2026-11-02T00:30:00-05:00"}},
		// A zone in the schedule itself, no scheduleTimeZone.
		{"R/2026-01-01T08:00:00+05:30/P1D", "", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T08:00:00+05:30", "2026-01-02T08:00:00+05:30"}},
	} {
		s, err := ParseSchedule(tc.sched, tc.zone, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		at := mustTime(t, tc.after)
		for i, w := range tc.want {
			got, _ := s.Next(at)
			if !got.Equal(mustTime(t, w)) {
				t.Errorf("%s in %q: #%d = %s, want %s", tc.sched, tc.zone, i, got, w)
			}
			at = got
		}
	}
}

func TestParseScheduleErrors(t *testing.T) {
	for _, tc := range []struct{ in, zone, want string }{
		{"R/2026-01-01T00:00:00Z", "", "want Rn/start/period"},
		{"X/2026-01-01T00:00:00Z/P1D", "", "must be R or Rn"},
		{"R-1/2026-01-01T00:00:00Z/P1D", "", "must be R or Rn"},
		{"R/yesterday/P1D", "", "not an ISO 8601 date-time"},
		{"R/2026-01-01T00:00:00Q/P1D", "", "not an ISO 8601"},
		{"R/1960-01-01T00:00:00Z/P1D", "", "before 1970"},
		{"R/2026-01-01T00:00:00Z/1D", "", "must start with P"},
		{"R/2026-01-01T00:00:00Z/P1D", "Mars/Olympus", "scheduleTimeZone"},
	} {
		_, err := ParseSchedule(tc.in, tc.zone, time.Time{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSchedule(%q, %q) error = %v; want %q", tc.in, tc.zone, err, tc.want)
		}
	}
}

func TestEmptyStartIsNow(t *testing.T) {
	now := mustTime(t, "2026-12-06T12:00:00Z")
	s, err := ParseSchedule("R//PT1H", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.StepAt(now, time.Minute); !st.Run.Equal(now.Add(-time.Second)) {
		t.Errorf("R//PT1H does not run at once: %+v", st)
	}
}

func TestParseTimeForms(t *testing.T) {
	for in, want := range map[string]string{
		"2012-10-01T05:52:00Z":         "2012-10-01T05:52:00Z",
		"1997-07-16T19:20:30.45+01:00": "1997-07-16T18:20:30.45Z",
		"2018-05-30T14:00:00.000Z":     "2018-05-30T14:00:00Z",
		"2018-05-30T14:00:00.000+0200": "2018-05-30T12:00:00Z",
		"2018-05-30T14:00":             "2018-05-30T14:00:00Z",
		"2018-05-30":                   "2018-05-30T00:00:00Z",
		"2018-05-30T14:00:00-05":       "2018-05-30T19:00:00Z",
	} {
		got, err := ParseTime(in, nil)
		if err != nil || !got.Equal(mustTime(t, want)) {
			t.Errorf("ParseTime(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}

// TestNextProperty: for random schedules and instants, Next is on the grid,
// later than the instant, and no occurrence lies between.
func TestNextProperty(t *testing.T) {
	periods := []string{"PT7S", "PT10M", "P1D", "P10M", "P1Y12M12D", "P12DT12M", "P1Y2M3DT4H5M6S", "P1W", "PT25H"}
	zones := []string{"", "Europe/Berlin", "America/New_York", "Australia/Sydney"}
	r := newRand(1)
	for i := 0; i < 2000; i++ {
		start := time.Unix(1e9+r.Int63n(1e9), 0).UTC().Format(time.RFC3339)
		s, err := ParseSchedule("R/"+start+"/"+periods[r.Intn(len(periods))], zones[r.Intn(len(zones))], time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		after := s.Start.Add(time.Duration(r.Int63n(int64(20 * 365 * 24 * time.Hour))))
		got, ok := s.Next(after)
		k := s.index(after)
		if !ok || !got.Equal(s.At(k)) || !got.After(after) || s.At(k-1).After(after) {
			t.Fatalf("%s: Next(%s) = %s (k=%d, At(k-1)=%s)", s, after, got, k, s.At(k-1))
		}
	}
}
