package jobs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Period is an ISO 8601 duration, P[nY][nM][nW][nD][T[nH][nM][nS]], as
// Joda's ISOPeriodFormat.standard reads it: integer fields, a fraction only
// on seconds. Years, months, weeks and days are calendar fields (added to
// the local date, DST-aware); hours, minutes and seconds are elapsed time.
type Period struct {
	Years, Months, Weeks, Days int
	Hours, Minutes             int
	// Nanos is the seconds field in nanoseconds (PT1.5S = 1.5e9).
	Nanos int64
}

// maxField bounds each field so that multiplying by an occurrence index
// cannot overflow.
const maxField = 1_000_000

// ParsePeriod parses an ISO 8601 duration. "P10M" is ten months and
// "PT10M" ten minutes; "P" alone, "PT", a negative or an all-zero period is
// an error.
func ParsePeriod(s string) (Period, error) {
	var p Period
	if s == "" || (s[0] != 'P' && s[0] != 'p') {
		return p, fmt.Errorf("period %q: must start with P, e.g. PT10M or P1D", s)
	}
	rest, inTime, any := strings.ToUpper(s[1:]), false, false
	order := "YMWD" // designators allowed next, in order
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return p, fmt.Errorf("period %q: T given twice", s)
			}
			inTime, order, rest = true, "HMS", rest[1:]
			if rest == "" {
				return p, fmt.Errorf("period %q: T must be followed by hours, minutes or seconds", s)
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return p, fmt.Errorf("period %q: expected a number followed by a designator at %q", s, rest)
		}
		num, d := strings.ReplaceAll(rest[:i], ",", "."), rest[i]
		k := strings.IndexByte(order, d)
		if k < 0 {
			return p, fmt.Errorf("period %q: designator %q out of place (order is P…Y…M…W…D T…H…M…S)", s, d)
		}
		order = order[k+1:]
		if err := p.set(d, inTime, num); err != nil {
			return p, fmt.Errorf("period %q: %w", s, err)
		}
		any, rest = true, rest[i+1:]
	}
	if !any {
		return p, fmt.Errorf("period %q: no fields", s)
	}
	if p.IsZero() {
		return p, fmt.Errorf("period %q: must be longer than zero", s)
	}
	return p, nil
}

func (p *Period) set(d byte, inTime bool, num string) error {
	if inTime && d == 'S' {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || f > maxField {
			return fmt.Errorf("seconds %q: not a number between 0 and %d", num, maxField)
		}
		p.Nanos = int64(f*1e9 + 0.5)
		return nil
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > maxField {
		return fmt.Errorf("%q%c: only seconds may have a fraction; fields are whole numbers 0–%d", num, d, maxField)
	}
	switch {
	case !inTime && d == 'Y':
		p.Years = n
	case !inTime && d == 'M':
		p.Months = n
	case !inTime && d == 'W':
		p.Weeks = n
	case !inTime && d == 'D':
		p.Days = n
	case inTime && d == 'H':
		p.Hours = n
	case inTime && d == 'M':
		p.Minutes = n
	default:
		return errors.New("unknown designator")
	}
	return nil
}

// IsZero reports whether every field is zero.
func (p Period) IsZero() bool { return p == Period{} }

// fixed is the elapsed-time part (hours, minutes, seconds).
func (p Period) fixed() time.Duration {
	return time.Duration(p.Hours)*time.Hour + time.Duration(p.Minutes)*time.Minute + time.Duration(p.Nanos)
}

// Approx is the period's nominal length (a year of 365.2425 days, a month
// of a twelfth of that), used only to estimate how many periods fit into a
// span before the exact calendar arithmetic.
func (p Period) Approx() time.Duration {
	const day = 24 * time.Hour
	year := time.Duration(365.2425 * float64(day))
	return time.Duration(p.Years)*year + time.Duration(p.Months)*(year/12) +
		time.Duration(p.Weeks*7+p.Days)*day + p.fixed()
}

// AddTo returns t plus k times the period, the way Joda's DateTime.plus
// does it field by field: years and months first (a day past the end of the
// month is clamped: Jan 31 + P1M = Feb 28), then weeks and days on the local
// calendar of t's location, then the elapsed hours, minutes and seconds.
func (p Period) AddTo(t time.Time, k int) time.Time {
	if k == 0 {
		return t
	}
	if p.Years != 0 || p.Months != 0 || p.Weeks != 0 || p.Days != 0 {
		y, m, d := t.Date()
		hh, mm, ss := t.Clock()
		months := int(m) - 1 + k*(p.Years*12+p.Months)
		y += months / 12
		months %= 12
		if months < 0 {
			months += 12
			y--
		}
		m = time.Month(months + 1)
		if last := daysIn(y, m); d > last {
			d = last
		}
		t = time.Date(y, m, d+k*(p.Weeks*7+p.Days), hh, mm, ss, t.Nanosecond(), t.Location())
	}
	return t.Add(time.Duration(k) * p.fixed())
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String is the canonical ISO 8601 form (P1Y2M3DT4H5M6S; PT0S never occurs
// because a zero period does not parse).
func (p Period) String() string {
	var b strings.Builder
	b.WriteByte('P')
	for _, f := range []struct {
		n int
		d byte
	}{{p.Years, 'Y'}, {p.Months, 'M'}, {p.Weeks, 'W'}, {p.Days, 'D'}} {
		if f.n != 0 {
			b.WriteString(strconv.Itoa(f.n))
			b.WriteByte(f.d)
		}
	}
	if p.Hours != 0 || p.Minutes != 0 || p.Nanos != 0 {
		b.WriteByte('T')
		if p.Hours != 0 {
			b.WriteString(strconv.Itoa(p.Hours) + "H")
		}
		if p.Minutes != 0 {
			b.WriteString(strconv.Itoa(p.Minutes) + "M")
		}
		if p.Nanos != 0 {
			b.WriteString(strconv.FormatFloat(float64(p.Nanos)/1e9, 'f', -1, 64) + "S")
		}
	}
	return b.String()
}
