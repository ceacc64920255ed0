package cadence

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unit is the unit of a Span.
type Unit int

// Span units. Fixed is a Go duration; the others are calendar units applied
// in a time zone, so "1d" across a DST change is one calendar day, not 24h.
const (
	Fixed Unit = iota
	Day
	Week
	Month
	BusinessDay
)

// Span is a configured length of time: a Go duration ("36h") or a count of
// calendar units ("2d", "1w", "3mo", "2bd"). The zero Span is zero length.
type Span struct {
	Unit  Unit
	N     int           // count of Unit; unused for Fixed
	Fixed time.Duration // for Unit == Fixed
}

// ParseSpan parses Go duration syntax plus the suffixes d (day), w (week),
// mo (month) and bd (business days). A bare "0" is zero.
func ParseSpan(s string) (Span, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Span{}, nil
	}
	for _, u := range []struct {
		suffix string
		unit   Unit
	}{{"bd", BusinessDay}, {"mo", Month}, {"d", Day}, {"w", Week}} {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			break
		}
		return Span{Unit: u.unit, N: n}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return Span{}, fmt.Errorf("invalid duration %q: want Go syntax (90m, 36h) or N followed by d, w, mo or bd", s)
	}
	return Span{Unit: Fixed, Fixed: d}, nil
}

// IsZero reports whether the span has no length.
func (s Span) IsZero() bool { return s.N == 0 && s.Fixed == 0 }

// String formats the span as ParseSpan accepts it.
func (s Span) String() string {
	switch s.Unit {
	case Day:
		return strconv.Itoa(s.N) + "d"
	case Week:
		return strconv.Itoa(s.N) + "w"
	case Month:
		return strconv.Itoa(s.N) + "mo"
	case BusinessDay:
		return strconv.Itoa(s.N) + "bd"
	}
	return s.Fixed.String()
}

// Approx is the span's nominal length (a month is 30 days, a business day
// 24h scaled by 7/5), for display and rate estimates only, never for due times.
func (s Span) Approx() time.Duration {
	const day = 24 * time.Hour
	switch s.Unit {
	case Day:
		return time.Duration(s.N) * day
	case Week:
		return time.Duration(s.N) * 7 * day
	case Month:
		return time.Duration(s.N) * 30 * day
	case BusinessDay:
		return time.Duration(s.N) * 7 * day / 5
	}
	return s.Fixed
}

// Holidays reports whether a date (year, month, day in the customer's time
// zone) is a non-working day besides Saturday and Sunday: a public holiday,
// or a day the team has declared closed. Business-day spans skip such days
// as they skip weekends. A nil Holidays has none. It is called once for each
// day a span steps over, possibly from several goroutines: it must be cheap
// and safe for concurrent use, and must not change its answers.
type Holidays func(year int, month time.Month, day int) bool

// After returns t plus the span, with calendar units applied in loc.
// Months clamp to the end of the target month (Jan 31 + 1mo = Feb 28/29).
// Business days skip Saturdays and Sundays: 1bd after Friday 15:00 is
// Monday 15:00, and a start on a weekend counts from the next Monday 00:00.
func (s Span) After(t time.Time, loc *time.Location) time.Time {
	return s.shift(t, loc, nil, 1)
}

// Before returns t minus the span, the mirror of After.
func (s Span) Before(t time.Time, loc *time.Location) time.Time {
	return s.shift(t, loc, nil, -1)
}

// AfterSkipping is After with business days also skipping the holidays hol
// (nil: none, the same as After): 1bd after the day before a holiday is
// the next working day at the same time, and a start on a holiday counts
// from the next working day's 00:00. Other units ignore hol.
func (s Span) AfterSkipping(t time.Time, loc *time.Location, hol Holidays) time.Time {
	return s.shift(t, loc, hol, 1)
}

// BeforeSkipping is the mirror of AfterSkipping.
func (s Span) BeforeSkipping(t time.Time, loc *time.Location, hol Holidays) time.Time {
	return s.shift(t, loc, hol, -1)
}

func (s Span) shift(t time.Time, loc *time.Location, hol Holidays, sign int) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	switch s.Unit {
	case Day:
		return lt.AddDate(0, 0, sign*s.N)
	case Week:
		return lt.AddDate(0, 0, sign*7*s.N)
	case Month:
		return addMonthsClamped(lt, sign*s.N)
	case BusinessDay:
		return addBusinessDays(lt, sign*s.N, hol)
	}
	return t.Add(time.Duration(sign) * s.Fixed)
}

func addMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

func addBusinessDays(t time.Time, n int, hol Holidays) time.Time {
	if n == 0 {
		// "0bd" is no time at all, even on a weekend.
		return t
	}
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	if offDay(t, hol) {
		// Time spent on a day off does not count: move to the edge of the
		// working days in the direction of travel.
		y, m, d := t.Date()
		for t = time.Date(y, m, d, 0, 0, 0, 0, t.Location()); offDay(t, hol); {
			t = t.AddDate(0, 0, step)
		}
		if step < 0 {
			t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
	}
	for n > 0 {
		t = t.AddDate(0, 0, step)
		if !offDay(t, hol) {
			n--
		}
	}
	return t
}

// offDay reports whether t's date is a weekend day or one of hol.
func offDay(t time.Time, hol Holidays) bool {
	wd := t.Weekday()
	if wd == time.Saturday || wd == time.Sunday {
		return true
	}
	return hol != nil && hol(t.Date())
}
