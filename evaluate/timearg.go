package evaluate

import (
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// timeHelp lists what ParseTime reads, for its errors.
const timeHelp = "want now, today, tomorrow, yesterday, a length from now (+3d, -2w, -36h, 3bd), " +
	"a date (2026-12-24), a local time (2026-12-24 17:00) or RFC 3339 (2026-12-24T17:00:00+01:00)"

// ParseTime reads a time given on the command line (--at, --until): "now";
// a day — "today", "tomorrow", "yesterday" or a date 2006-01-02 in loc —
// meaning the end of that day ("what will have slipped by Friday",
// "silenced through Friday"); a length from now in Span syntax, ahead or
// with "-" back ("+3d", "-2w", "-36h", "3bd"); a local date and time
// "2006-01-02 15:04" (or with T, or with seconds) in loc; or RFC 3339. A
// value it cannot read is an *ArgError listing the forms.
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	t, day, err := parseTime(s, now, loc)
	if day {
		return t.AddDate(0, 0, 1).Add(-time.Millisecond), err
	}
	return t, err
}

// ParseStart is ParseTime where a day means its start: "silence from
// Monday" begins as Monday does.
func ParseStart(s string, now time.Time, loc *time.Location) (time.Time, error) {
	t, _, err := parseTime(s, now, loc)
	return t, err
}

// parseTime returns the time s names; for a day, its start in loc and day
// true.
func parseTime(s string, now time.Time, loc *time.Location) (t time.Time, day bool, err error) {
	s = strings.TrimSpace(s)
	today := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
	switch strings.ToLower(s) {
	case "now":
		return now, false, nil
	case "today":
		return today, true, nil
	case "tomorrow":
		return today.AddDate(0, 0, 1), true, nil
	case "yesterday":
		return today.AddDate(0, 0, -1), true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return d, true, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, false, nil
		}
	}
	rest, back := strings.CutPrefix(s, "-")
	if !back {
		rest = strings.TrimPrefix(s, "+")
	}
	if sp, err := cadence.ParseSpan(rest); err == nil && !sp.IsZero() {
		if back {
			return sp.Before(now, loc), false, nil
		}
		return sp.After(now, loc), false, nil
	}
	return time.Time{}, false, &ArgError{Arg: s, Msg: timeHelp}
}
