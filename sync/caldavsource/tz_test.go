package caldavsource

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// Every Windows zone maps to a zone that the embedded tzdata knows.
func TestWindowsZonesLoad(t *testing.T) {
	if len(windowsZones) < 130 {
		t.Errorf("only %d Windows zones mapped", len(windowsZones))
	}
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%s → %s: %v", win, iana, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"W. Europe Standard Time", "Europe/Berlin"},
		{" pacific standard time ", "America/Los_Angeles"},
		{"Tokyo Standard Time", "Asia/Tokyo"},
		{"Europe/Berlin", ""},
	} {
		if got := windowsZone(tc.in); got != tc.want {
			t.Errorf("windowsZone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLoadIANA(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Europe/Berlin", "Europe/Berlin"},
		{`"America/New_York"`, "America/New_York"},
		{"/mozilla.org/20050126_1/America/Boise", "America/Boise"},
		{"/freeassociation.sourceforge.net/Tzfile/America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"},
		{"/softwarestudio.org/Olson_20011030_5/Pacific/Auckland", "Pacific/Auckland"},
		{"Local", ""},
		{"", ""},
		{"../../etc/passwd", ""},
		{"Nowhere/Middle", ""},
	} {
		loc := loadIANA(tc.in)
		got := ""
		if loc != nil {
			got = loc.String()
		}
		if got != tc.want {
			t.Errorf("loadIANA(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// nyVTimezone is America/New_York as a VTIMEZONE with the 2007 rule
// change: two eras, each with its own RRULEs, the old ones with UNTIL.
const nyVTimezone = `BEGIN:VCALENDAR
BEGIN:VTIMEZONE
TZID:Custom Eastern
BEGIN:DAYLIGHT
DTSTART:19870405T020000
RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19671029T020000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE
END:VCALENDAR
`

// berlinVTimezone is Outlook's shape: rules from 1601 without UNTIL.
const berlinVTimezone = `BEGIN:VCALENDAR
BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
END:VCALENDAR
`

// TestVTimezoneMatchesIANA compares the VTIMEZONE evaluator with Go's IANA
// data for every hour of 1996–2030: wall → instant (the earlier instant
// when a wall time happens twice; gap hours skipped) and instant → wall.
func TestVTimezoneMatchesIANA(t *testing.T) {
	for _, tc := range []struct{ vtz, iana string }{
		{nyVTimezone, "America/New_York"},
		{berlinVTimezone, "Europe/Berlin"},
	} {
		t.Run(tc.iana, func(t *testing.T) {
			cal, err := ical.NewDecoder(strings.NewReader(strings.ReplaceAll(tc.vtz, "\n", "\r\n"))).Decode()
			if err != nil {
				t.Fatal(err)
			}
			z := newVTZone(cal.Children[0])
			if z == nil {
				t.Fatal("no zone")
			}
			loc, _ := time.LoadLocation(tc.iana)
			bad := 0
			for w := time.Date(1996, 1, 1, 0, 30, 0, 0, time.UTC); w.Year() < 2031 && bad < 5; w = w.Add(time.Hour) {
				want := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, loc)
				if lw := want.In(loc); lw.Hour() != w.Hour() {
					continue // wall time in a spring-forward gap
				}
				if earlier := want.Add(-time.Hour).In(loc); earlier.Hour() == w.Hour() && earlier.Day() == w.Day() {
					want = want.Add(-time.Hour) // ambiguous: RFC 5545 takes the first
				}
				if got := z.instant(w); !got.Equal(want) {
					t.Errorf("instant(%s) = %s, want %s", w.Format("2006-01-02 15:04"), got, want.UTC())
					bad++
				}
				if got := z.wall(want); !got.Equal(w) {
					t.Errorf("wall(%s) = %s, want %s", want.UTC(), got, w)
					bad++
				}
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"PT1H30M", 90 * time.Minute, false},
		{"P1D", 24 * time.Hour, false},
		{"P2W", 14 * 24 * time.Hour, false},
		{"-PT15M", -15 * time.Minute, false},
		{"P1DT2H", 26 * time.Hour, false},
		{"pt5m", 5 * time.Minute, false},
		{"P", 0, true},
		{"PT", 0, false},
		{"1H", 0, true},
		{"PT5X", 0, true},
		{"P999999999W", 0, true},
		{"P9999W", 0, true},
	} {
		got, err := parseDuration(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
