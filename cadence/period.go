package cadence

import (
	"fmt"
	"time"
)

// periodStart returns the start of the calendar period holding t, in loc:
// Monday 00:00 for weeks (ISO 8601), the 1st at 00:00 for months, quarters
// and years.
func periodStart(p Period, t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	y, m, d := t.Date()
	switch p {
	case PerWeek:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc)
	case PerQtr:
		return time.Date(y, (m-1)/3*3+1, 1, 0, 0, 0, 0, loc)
	case PerYear:
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y, m, 1, 0, 0, 0, 0, loc)
}

// nextPeriod returns the start of the period after the one starting at
// start (which periodStart returned).
func nextPeriod(p Period, start time.Time) time.Time {
	y, m, d := start.Date()
	loc := start.Location()
	switch p {
	case PerWeek:
		return time.Date(y, m, d+7, 0, 0, 0, 0, loc)
	case PerQtr:
		return time.Date(y, m+3, 1, 0, 0, 0, 0, loc)
	case PerYear:
		return time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
}

// periodLabel names the period starting at start: 2026-W11, 2026-03,
// 2026-Q1, 2026.
func periodLabel(p Period, start time.Time) string {
	switch p {
	case PerWeek:
		y, w := start.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case PerQtr:
		return fmt.Sprintf("%04d-Q%d", start.Year(), (int(start.Month())-1)/3+1)
	case PerYear:
		return fmt.Sprintf("%04d", start.Year())
	}
	return start.Format("2006-01")
}
