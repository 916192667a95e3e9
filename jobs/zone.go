package jobs

import (
	"fmt"
	"strings"
	"time"
)

// javaShortIDs are the three-letter ids java.util.TimeZone accepts (Chronos
// users write scheduleTimeZone "PST") that are not IANA names.
var javaShortIDs = map[string]string{
	"ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
	"ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo",
	"BST": "Asia/Dhaka", "CAT": "Africa/Harare", "CNT": "America/St_Johns",
	"CST": "America/Chicago", "CTT": "Asia/Shanghai", "EAT": "Africa/Addis_Ababa",
	"ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis", "IST": "Asia/Kolkata",
	"JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan",
	"NST": "Pacific/Auckland", "PLT": "Asia/Karachi", "PNT": "America/Phoenix",
	"PRT": "America/Puerto_Rico", "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal",
	"VST": "Asia/Ho_Chi_Minh",
}

// LoadZone resolves a scheduleTimeZone: an IANA name ("Europe/Berlin"),
// "UTC"/"Z", Java's short ids ("PST"), or a fixed offset ("+01:00").
func LoadZone(name string) (*time.Location, error) {
	if name == "Z" || strings.EqualFold(name, "UTC") || name == "GMT" {
		return time.UTC, nil
	}
	if off, ok := parseOffset(name); ok {
		return time.FixedZone(name, off), nil
	}
	if id, ok := javaShortIDs[name]; ok {
		name = id
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone (want an IANA name such as Europe/Berlin, or PST, or +01:00)")
	}
	return loc, nil
}

// parseOffset reads ±hh, ±hhmm, ±hh:mm into seconds east of UTC.
func parseOffset(s string) (int, bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	d := strings.ReplaceAll(s[1:], ":", "")
	if len(d) != 2 && len(d) != 4 {
		return 0, false
	}
	n := 0
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	h, m := n, 0
	if len(d) == 4 {
		h, m = n/100, n%100
	}
	if h > 18 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// ParseTime reads an ISO 8601 date-time as Joda's DateTime.parse does
// ("2012-10-01T05:52:00Z", "1997-07-16T19:20:30.45+01:00", a bare date, no
// zone = UTC). When loc is set the wall-clock digits are kept and the zone
// replaced by loc (Chronos' scheduleTimeZone).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	date, clock, zone := s, "", ""
	if i := strings.IndexAny(s, "Tt "); i >= 0 {
		date, clock = s[:i], s[i+1:]
	}
	if clock != "" {
		if i := strings.IndexAny(clock, "Zz+-"); i >= 0 {
			clock, zone = clock[:i], clock[i:]
		}
	}
	layout := "2006-01-02"
	if clock != "" {
		switch {
		case len(clock) == 2:
			clock += ":00:00"
		case len(clock) == 5:
			clock += ":00"
		}
		layout += "T15:04:05"
		date += "T" + strings.Replace(clock, ",", ".", 1)
	}
	z := time.UTC
	switch {
	case zone == "" || zone == "Z" || zone == "z":
	default:
		off, ok := parseOffset(zone)
		if !ok {
			return time.Time{}, fmt.Errorf("%q: bad zone offset %q (want Z or ±hh:mm)", s, zone)
		}
		z = time.FixedZone("", off)
	}
	if loc != nil {
		z = loc
	}
	t, err := time.ParseInLocation(layout, date, z)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: not an ISO 8601 date-time (e.g. 2026-01-01T02:30:00Z)", s)
	}
	return t, nil
}
