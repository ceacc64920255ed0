package caldavsource

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseObject feeds arbitrary bytes through the event-to-occurrence
// path the sync uses. It must never panic or hang, and whatever it returns
// must be well formed: keys, UTC times inside the window, End not before
// At, normalised addresses, at most maxOccurrences per event.
//
//	go test -run=^$ -fuzz=FuzzParseObject -fuzztime=20s ./sync/caldavsource/
func FuzzParseObject(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.ics"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(berlinVTimezone))
	f.Add([]byte(nyVTimezone))
	f.Add([]byte("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Customized Time Zone:20260101T100000\r\nRRULE:FREQ=HOURLY;BYSETPOS=-1\r\nEND:VEVENT\r\n"))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	f.Fuzz(func(t *testing.T, data []byte) {
		stats := counters{}
		p, err := parseObject(data, parseOptions{win: year2026, defaultTZ: berlin, account: "a", accountEmail: "me@example.test"}, stats)
		if err != nil {
			return
		}
		if len(p.occurrences) > maxOccurrences*max(p.events, 1) {
			t.Errorf("%d occurrences from %d events", len(p.occurrences), p.events)
		}
		for _, in := range p.occurrences {
			checkOccurrence(t, "fuzz input", in, year2026)
		}
	})
}
