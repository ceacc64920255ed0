package cadence

import (
	"testing"
	"time"
)

// dates is a Holidays over a fixed list of "2006-01-02" dates, for tests;
// the config package builds real ones from country calendars.
func dates(ds ...string) Holidays {
	set := map[string]bool{}
	for _, d := range ds {
		set[d] = true
	}
	return func(y int, m time.Month, d int) bool {
		return set[time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)]
	}
}

func TestSpanSkippingHolidays(t *testing.T) {
	// Swedish days off in 2026: Good Friday 3 Apr, Easter Monday 6 Apr,
	// Midsummer Eve Fri 19 Jun, Christmas Eve to Boxing Day Thu 24 – Sat 26 Dec.
	se := dates("2026-04-03", "2026-04-06", "2026-06-19", "2026-12-24", "2026-12-25", "2026-12-26")
	tests := []struct {
		name   string
		span   string
		hol    Holidays
		from   time.Time
		after  time.Time
		before bool // also check BeforeSkipping(after) == from
	}{
		{name: "no holidays is After", span: "1bd", hol: nil,
			from: tb("2026-06-18 10:00"), after: tb("2026-06-19 10:00"), before: true},
		{name: "1bd before Midsummer Eve is Monday", span: "1bd", hol: se,
			from: tb("2026-06-18 10:00"), after: tb("2026-06-22 10:00"), before: true},
		{name: "2bd over Easter: Thursday to Wednesday", span: "2bd", hol: se,
			from: tb("2026-04-02 16:30"), after: tb("2026-04-08 16:30"), before: true},
		{name: "a start on Good Friday counts from Tuesday 00:00", span: "1bd", hol: se,
			from: tb("2026-04-03 11:00"), after: tb("2026-04-08 00:00")},
		{name: "1bd before Christmas Eve is the Monday after", span: "1bd", hol: se,
			from: tb("2026-12-23 09:00"), after: tb("2026-12-28 09:00"), before: true},
		{name: "days, weeks and durations ignore holidays", span: "1d", hol: se,
			from: tb("2026-06-18 10:00"), after: tb("2026-06-19 10:00"), before: true},
		{name: "0bd on a holiday is no time", span: "0bd", hol: se,
			from: tb("2026-06-19 10:00"), after: tb("2026-06-19 10:00")},
		{name: "the date is the customer's: Thursday 23:30 UTC is Midsummer Eve in Berlin", span: "1bd", hol: se,
			from: time.Date(2026, 6, 18, 23, 30, 0, 0, time.UTC), after: tb("2026-06-23 00:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sp(tc.span)
			if got := s.AfterSkipping(tc.from, berlin, tc.hol); !got.Equal(tc.after) {
				t.Errorf("%s.AfterSkipping(%v) = %v, want %v", tc.span, tc.from, got, tc.after)
			}
			if tc.before {
				if got := s.BeforeSkipping(tc.after, berlin, tc.hol); !got.Equal(tc.from) {
					t.Errorf("%s.BeforeSkipping(%v) = %v, want %v", tc.span, tc.after, got, tc.from)
				}
			}
		})
	}
}

func TestSpanBeforeFromHoliday(t *testing.T) {
	// Easter Monday 10:00 is the end of Thursday (Good Friday and the
	// weekend do not count); one business day before is the end of Wednesday.
	se := dates("2026-04-03", "2026-04-06")
	got := sp("1bd").BeforeSkipping(tb("2026-04-06 10:00"), berlin, se)
	want := tb("2026-04-02 00:00").Add(-time.Nanosecond)
	if !got.Equal(want) {
		t.Errorf("1bd before Easter Monday = %v, want %v", got, want)
	}
}

// The rules use the customer's holidays: a reply due in 1bd and a grace
// of 1bd both step over Midsummer Eve.
func TestReplySkipsCustomerHolidays(t *testing.T) {
	in := mail(tb("2026-06-18 10:00"), Inbound, "Question")
	cm := Commitment{Name: "reply", Type: ReplyType, Within: sp("1bd"), Grace: sp("1bd")}
	tests := []struct {
		name      string
		hol       Holidays
		wantDue   time.Time
		wantSlips time.Time
	}{
		{name: "no holidays", hol: nil, wantDue: tb("2026-06-19 10:00"), wantSlips: tb("2026-06-22 10:00")},
		{name: "Midsummer Eve off", hol: dates("2026-06-19"), wantDue: tb("2026-06-22 10:00"), wantSlips: tb("2026-06-23 10:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := customer(berlin, cm)
			c.Holidays = tc.hol
			got := evalOne(t, c, tb("2026-01-01 00:00"), tb("2026-06-18 12:00"), []Contact{in}, Stale{})
			if !got.DueAt.Equal(tc.wantDue) || !got.SlipsAt.Equal(tc.wantSlips) {
				t.Errorf("due %v, slips %v; want %v, %v", got.DueAt, got.SlipsAt, tc.wantDue, tc.wantSlips)
			}
		})
	}
}
