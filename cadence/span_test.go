package cadence

import (
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in      string
		want    Span
		wantErr bool
	}{
		{in: "0", want: Span{}},
		{in: "36h", want: Span{Unit: Fixed, Fixed: 36 * time.Hour}},
		{in: " 90m ", want: Span{Unit: Fixed, Fixed: 90 * time.Minute}},
		{in: "2d", want: Span{Unit: Day, N: 2}},
		{in: "1w", want: Span{Unit: Week, N: 1}},
		{in: "3mo", want: Span{Unit: Month, N: 3}},
		{in: "2bd", want: Span{Unit: BusinessDay, N: 2}},
		{in: "0bd", want: Span{Unit: BusinessDay, N: 0}},
		{in: "", wantErr: true},
		{in: "-1d", wantErr: true},
		{in: "-5m", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "d", wantErr: true},
		{in: "1y", wantErr: true},
		{in: "5md", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSpan(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseSpan(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("ParseSpan(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestSpanStringRoundTrip(t *testing.T) {
	for _, s := range []string{"36h0m0s", "2d", "1w", "3mo", "2bd", "0s"} {
		sp, err := ParseSpan(s)
		if err != nil {
			t.Fatalf("ParseSpan(%q): %v", s, err)
		}
		if got := sp.String(); got != s {
			t.Errorf("ParseSpan(%q).String() = %q", s, got)
		}
	}
}

func TestSpanAfterBefore(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	tokyo := mustLoc(t, "Asia/Tokyo")
	at := func(loc *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		span   string
		loc    *time.Location
		from   time.Time
		after  time.Time
		before bool // also check Before(after) == from
	}{
		{name: "fixed is elapsed time across DST", span: "24h", loc: berlin,
			from: at(berlin, "2026-03-28 12:00"), after: at(berlin, "2026-03-29 13:00"), before: true},
		{name: "a day across spring-forward keeps the wall clock", span: "1d", loc: berlin,
			from: at(berlin, "2026-03-28 12:00"), after: at(berlin, "2026-03-29 12:00"), before: true},
		{name: "a week across fall-back keeps the wall clock", span: "1w", loc: berlin,
			from: at(berlin, "2026-10-20 09:00"), after: at(berlin, "2026-10-27 09:00"), before: true},
		{name: "Jan 31 + 1mo clamps to Feb 28", span: "1mo", loc: time.UTC,
			from: at(time.UTC, "2026-01-31 10:00"), after: at(time.UTC, "2026-02-28 10:00")},
		{name: "Jan 31 + 1mo in a leap year", span: "1mo", loc: time.UTC,
			from: at(time.UTC, "2028-01-31 10:00"), after: at(time.UTC, "2028-02-29 10:00")},
		{name: "Mar 31 + 1mo clamps to Apr 30", span: "1mo", loc: time.UTC,
			from: at(time.UTC, "2026-03-31 10:00"), after: at(time.UTC, "2026-04-30 10:00")},
		{name: "Dec 31 + 2mo crosses the year", span: "2mo", loc: time.UTC,
			from: at(time.UTC, "2026-12-31 10:00"), after: at(time.UTC, "2027-02-28 10:00")},
		{name: "month end in the customer zone, not UTC", span: "1mo", loc: ny,
			from: at(ny, "2026-01-31 22:00"), after: at(ny, "2026-02-28 22:00")},
		{name: "1bd from Monday", span: "1bd", loc: berlin,
			from: at(berlin, "2026-03-02 15:00"), after: at(berlin, "2026-03-03 15:00"), before: true},
		{name: "1bd from Friday is Monday", span: "1bd", loc: berlin,
			from: at(berlin, "2026-03-06 15:00"), after: at(berlin, "2026-03-09 15:00"), before: true},
		{name: "3bd from Thursday skips the weekend", span: "3bd", loc: berlin,
			from: at(berlin, "2026-03-05 09:00"), after: at(berlin, "2026-03-10 09:00"), before: true},
		{name: "1bd from Saturday counts from Monday 00:00", span: "1bd", loc: berlin,
			from: at(berlin, "2026-03-07 11:00"), after: at(berlin, "2026-03-10 00:00")},
		{name: "0bd on a weekend is no time", span: "0bd", loc: berlin,
			from: at(berlin, "2026-03-07 11:00"), after: at(berlin, "2026-03-07 11:00")},
		{name: "bd weekends are the customer's: Friday 20:00 New York is Saturday in Tokyo", span: "1bd", loc: tokyo,
			from: at(ny, "2026-03-06 20:00"), after: at(tokyo, "2026-03-10 00:00")},
		{name: "same instant in New York is a Friday", span: "1bd", loc: ny,
			from: at(ny, "2026-03-06 20:00"), after: at(ny, "2026-03-09 20:00"), before: true},
		{name: "1bd across spring-forward in the US", span: "1bd", loc: ny,
			from: at(ny, "2026-03-06 09:00"), after: at(ny, "2026-03-09 09:00"), before: true},
		{name: "nil location is UTC", span: "1d", loc: nil,
			from: at(time.UTC, "2026-03-06 09:00"), after: at(time.UTC, "2026-03-07 09:00"), before: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := ParseSpan(tc.span)
			if err != nil {
				t.Fatal(err)
			}
			if got := sp.After(tc.from, tc.loc); !got.Equal(tc.after) {
				t.Errorf("%s.After(%v) = %v, want %v", tc.span, tc.from, got, tc.after)
			}
			if tc.before {
				if got := sp.Before(tc.after, tc.loc); !got.Equal(tc.from) {
					t.Errorf("%s.Before(%v) = %v, want %v", tc.span, tc.after, got, tc.from)
				}
			}
		})
	}
}

func TestSpanBeforeFromWeekend(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	sun := time.Date(2026, 3, 8, 10, 0, 0, 0, berlin)
	got := Span{Unit: BusinessDay, N: 1}.Before(sun, berlin)
	// The weekend does not count: Sunday 10:00 is the end of Friday, and
	// one business day before that is the end of Thursday.
	want := time.Date(2026, 3, 6, 0, 0, 0, 0, berlin).Add(-time.Nanosecond)
	if !got.Equal(want) {
		t.Errorf("1bd before Sunday = %v, want %v", got, want)
	}
}

func TestSpanApprox(t *testing.T) {
	tests := []struct {
		span string
		want time.Duration
	}{
		{"2d", 48 * time.Hour}, {"1w", 168 * time.Hour}, {"1mo", 720 * time.Hour},
		{"5bd", 168 * time.Hour}, {"90m", 90 * time.Minute},
	}
	for _, tc := range tests {
		sp, _ := ParseSpan(tc.span)
		if got := sp.Approx(); got != tc.want {
			t.Errorf("%s.Approx() = %v, want %v", tc.span, got, tc.want)
		}
	}
}
