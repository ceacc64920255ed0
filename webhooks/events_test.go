package webhooks

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

func TestEventBody(t *testing.T) {
	ev, err := NewEvent(cadence.EventID("alert", "acme", "weekly"), CommitmentSlipped, t0.Add(1500*time.Microsecond), map[string]string{"alert_id": "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"commitment.slipped","timestamp":"2026-11-22T07:00:00.001Z","data":{"alert_id":"x"}}`
	if string(ev.Payload) != want || !ev.CreatedAt.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("event %s at %s; want %s at the millisecond", ev.Payload, ev.CreatedAt, want)
	}
}

func TestRoutes(t *testing.T) {
	routes := Routes([]config.Webhook{{Name: "all"}, {Name: "slips", Events: []string{CommitmentSlipped}}, {Name: "ops", Events: []string{SyncFailing, SyncRecovered}}})
	tests := map[string][]string{
		CommitmentSlipped: {"all", "slips"},
		SyncFailing:       {"all", "ops"},
		WebhookTest:       {"all"},
	}
	for typ, want := range tests {
		if got := routes(typ); !slices.Equal(got, want) {
			t.Errorf("routes(%s) = %v, want %v", typ, got, want)
		}
	}
}

func TestSyncEvents(t *testing.T) {
	since := t0.Add(-2 * time.Hour)
	failing := store.SourceStatus{Name: "imap:alice", FailingSince: since, ConsecutiveFailures: 5, LastError: "login: refused",
		LastSuccessAt: since.Add(-time.Minute)}
	failID := cadence.EventID(SyncFailing, "imap:alice", since.Format(time.RFC3339Nano))
	openFail := map[string]store.Event{"imap:alice": {ID: failID, Type: SyncFailing,
		Payload: []byte(`{"data":{"source":"imap:alice","failing_since":"` + since.Format(time.RFC3339) + `"}}`)}}
	healthy := store.SourceStatus{Name: "imap:alice", LastSuccessAt: t0.Add(-time.Minute)}
	daily := store.SourceStatus{Name: "imap:alice", FailingSince: t0, ConsecutiveFailures: 1, LastError: "login: refused",
		LastSuccessAt: t0.Add(-24 * time.Hour)}
	justFailed := daily
	justFailed.LastSuccessAt = t0.Add(-time.Minute)
	again := failing
	again.FailingSince, again.LastSuccessAt = t0.Add(-90*time.Minute), t0.Add(-91*time.Minute)
	tests := []struct {
		name   string
		src    store.SourceStatus
		open   map[string]store.Event
		after  time.Duration
		want   []string // types
		wantID []string
	}{
		{name: "healthy", src: healthy, after: time.Hour},
		{name: "failing, under the threshold", src: failing, after: 3 * time.Hour},
		{name: "failing, over the threshold", src: failing, after: time.Hour, want: []string{SyncFailing}, wantID: []string{failID}},
		{name: "already announced", src: failing, open: openFail, after: time.Hour},
		{name: "failing once, last success a day ago (a daily cron)", src: daily, after: time.Hour,
			want: []string{SyncFailing}},
		{name: "failing once, last success a minute before", src: justFailed, after: time.Hour},
		{name: "recovered", src: healthy, open: openFail, after: time.Hour, want: []string{SyncRecovered},
			wantID: []string{cadence.EventID(SyncRecovered, failID)}},
		{name: "recovered, then failing again", src: again, open: openFail, after: time.Hour,
			want: []string{SyncRecovered, SyncFailing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := map[string]store.Event{}
			for k, v := range tc.open {
				open[k] = v
			}
			evs, err := syncEvents([]store.SourceStatus{tc.src}, open, tc.after, t0)
			if err != nil {
				t.Fatal(err)
			}
			var types, ids []string
			for _, ev := range evs {
				types, ids = append(types, ev.Type), append(ids, ev.ID)
			}
			if !slices.Equal(types, tc.want) || (tc.wantID != nil && !slices.Equal(ids, tc.wantID)) {
				t.Errorf("events %v %v; want %v %v", types, ids, tc.want, tc.wantID)
			}
		})
	}
}

func TestSyncEventsDelivered(t *testing.T) {
	rc := newReceiver(t, statuses(200))
	e := newEnv(t, hook(t, "ops", rc.URL))
	d := e.dispatcher(t, WithSyncFailingAfter(time.Hour))
	ctx := t.Context()
	if err := e.st.RecordSyncFailure(ctx, "caldav:bob", t0, "propfind: 503", nil); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		fix     bool     // the source syncs before the pass
		want    []string // every request so far
	}{
		{advance: 30 * time.Minute},
		{advance: 31 * time.Minute, want: []string{SyncFailing}},
		{advance: time.Minute, want: []string{SyncFailing}}, // announced once
		{advance: time.Minute, fix: true, want: []string{SyncFailing, SyncRecovered}},
		{advance: time.Minute, want: []string{SyncFailing, SyncRecovered}},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		if s.fix {
			if err := e.st.RecordSyncSuccess(ctx, "caldav:bob", e.clock.Now(), nil); err != nil {
				t.Fatal(err)
			}
		}
		e.pass(t, d)
		var got []string
		var bodies []map[string]any
		for _, r := range rc.requests() {
			var b struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.Body, &b); err != nil {
				t.Fatal(err)
			}
			got, bodies = append(got, b.Type), append(bodies, b.Data)
		}
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d: received %v, want %v", i, got, s.want)
		}
		if len(got) == 2 && (bodies[1]["failing_event_id"] != rc.requests()[0].ID() || bodies[0]["source"] != "caldav:bob") {
			t.Fatalf("recovered %v does not close failing %s", bodies[1], rc.requests()[0].ID())
		}
	}
}
