package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The table helper: the zone named once, wide-only columns, flex columns
// cut with "…" to fit 100 columns, nothing cut with -o wide, no header
// with --no-headers, one line per row.
func TestTable(t *testing.T) {
	long := strings.Repeat("subject words ", 10)
	build := func() *table {
		tb := newTable(col{name: "ID"}, col{name: "DUE", zone: true}, col{name: "LAST", zone: true}, col{name: "NOTE", wide: true},
			col{name: "SUBJECT", flex: true})
		tb.add("acme", "2026-11-17 09:00", "2026-11-10 09:00", "only wide", long)
		tb.add("globex", "", "", "", "two\nlines\tand a tab")
		return tb
	}
	tests := []struct {
		name string
		opts tableOpts
		want []string
	}{
		{"default", tableOpts{zone: berlin}, []string{
			"ID      DUE (Europe/Berlin)  LAST              SUBJECT",
			"acme    2026-11-17 09:00     2026-11-10 09:00  subject words subject words subject words subject wo…",
			"globex  -                    -                 two lines and a tab",
		}},
		{"wide", tableOpts{zone: berlin, wide: true}, []string{
			"ID      DUE (Europe/Berlin)  LAST              NOTE       SUBJECT",
			"acme    2026-11-17 09:00     2026-11-10 09:00  only wide  " + strings.TrimSpace(long),
			"globex  -                    -                 -          two lines and a tab",
		}},
		{"no headers, no zone", tableOpts{noHeaders: true}, []string{
			"acme    2026-11-17 09:00  2026-11-10 09:00  subject words subject words subject words subject words…",
			"globex  -                 -                 two lines and a tab",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := build().write(&buf, tc.opts); err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, line := range got {
				if n := utf8.RuneCountInString(line); !tc.opts.wide && n > tableWidth {
					t.Errorf("line of %d columns: %q", n, line)
				}
			}
			if n := utf8.RuneCountInString(got[len(got)-2]); !tc.opts.wide && n != tableWidth {
				t.Errorf("the cut row is %d columns, want exactly %d", n, tableWidth)
			}
		})
	}
}

// A flex column is never cut below its name (or minFlex): a table of
// fixed columns too wide for 100 stays too wide rather than unreadable.
func TestTableFitFloor(t *testing.T) {
	tb := newTable(col{name: "FIXED"}, col{name: "ADDRESSES", flex: true})
	tb.add(strings.Repeat("x", 95), "a@example.com, b@example.com")
	var buf bytes.Buffer
	tb.write(&buf, tableOpts{})
	if want := strings.Repeat("x", 95) + "  a@exampl…"; !strings.Contains(buf.String(), want+"\n") {
		t.Errorf("got:\n%s\nwant the flex column cut to its name's width:\n%s", buf.String(), want)
	}
}

func TestTimes(t *testing.T) {
	now := berlinTime("2026-11-20 10:00")
	tf := times{loc: berlin, now: now}
	tests := []struct {
		at   time.Time
		ago  string
		full string
	}{
		{now.Add(-3*24*time.Hour - time.Hour), "3 d ago", "2026-11-17 09:00 (3 d ago)"},
		{now.Add(2*24*time.Hour + time.Hour), "in 2 d", "2026-11-22 11:00 (in 2 d)"},
		{now.Add(-47 * time.Hour), "47 h ago", "2026-11-18 11:00 (47 h ago)"},
		{now.Add(40 * time.Minute), "in 40 min", "2026-11-20 10:40 (in 40 min)"},
		{now.Add(-30 * time.Second), "now", "2026-11-20 09:59 (now)"},
		{time.Time{}, "-", "-"},
	}
	for _, tc := range tests {
		if got := tf.ago(tc.at); got != tc.ago {
			t.Errorf("ago(%v) = %q, want %q", tc.at, got, tc.ago)
		}
		if got := tf.atAgo(tc.at); got != tc.full {
			t.Errorf("atAgo(%v) = %q, want %q", tc.at, got, tc.full)
		}
	}
}

// The machine's zone is named by its IANA name, from TZ when set.
func TestZoneName(t *testing.T) {
	if got := zoneName(berlin); got != "Europe/Berlin" {
		t.Errorf("zoneName(Berlin) = %q", got)
	}
	t.Setenv("TZ", "Asia/Tokyo")
	if got := zoneName(time.Local); got != "Asia/Tokyo" {
		t.Errorf("zoneName(Local) with TZ=Asia/Tokyo = %q", got)
	}
	t.Setenv("TZ", "")
	if got := zoneName(time.Local); got != "UTC" {
		t.Errorf("zoneName(Local) with TZ empty = %q, want UTC (Go's reading of an empty TZ)", got)
	}
}
