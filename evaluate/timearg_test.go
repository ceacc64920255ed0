package evaluate

import (
	"testing"
	"time"
)

// Every form of TIME that --at, --until and --from read, in the
// configured zone (Berlin), as of Monday 2026-03-30 10:00 CEST, the day
// after the clocks went forward: calendar units keep the wall time.
func TestParseTime(t *testing.T) {
	now := tb("2026-03-30 10:00")
	endOf := func(day string) time.Time { return tb(day+" 00:00").AddDate(0, 0, 1).Add(-time.Millisecond) }
	tests := []struct {
		in        string
		want      time.Time // ParseTime: a day means its end
		wantStart time.Time // ParseStart: a day means its start; zero: as want
	}{
		{"now", now, time.Time{}},
		{" NOW ", now, time.Time{}},
		{"today", endOf("2026-03-30"), tb("2026-03-30 00:00")},
		{"tomorrow", endOf("2026-03-31"), tb("2026-03-31 00:00")},
		{"Yesterday", endOf("2026-03-29"), tb("2026-03-29 00:00")},
		{"2026-12-24", endOf("2026-12-24"), tb("2026-12-24 00:00")},
		{"2026-12-24 17:00", tb("2026-12-24 17:00"), time.Time{}},
		{"2026-12-24T17:00", tb("2026-12-24 17:00"), time.Time{}},
		{"2026-12-24 17:00:30", tb("2026-12-24 17:00").Add(30 * time.Second), time.Time{}},
		{"2026-12-24T17:00:00+01:00", tb("2026-12-24 17:00"), time.Time{}},
		{"2026-12-24T16:00:00Z", tb("2026-12-24 17:00"), time.Time{}},
		{"3d", tb("2026-04-02 10:00"), time.Time{}},
		{"+3d", tb("2026-04-02 10:00"), time.Time{}},
		{"-2w", tb("2026-03-16 10:00"), time.Time{}},  // across the change: 10:00 CET, not 09:00
		{"-36h", tb("2026-03-28 21:00"), time.Time{}}, // a fixed length: 36 real hours
		{"+36h", tb("2026-03-31 22:00"), time.Time{}},
		{"-1mo", tb("2026-02-28 10:00"), time.Time{}}, // clamped to the month's end
		{"1bd", tb("2026-03-31 10:00"), time.Time{}},
		{"-90m", tb("2026-03-30 08:30"), time.Time{}},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, now, berlin)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got.In(berlin), err, tc.want)
		}
		wantStart := tc.wantStart
		if wantStart.IsZero() {
			wantStart = tc.want
		}
		if got, err := ParseStart(tc.in, now, berlin); err != nil || !got.Equal(wantStart) {
			t.Errorf("ParseStart(%q) = %v, %v; want %v", tc.in, got.In(berlin), err, wantStart)
		}
	}
	for _, bad := range []string{"", "friday", "2026-13-01", "0", "-0d", "+-3d", "--2w", "3x", "tomorrow 10:00", "2026-12-24 25:00"} {
		_, err := ParseTime(bad, now, berlin)
		arg, ok := err.(*ArgError)
		if !ok || arg.Msg != timeHelp {
			t.Errorf("ParseTime(%q) = %v; want an ArgError listing the forms", bad, err)
		}
	}
}
