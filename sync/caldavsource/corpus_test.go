package caldavsource

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// corpusDir is ../shared/corpus/ics beside the repository.
func corpusDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "ics")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus required under CI: %v", err)
		}
		t.Skipf("no corpus at %s", dir)
	}
	return dir
}

// TestCorpus parses every file of the shared iCalendar corpus through the
// sync's own path (parseObject) in two windows: the last 35 years to 5
// years ahead, and a realistic 365d back / 180d ahead. Every file must
// yield occurrences, a counted skip, or no VEVENT at all; no panic; and
// every occurrence must be well formed.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 700 {
		t.Fatalf("corpus has %d files, want the ~791 of corpus/README.md", len(files))
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, w := range []struct {
		name string
		win  window
	}{
		{"wide", window{now.AddDate(-35, 0, 0), now.AddDate(5, 0, 0)}},
		{"sync", window{now.AddDate(0, 0, -365), now.AddDate(0, 0, 180)}},
	} {
		t.Run(w.name, func(t *testing.T) {
			kinds := map[string]int{}
			stats := counters{}
			occs := 0
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				fileStats := counters{}
				p, err := parseObject(data, parseOptions{win: w.win, defaultTZ: berlin, account: "a", accountEmail: "me@example.test"}, fileStats)
				for k, v := range fileStats {
					stats[k] += v
				}
				switch {
				case err != nil:
					kinds["malformed (counted skip)"]++
				case len(p.occurrences) > 0:
					kinds["with occurrences"]++
				case p.events == 0:
					kinds["no VEVENT"]++
				case skipped(fileStats):
					kinds["events skipped (counted)"]++
				default:
					kinds["events outside window"]++
				}
				occs += len(p.occurrences)
				for _, in := range p.occurrences {
					checkOccurrence(t, f, in, w.win)
				}
			}
			report(t, kinds, stats, occs, len(files))
			if w.name == "wide" && kinds["with occurrences"] < len(files)/2 {
				t.Errorf("only %d of %d files yield occurrences in a 40-year window", kinds["with occurrences"], len(files))
			}
		})
	}
}

func skipped(c counters) bool {
	for k, v := range c {
		if strings.HasPrefix(k, "skipped_") && v > 0 || k == "rrule_invalid" && v > 0 {
			return true
		}
	}
	return false
}

func checkOccurrence(t *testing.T, file string, in cadence.Interaction, win window) {
	t.Helper()
	switch {
	case !strings.HasPrefix(in.Key, "ev:") || in.Kind != cadence.Meeting:
		t.Errorf("%s: bad key/kind %q %q", file, in.Key, in.Kind)
	case !win.contains(in.At) || in.End.Before(in.At):
		t.Errorf("%s: %s at %v end %v outside window or ends before start", file, in.Key, in.At, in.End)
	case in.At.Location() != time.UTC:
		t.Errorf("%s: %s not in UTC", file, in.Key)
	}
	for _, p := range in.Participants {
		if p.Address != strings.ToLower(p.Address) || strings.HasPrefix(p.Address, "mailto:") || !strings.Contains(p.Address, "@") {
			t.Errorf("%s: participant address %q not normalised", file, p.Address)
		}
	}
}

func report(t *testing.T, kinds map[string]int, stats counters, occs, files int) {
	t.Helper()
	var lines []string
	for k, v := range kinds {
		lines = append(lines, k+": "+itoa(v))
	}
	for k, v := range stats {
		lines = append(lines, "  "+k+": "+itoa(int(v)))
	}
	sort.Strings(lines)
	t.Logf("%d files, %d occurrences\n%s", files, occs, strings.Join(lines, "\n"))
}

func itoa(n int) string { return strconv.Itoa(n) }
