package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed Chronos schedule "Rn/start/period": Repeat more
// occurrences (-1: unbounded) at Start, Start+Period, Start+2·Period, …
// computed on the calendar of Start's location.
type Schedule struct {
	Repeat int
	Start  time.Time
	Period Period
}

// minStart is Chronos' lower bound on a schedule's start.
var minStart = time.Unix(1, 0)

// ParseSchedule parses a Chronos schedule. zone, when not empty, is
// scheduleTimeZone: the wall-clock digits of the start are kept and read in
// that zone ("R/2014-10-10T18:32:00Z/PT60M" with "PST" starts at 18:32
// Pacific), and calendar periods follow that zone's days across DST. An
// empty start ("R//PT1H") is now, given by the caller.
func ParseSchedule(expr, zone string, now time.Time) (Schedule, error) {
	var s Schedule
	parts := strings.Split(expr, "/")
	if len(parts) != 3 {
		return s, fmt.Errorf("schedule %q: want Rn/start/period, e.g. R/2026-01-01T02:30:00Z/P1D", expr)
	}
	rep := parts[0]
	if rep == "" || (rep[0] != 'R' && rep[0] != 'r') {
		return s, fmt.Errorf("schedule %q: repetitions %q must be R or Rn", expr, rep)
	}
	s.Repeat = -1
	if rep != "R" && rep != "r" {
		n, err := strconv.Atoi(rep[1:])
		if err != nil || n < 0 {
			return s, fmt.Errorf("schedule %q: repetitions %q must be R or Rn with n ≥ 0", expr, rep)
		}
		s.Repeat = n
	}
	var loc *time.Location
	if zone != "" {
		l, err := LoadZone(zone)
		if err != nil {
			return s, fmt.Errorf("scheduleTimeZone %q: %w", zone, err)
		}
		loc = l
	}
	start := strings.TrimSpace(parts[1])
	if start == "" {
		s.Start = now.Add(-time.Second)
		if loc != nil {
			s.Start = s.Start.In(loc)
		}
	} else {
		t, err := ParseTime(start, loc)
		if err != nil {
			return s, fmt.Errorf("schedule %q: start: %w", expr, err)
		}
		s.Start = t
	}
	if s.Start.Before(minStart) {
		return s, fmt.Errorf("schedule %q: start is before 1970-01-01T00:00:01Z", expr)
	}
	p, err := ParsePeriod(parts[2])
	if err != nil {
		return s, fmt.Errorf("schedule %q: %w", expr, err)
	}
	s.Period = p
	return s, nil
}

// At is occurrence k (0 = Start), whether or not Repeat allows it.
func (s Schedule) At(k int) time.Time { return s.Period.AddTo(s.Start, k) }

// Done reports whether no occurrence is left.
func (s Schedule) Done() bool { return s.Repeat == 0 }

// index returns the number of occurrences at or before t (ignoring Repeat):
// the smallest k with At(k) > t. At is strictly increasing in k, so an
// estimate from the nominal period length is bracketed by galloping and
// then bisected.
func (s Schedule) index(t time.Time) int {
	approx := s.Period.Approx()
	if t.Before(s.Start) || approx <= 0 {
		return 0
	}
	est := int(t.Sub(s.Start) / approx)
	var lo, hi int // invariant: At(lo) ≤ t < At(hi)
	if !s.At(est).After(t) {
		lo, hi = est, est+1
		for step := 1; !s.At(hi).After(t); step *= 2 {
			lo, hi = hi, hi+step
		}
	} else {
		lo, hi = est-1, est
		for step := 1; lo > 0 && s.At(lo).After(t); step *= 2 {
			lo, hi = max(lo-step, 0), lo
		}
		lo = max(lo, 0)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if s.At(mid).After(t) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// Next returns the first occurrence later than after, and false when the
// schedule has none left by then.
func (s Schedule) Next(after time.Time) (time.Time, bool) {
	k := s.index(after)
	if s.Repeat >= 0 && k >= s.Repeat {
		return time.Time{}, false
	}
	return s.At(k), true
}

// Rebase moves a start that lies in the past onto the first occurrence of
// the same grid at or after now, keeping the repetition count: a job posted
// with "R/2018-05-30T14:00:00Z/PT24H" next runs at 14:00 UTC today or
// tomorrow.
func (s Schedule) Rebase(now time.Time) Schedule {
	if !s.Start.Before(now) {
		return s
	}
	k := s.index(now.Add(-1))
	s.Start = s.At(k)
	return s
}

// Step is what happens to a schedule at an instant: the occurrences due by
// then are consumed; the latest one runs if it is at most epsilon late, the
// others are skipped.
type Step struct {
	// Run is the due time of the occurrence to launch (zero: none).
	Run time.Time
	// Skipped counts occurrences not run (missed by more than epsilon, or
	// coalesced behind the one that runs); SkippedFirst and SkippedLast are
	// their due times.
	Skipped                   int
	SkippedFirst, SkippedLast time.Time
	// Rest is the schedule after the step (Start = next due time).
	Rest Schedule
}

// StepAt consumes every occurrence of s at or before now.
func (s Schedule) StepAt(now time.Time, epsilon time.Duration) Step {
	st := Step{Rest: s}
	if s.Done() || s.Start.After(now) {
		return st
	}
	n := s.index(now) // occurrences 0..n-1 are due
	if s.Repeat >= 0 && n > s.Repeat {
		n = s.Repeat
	}
	last := s.At(n - 1)
	skipped := n
	if now.Sub(last) <= epsilon {
		st.Run, skipped = last, n-1
	}
	if skipped > 0 {
		st.Skipped, st.SkippedFirst, st.SkippedLast = skipped, s.Start, s.At(skipped-1)
	}
	st.Rest.Start = s.At(n)
	if s.Repeat >= 0 {
		st.Rest.Repeat = s.Repeat - n
	}
	return st
}

// String is the schedule in Chronos' form, the start in its own zone with
// milliseconds ("R4/2026-12-06T14:00:00.000Z/PT10M").
func (s Schedule) String() string {
	r := "R"
	if s.Repeat >= 0 {
		r += strconv.Itoa(s.Repeat)
	}
	return r + "/" + FormatTime(s.Start) + "/" + s.Period.String()
}

// FormatTime is Chronos' timestamp form: milliseconds, "Z" for UTC, else
// the numeric offset.
func FormatTime(t time.Time) string {
	if _, off := t.Zone(); off == 0 {
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05.000-07:00")
}
