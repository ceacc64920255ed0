package caldavsource

import (
	"strings"
	"testing"
	"time"
)

// TestNextInstance: parsing an object gives, beside its occurrences in the
// window (2026), the start of its first instance at or after the window's
// end: what the moving window takes in next, or none.
func TestNextInstance(t *testing.T) {
	override := func(rid, start string) string {
		return strings.Join([]string{"BEGIN:VEVENT", "UID:s@x", "DTSTAMP:20260101T000000Z", "RECURRENCE-ID:" + rid,
			"DTSTART:" + start, "DURATION:PT1H", "SUMMARY:Moved", "END:VEVENT"}, "\r\n")
	}
	// weekly is an open series at 10:00 UTC from day, with extra lines and
	// overrides.
	weekly := func(day string, extra []string, overrides ...string) string {
		return vevent("s@x", ":"+day+"T100000Z", ":"+day+"T110000Z", "Weekly", append([]string{"RRULE:FREQ=WEEKLY"}, extra...), overrides...)
	}
	for _, tc := range []struct {
		name string
		data string
		occ  int    // occurrences inside 2026
		next string // "" for none
	}{
		{"single beyond the horizon", vevent("s@x", ":20270110T100000Z", ":20270110T110000Z", "Far", nil), 0, "20270110T100000Z"},
		{"single at the window's end", vevent("s@x", ":20270101T000000Z", ":20270101T010000Z", "Midnight", nil), 0, "20270101T000000Z"},
		{"single inside", vevent("s@x", ":20260601T100000Z", ":20260601T110000Z", "Near", nil), 1, ""},
		{"single in the past", vevent("s@x", ":20250601T100000Z", ":20250601T110000Z", "Old", nil), 0, ""},
		{"open weekly", weekly("20261228", nil), 1, "20270104T100000Z"},
		{"open weekly from years before", weekly("20200106", nil), 52, "20270104T100000Z"},
		{"open weekly starting beyond", weekly("20270301", nil), 0, "20270301T100000Z"},
		{"COUNT ends inside", vevent("s@x", ":20261214T100000Z", ":20261214T110000Z", "W", []string{"RRULE:FREQ=WEEKLY;COUNT=3"}), 3, ""},
		{"COUNT ends beyond", vevent("s@x", ":20261214T100000Z", ":20261214T110000Z", "W", []string{"RRULE:FREQ=WEEKLY;COUNT=4"}), 3, "20270104T100000Z"},
		{"UNTIL ends inside", vevent("s@x", ":20261214T100000Z", ":20261214T110000Z", "W", []string{"RRULE:FREQ=WEEKLY;UNTIL=20261231T235959Z"}), 3, ""},
		{"UNTIL ends beyond", vevent("s@x", ":20261214T100000Z", ":20261214T110000Z", "W", []string{"RRULE:FREQ=WEEKLY;UNTIL=20270105T000000Z"}), 3, "20270104T100000Z"},
		{"EXDATE on the next", weekly("20261228", []string{"EXDATE:20270104T100000Z"}), 1, "20270111T100000Z"},
		{"EXDATE on the next two, by date", weekly("20261228", []string{"EXDATE;VALUE=DATE:20270104,20270111"}), 1, "20270118T100000Z"},
		{"EXDATE on the last", vevent("s@x", ":20261214T100000Z", ":20261214T110000Z", "W", []string{"RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20270104T100000Z"}), 3, ""},
		{"override moved into the window", weekly("20261228", nil, override("20270104T100000Z", "20261230T100000Z")), 2, "20270111T100000Z"},
		{"override moved beyond", weekly("20261228", nil, override("20261228T100000Z", "20270102T100000Z")), 0, "20270102T100000Z"},
		{"override moved later, not first", weekly("20261228", nil, override("20270104T100000Z", "20270120T100000Z")), 1, "20270111T100000Z"},
		{"override without its master", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + override("20270104T100000Z", "20270105T100000Z") + "\r\nEND:VCALENDAR\r\n", 0, "20270105T100000Z"},
		{"RDATE beyond", vevent("s@x", ":20260601T100000Z", ":20260601T110000Z", "R", []string{"RDATE:20270301T100000Z"}), 1, "20270301T100000Z"},
		{"daily in Berlin", vevent("s@x", ";TZID=Europe/Berlin:20261231T090000", ";TZID=Europe/Berlin:20261231T100000", "D", []string{"RRULE:FREQ=DAILY"}),
			1, "20270101T080000Z"},
		{"earliest of two events", vevent("s@x", ":20270110T100000Z", ":20270110T110000Z", "A", nil) +
			vevent("t@x", ":20270105T100000Z", ":20270105T110000Z", "B", nil), 0, "20270105T100000Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stats := counters{}
			p, err := parseObject([]byte(tc.data), parseOptions{win: year2026, defaultTZ: time.UTC}, stats)
			if err != nil {
				t.Fatal(err)
			}
			next := ""
			if !p.next.IsZero() {
				next = p.next.UTC().Format("20060102T150405Z")
			}
			if next != tc.next || len(p.occurrences) != tc.occ {
				t.Errorf("next %q, %d occurrences; want %q, %d (stats %v)", next, len(p.occurrences), tc.next, tc.occ, stats)
			}
		})
	}
}
