package caldavsource

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

var year2026 = window{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}

// describe renders an occurrence as "key start-end filter" (UTC, minutes),
// with "allday" for all-day events.
func describe(in cadence.Interaction) string {
	s := fmt.Sprintf("%s %s-%s", strings.TrimPrefix(in.Key, "ev:"), in.At.Format("0102T1504"), in.End.Format("0102T1504"))
	if in.AllDay {
		s += " allday"
	}
	if in.Filter != "" {
		s += " " + string(in.Filter)
	}
	return s
}

func TestParseObject(t *testing.T) {
	newYork, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		file      string
		defaultTZ *time.Location
		want      []string
		stats     map[string]int64
	}{
		{file: "recurrence.ics", want: []string{
			// INTERVAL=2;BYDAY=MO,WE;COUNT=6 in Berlin: 10:00 CET, then CEST after 29 March.
			"biweekly@x@20260302T090000Z 0302T0900-0302T1000",
			"biweekly@x@20260304T090000Z 0304T0900-0304T1000",
			"biweekly@x@20260316T090000Z 0316T0900-0316T1000",
			"biweekly@x@20260318T090000Z 0318T0900-0318T1000",
			"biweekly@x@20260330T080000Z 0330T0800-0330T0900",
			"biweekly@x@20260401T080000Z 0401T0800-0401T0900",
			// 17:00 New York daily, EDT then EST (1 November); UNTIL (UTC) excludes 3 November.
			"daily-until@x@20261030T210000Z 1030T2100-1030T2130",
			"daily-until@x@20261031T210000Z 1031T2100-1031T2130",
			"daily-until@x@20261101T220000Z 1101T2200-1101T2230",
			"daily-until@x@20261102T220000Z 1102T2200-1102T2230",
		}},
		{file: "exdate_rdate.ics", want: []string{
			"exrd@x@20260105T140000Z 0105T1400-0105T1500",
			"exrd@x@20260107T140000Z 0107T1400-0107T1500",
			"exrd@x@20260109T140000Z 0109T1400-0109T1500",
			"exrd@x@20260120T090000Z 0120T0900-0120T1000",
			"exrd@x@20260121T090000Z 0121T0900-0121T1000",
			"exrd@x@20260125T100000Z 0125T1000-0125T1200", // PERIOD with its own length
		}},
		{file: "overrides.ics", want: []string{
			"ovr@x@20260601T070000Z 0601T0700-0601T0800",
			"ovr@x@20260608T070000Z 0609T1300-0609T1400", // moved, keyed on its RECURRENCE-ID
			"ovr@x@20260615T070000Z 0615T0700-0615T0800 cancelled",
			"ovr@x@20260622T070000Z 0622T0700-0622T0800",
			"orphan@x@20260701T120000Z 0702T1200-0702T1300", // override without master
		}},
		{file: "timezones.ics", want: []string{
			// VTIMEZONE rules (EU DST from 1601) for a custom TZID.
			"custom@x@20260115T090000Z 0115T0900-0115T1000",
			"custom@x@20260215T090000Z 0215T0900-0215T1000",
			"custom@x@20260315T090000Z 0315T0900-0315T1000",
			"custom@x@20260415T080000Z 0415T0800-0415T0900",
			"custom@x@20260515T080000Z 0515T0800-0515T0900",
			"custom@x@20260615T080000Z 0615T0800-0615T0900",
			"city@x@20260710T000000Z 0710T0000-0710T0030",    // "(UTC+09:00) Osaka, Sapporo, Tokyo"
			"custom@x@20260715T080000Z 0715T0800-0715T0900",  //
			"unknown@x@20260710T090000Z 0710T0900-0710T0900", // unknown TZID: UTC, counted
			"windows@x@20260710T120000Z 0710T1200-0710T1300", // W. Europe Standard Time
			"vendor@x@20260710T130000Z 0710T1300-0710T1400",  // /mozilla.org/.../America/New_York
		}, stats: map[string]int64{"tz_windows": 1, "tz_vtimezone": 1, "tz_unknown": 1, "tz_city": 1}},
		{file: "floating_allday.ics", defaultTZ: newYork, want: []string{
			"floating@x@20260710T130000Z 0710T1300-0710T1300",
			"allday@x@20260710T040000Z 0710T0400-0712T0400 allday",
			"allday-noend@x@20260720T040000Z 0720T0400-0721T0400 allday",
			"allday-yearly@x@20260305T050000Z 0305T0500-0306T0500 allday", // EST until 8 March
			"duration@x@20260801T100000Z 0801T1000-0801T1130",
		}},
		{file: "filters.ics", want: []string{
			"declined@x@20260901T100000Z 0901T1000-0901T1100 declined",
			"half-declined@x@20260902T100000Z 0902T1000-0902T1100",
			"self-declined@x@20260903T100000Z 0903T1000-0903T1100",
			"room@x@20260904T100000Z 0904T1000-0904T1100",
			"transparent@x@20260905T100000Z 0905T1000-0905T1100",
		}},
		{file: "method_cancel.ics", want: []string{"called-off@x@20260906T100000Z 0906T1000-0906T1100 cancelled"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "events", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tz := tc.defaultTZ
			if tz == nil {
				tz = time.UTC
			}
			stats := counters{}
			p, err := parseObject(data, parseOptions{win: year2026, defaultTZ: tz, account: "me", accountEmail: "me@example.test"}, stats)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range p.occurrences {
				got = append(got, describe(in))
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("occurrences:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
			}
			for k, v := range tc.stats {
				if stats[k] != v {
					t.Errorf("stats[%s] = %d, want %d (%v)", k, stats[k], v, stats)
				}
			}
		})
	}
}

// TestParticipants checks addresses (mailto: in any case, doubled by a
// Yahoo bug, EMAIL parameter), rooms left out, and what overrides inherit.
func TestParticipants(t *testing.T) {
	byKey := map[string]cadence.Interaction{}
	for _, f := range []string{"filters.ics", "overrides.ics"} {
		data, _ := os.ReadFile(filepath.Join("testdata", "events", f))
		p, err := parseObject(data, parseOptions{win: year2026, defaultTZ: time.UTC, account: "me", accountEmail: "me@example.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range p.occurrences {
			byKey[in.Key] = in
		}
	}
	for _, tc := range []struct {
		key, subject, sender, participants string
	}{
		{"ev:room@x@20260904T100000Z", "", "me@example.test",
			`organizer me@example.test "Me, Myself" ; attendee dan@customer.example "" TENTATIVE; attendee yahoo@customer.example "" ACCEPTED`},
		{"ev:ovr@x@20260608T070000Z", "Weekly sync (moved)", "me@example.test",
			`organizer me@example.test "" ; attendee c@customer.example "" ACCEPTED`},
		{"ev:ovr@x@20260615T070000Z", "Weekly sync", "me@example.test",
			`organizer me@example.test "" ; attendee c@customer.example "" ACCEPTED`},
	} {
		in, ok := byKey[tc.key]
		if !ok {
			t.Errorf("%s missing", tc.key)
			continue
		}
		var ps []string
		for _, p := range in.Participants {
			ps = append(ps, fmt.Sprintf("%s %s %q %s", p.Role, p.Address, p.Name, p.PartStat))
		}
		if got := strings.Join(ps, "; "); got != tc.participants || in.Subject != tc.subject || in.Sender != tc.sender || in.Account != "me" {
			t.Errorf("%s: subject %q sender %q account %q participants\n got  %s\n want %s", tc.key, in.Subject, in.Sender, in.Account, got, tc.participants)
		}
	}
}

func TestParseObjectErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		wantErr    bool
		wantStat   string
	}{
		{"empty", "", true, ""},
		{"not icalendar", "hello world", true, ""},
		{"go-ical panics on this parameter", "BEGIN:VCALENDAR\r\nX;A=\"b\"c:d\r\nEND:VCALENDAR\r\n", false, ""},
		{"no uid", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", false, "skipped_no_uid"},
		{"no dtstart", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", false, "skipped_no_dtstart"},
		{"bad rrule", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", false, "rrule_invalid"},
		{"endless minutely", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:19000101T100000Z\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", false, "recurrence_capped"},
		{"bare vevent", "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\n", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stats := counters{}
			_, err := parseObject([]byte(tc.data), parseOptions{win: year2026, defaultTZ: time.UTC}, stats)
			if (err != nil) != tc.wantErr {
				t.Errorf("error %v, want error %v", err, tc.wantErr)
			}
			if tc.wantStat != "" && stats[tc.wantStat] == 0 {
				t.Errorf("stats %v lack %s", stats, tc.wantStat)
			}
		})
	}
}
