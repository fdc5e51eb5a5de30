package sigmaql

import (
	"strings"
	"time"
)

// timestampLayouts are the text forms of a timestamp the time-part modifiers read, tried
// in order: RFC 3339 (evtx SystemTime, JSON exports), the Sysmon UtcTime form, and Arrow's
// rendering of timestamp columns. A value in none of them does not match.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// refTime reads a value as a timestamp. Values without a zone are UTC: the time-part
// modifiers do no time-zone conversion (SIGMA.md: "not designed to handle timezone or
// format conversions").
func refTime(v refValue) (time.Time, bool) {
	if v.kind != refStr && v.kind != refOther {
		return time.Time{}, false
	}
	s := strings.TrimSpace(v.s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// timePartOf extracts a part of t in its own zone: minute 0-59, hour 0-23, day of month
// 1-31, ISO week 1-53, month 1-12, year.
func timePartOf(part string, t time.Time) int64 {
	switch part {
	case "minute":
		return int64(t.Minute())
	case "hour":
		return int64(t.Hour())
	case "day":
		return int64(t.Day())
	case "week":
		_, w := t.ISOWeek()
		return int64(w)
	case "month":
		return int64(t.Month())
	case "year":
		return int64(t.Year())
	}
	panic("BUG: unknown time part " + part)
}

// fieldRefMatch compares a value with the value of the referenced field, both by their
// string forms, case-insensitively unless cased: equality, or the value contains / starts
// with / ends with the referenced value (p.op).
func fieldRefMatch(p *pred, val, ref string) bool {
	if !p.cased {
		val, ref = fold(val), fold(ref)
	}
	switch p.op {
	case modContains:
		return strings.Contains(val, ref)
	case modStartswith:
		return strings.HasPrefix(val, ref)
	case modEndswith:
		return strings.HasSuffix(val, ref)
	}
	return val == ref
}
