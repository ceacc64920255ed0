package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// `store stats` counts the fixture's rows and dates the oldest kept, as
// a table and as JSON.
func TestStoreStats(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	code, out, errOut := f.run(f.config, "store", "stats", "--json")
	if code != 0 {
		t.Fatalf("store stats --json: exit %d: %s", code, errOut)
	}
	var stats []struct {
		Table  string
		Rows   int64
		Bytes  *int64
		Oldest time.Time
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	byName := map[string]int{}
	for i, s := range stats {
		byName[s.Table] = i
	}
	in := stats[byName["interactions"]]
	// 6 reports, 2 + 1 mails, 4 more, the meetings: review and roadmap.
	if in.Rows != 15 || in.Bytes == nil || *in.Bytes <= 0 || !in.Oldest.Equal(berlinTime("2026-06-01 09:00")) {
		t.Errorf("interactions: %+v; want 15 rows, a size, oldest the June report", in)
	}
	if _, ok := byName["deliveries"]; !ok {
		t.Errorf("no deliveries row in %s", out)
	}
	code, out, errOut = f.run(f.config, "store", "stats")
	if code != 0 || !strings.Contains(out, "interactions") || !strings.Contains(out, "2026-06-01 09:00 (") {
		t.Errorf("store stats: exit %d\n%s%s", code, out, errOut)
	}
}
