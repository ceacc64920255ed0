package cadence

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func observeAt(contacts []Contact, start, now time.Time) Observed {
	SortContacts(contacts)
	c := customer(berlin)
	return newCustEval(&c, NewHistory(map[string][]Contact{c.ID: contacts}), now, start).observe()
}

// every returns n contacts every gap before (and excluding) now.
func every(now time.Time, gap time.Duration, n int, mk func(time.Time) Contact) []Contact {
	var out []Contact
	for i := 1; i <= n; i++ {
		out = append(out, mk(now.Add(-time.Duration(i)*gap)))
	}
	return out
}

func TestObservedCounts(t *testing.T) {
	now := tb("2026-03-31 12:00")
	contacts := []Contact{
		mail(tb("2026-03-30 09:00"), Inbound, "a"),
		mail(tb("2026-03-30 10:00"), Outbound, "b"), // same day: one contact day
		meeting(tb("2026-03-20 10:00"), time.Hour, "m"),
		mail(tb("2026-02-15 10:00"), "", "third party"),
		mail(tb("2025-11-01 10:00"), Outbound, "old"),
		meeting(tb("2026-04-02 10:00"), time.Hour, "planned"),
	}
	o := observeAt(contacts, tb("2025-06-01 00:00"), now)
	if want := (Tally{Total: 3, Email: 2, Meeting: 1, Inbound: 1, Outbound: 2}); o.Contacts30d != want {
		t.Errorf("30d = %+v, want %+v", o.Contacts30d, want)
	}
	if want := (Tally{Total: 4, Email: 3, Meeting: 1, Inbound: 1, Outbound: 2}); o.Contacts90d != want {
		t.Errorf("90d = %+v, want %+v", o.Contacts90d, want)
	}
	if !o.LastContactAt.Equal(tb("2026-03-30 10:00")) || !o.LastInboundAt.Equal(tb("2026-03-30 09:00")) ||
		!o.LastOutboundAt.Equal(tb("2026-03-30 10:00")) || !o.NextMeetingAt.Equal(tb("2026-04-02 10:00")) {
		t.Errorf("last/next = %v %v %v %v", o.LastContactAt, o.LastInboundAt, o.LastOutboundAt, o.NextMeetingAt)
	}
	// Contact days: 2025-11-01, 2026-02-15, 03-20, 03-30 → gaps 106, 33, 10 → median 33 days.
	if o.MedianInterval != 33*day {
		t.Errorf("median interval = %v, want 33 days", o.MedianInterval)
	}
	if share, ok := o.Reciprocity(); !ok || math.Abs(share-1.0/3) > 1e-9 {
		t.Errorf("reciprocity = %v, %v; want 1/3", share, ok)
	}
}

func TestObservedTrend(t *testing.T) {
	now := tb("2026-03-31 12:00")
	start := tb("2025-06-01 00:00")
	weeklyMail := func(at time.Time) Contact { return mail(at, Outbound, "x") }
	tests := []struct {
		name      string
		contacts  []Contact
		start     time.Time
		trend     Trend
		rateAbout float64 // expected Rate per week, ±25%
	}{
		{name: "weekly all along is steady", contacts: every(now, 7*day, 43, weeklyMail), start: start, trend: Steady, rateAbout: 1},
		{name: "weekly until two months ago is falling",
			contacts: every(now.Add(-60*day), 7*day, 35, weeklyMail), start: start, trend: Falling},
		{name: "from monthly to twice a week is rising",
			contacts: append(every(now.Add(-30*day), 30*day, 8, weeklyMail), every(now, 3*day+12*time.Hour, 8, weeklyMail)...),
			start:    start, trend: Rising},
		{name: "too little history has no trend", contacts: every(now, 7*day, 4, weeklyMail), start: now.Add(-30 * day),
			trend: NoTrend, rateAbout: 1},
		{name: "no contact has no trend", start: start, trend: NoTrend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := observeAt(tc.contacts, tc.start, now)
			if o.Trend != tc.trend {
				t.Errorf("trend = %q (rate %.2f, baseline %.2f), want %q", o.Trend, o.Rate, o.Baseline, tc.trend)
			}
			if tc.rateAbout > 0 && math.Abs(o.Rate-tc.rateAbout) > tc.rateAbout/4 {
				t.Errorf("rate = %.2f per week, want about %.2f", o.Rate, tc.rateAbout)
			}
		})
	}
}

func TestMedianIntervalCountsCalendarDays(t *testing.T) {
	// Three mails a day apart across the DST change: 1 day each, even
	// though one gap is 23 hours long.
	contacts := []Contact{mail(tb("2026-03-28 09:00"), Outbound, "a"), mail(tb("2026-03-29 09:00"), Outbound, "b"),
		mail(tb("2026-03-30 09:00"), Outbound, "c")}
	if o := observeAt(contacts, tb("2026-01-01 00:00"), tb("2026-03-31 00:00")); o.MedianInterval != day {
		t.Errorf("median interval = %v, want 24h", o.MedianInterval)
	}
}

func TestPeople(t *testing.T) {
	now := tb("2026-03-31 12:00")
	contacts := []Contact{
		mail(tb("2026-03-01 10:00"), Outbound, "a", "bob@acme.com", "carol@acme.com"),
		mail(tb("2026-03-10 10:00"), Inbound, "b", "bob@acme.com"),
		mail(tb("2026-04-10 10:00"), Outbound, "future", "dave@acme.com"),
	}
	want := []Person{
		{Address: "bob@acme.com", Contacts: 2, LastAt: tb("2026-03-10 10:00")},
		{Address: "carol@acme.com", Contacts: 1, LastAt: tb("2026-03-01 10:00")},
	}
	if got := People(contacts, now); !reflect.DeepEqual(got, want) {
		t.Errorf("People = %+v, want %+v", got, want)
	}
}

// TestDayCounter: numbering days with a cached zone offset gives the same
// days as a lookup per time, across DST changes and in any order.
func TestDayCounter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, loc := range []*time.Location{berlin, newYork, mustLocation("Australia/Lord_Howe"), mustLocation("Asia/Kolkata"), time.UTC} {
		c := dayCounter{loc: loc}
		sec := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		for i := range 5000 {
			if i%500 == 0 {
				sec -= r.Int64N(400 * 86400) // jump back: out of order
			}
			sec += r.Int64N(3 * 3600)
			if got, want := c.day(sec), dayNumber(time.Unix(sec, 0), loc); got != want {
				t.Fatalf("%s at %s: day %d, want %d", loc, time.Unix(sec, 0).In(loc), got, want)
			}
		}
	}
}
