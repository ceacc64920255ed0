package evaluate

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/touchbase/touchbase/store"
)

// Evaluation announces a source failing for sync.stale_after (2h here)
// once, and its recovery once, each routed to the webhooks that want it;
// the announced failure is state of its own, not read back from events.
func TestPassAnnouncesSourceHealth(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	start := f.now
	f.synced(start.Add(-3*time.Hour), "imap:alice", "caldav:alice")
	if err := f.st.RecordSyncFailure(ctx, "caldav:alice", start, "propfind: 503", nil); err != nil {
		t.Fatal(err)
	}
	f.synced(start, "imap:alice")
	steps := []struct {
		advance time.Duration
		fix     bool     // caldav:alice syncs before the pass
		want    []string // sync.* events delivered to ops so far
	}{
		{advance: 0, want: []string{"sync.failing"}}, // last success 3h ago
		{advance: time.Minute, want: []string{"sync.failing"}},
		{advance: time.Minute, fix: true, want: []string{"sync.failing", "sync.recovered"}},
		{advance: time.Minute, want: []string{"sync.failing", "sync.recovered"}},
	}
	for i, s := range steps {
		f.now = f.now.Add(s.advance)
		if s.fix {
			f.synced(f.now, "caldav:alice")
		}
		f.synced(f.now, "imap:alice")
		if err := f.r.Run(ctx, f.now); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		ds, err := f.st.Deliveries(ctx, store.DeliveryFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got, ids []string
		var payloads []map[string]any
		for _, d := range slices.Backward(ds) {
			if d.EventType == "sync.failing" || d.EventType == "sync.recovered" {
				if d.Endpoint != "ops" {
					t.Errorf("step %d: %s routed to %s; slack wants commitment.slipped only", i, d.EventType, d.Endpoint)
				}
				got, ids = append(got, d.EventType), append(ids, d.EventID)
				evs, err := f.st.Events(ctx, d.EventType)
				if err != nil || len(evs) != 1 {
					t.Fatalf("events %s = %v, %v", d.EventType, evs, err)
				}
				var b struct{ Data map[string]any }
				if err := json.Unmarshal(evs[0].Payload, &b); err != nil {
					t.Fatal(err)
				}
				payloads = append(payloads, b.Data)
			}
		}
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d: sync events %v, want %v", i, got, s.want)
		}
		if len(got) == 2 && (payloads[1]["failing_event_id"] != ids[0] || payloads[1]["source"] != "caldav:alice") {
			t.Fatalf("recovered %v does not close the failure", payloads[1])
		}
	}
	open, err := f.st.SourceFailures(ctx)
	if err != nil || len(open) != 0 {
		t.Errorf("announced failures after recovery = %v, %v; want none", open, err)
	}
}
