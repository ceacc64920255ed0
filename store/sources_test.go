package store

import (
	"maps"
	"testing"
	"time"
)

// Source health: failures count up from the first one and keep its time,
// a success clears them, and the stats of every pass, failed or not, add
// up in the totals.
func TestSourceHealth(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		ok      bool
		at      time.Duration
		stats   map[string]int64
		failing time.Duration // -1: not failing
		fails   int
		totals  map[string]int64
	}{
		{true, 0, map[string]int64{"stored": 5, "fetched": 6}, -1, 0, map[string]int64{"stored": 5, "fetched": 6}},
		{false, time.Minute, map[string]int64{"stored": 2}, time.Minute, 1, map[string]int64{"stored": 7, "fetched": 6}},
		{false, 2 * time.Minute, nil, time.Minute, 2, map[string]int64{"stored": 7, "fetched": 6}},
		{true, 3 * time.Minute, map[string]int64{"fetched": 1}, -1, 0, map[string]int64{"stored": 7, "fetched": 7}},
	}
	for i, step := range steps {
		at := t0.Add(step.at)
		var err error
		if step.ok {
			err = s.RecordSyncSuccess(ctx, "imap:alice", at, step.stats)
		} else {
			err = s.RecordSyncFailure(ctx, "imap:alice", at, "connection refused", step.stats)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got, err := s.Sources(ctx)
		if err != nil || len(got) != 1 {
			t.Fatalf("step %d: sources %+v, %v", i, got, err)
		}
		h := got[0]
		wantFailing := time.Time{}
		if step.failing >= 0 {
			wantFailing = t0.Add(step.failing)
		}
		if !h.FailingSince.Equal(wantFailing) || h.ConsecutiveFailures != step.fails || !maps.Equal(h.Stats, step.totals) ||
			!h.LastAttemptAt.Equal(at) || (step.ok && !h.LastSuccessAt.Equal(at)) || (step.ok != (h.LastError == "")) {
			t.Errorf("step %d: %+v; want failing since %v, %d failures, totals %v", i, h, wantFailing, step.fails, step.totals)
		}
	}
}
