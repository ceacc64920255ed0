package cadence

import (
	"slices"
	"testing"
	"time"
)

func TestSourceEvents(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	since := now.Add(-2 * time.Hour)
	failing := SourceHealth{Name: "imap:alice", FailingSince: since, ConsecutiveFailures: 5, LastError: "login: refused",
		LastSuccessAt: since.Add(-time.Minute)}
	failID := EventID(EventSyncFailing, "imap:alice", since.Format(time.RFC3339Nano))
	openFail := map[string]SourceFailure{"imap:alice": {Source: "imap:alice", EventID: failID, FailingSince: since}}
	healthy := SourceHealth{Name: "imap:alice", LastSuccessAt: now.Add(-time.Minute)}
	daily := SourceHealth{Name: "imap:alice", FailingSince: now, ConsecutiveFailures: 1, LastError: "login: refused",
		LastSuccessAt: now.Add(-24 * time.Hour)}
	justFailed := daily
	justFailed.LastSuccessAt = now.Add(-time.Minute)
	again := failing
	again.FailingSince, again.LastSuccessAt = now.Add(-90*time.Minute), now.Add(-91*time.Minute)
	tests := []struct {
		name       string
		src        SourceHealth
		open       map[string]SourceFailure
		after      time.Duration
		want       []string // types
		wantID     []string
		wantOpened []string // sources
		wantClosed []string
	}{
		{name: "healthy", src: healthy, after: time.Hour},
		{name: "failing, under the threshold", src: failing, after: 3 * time.Hour},
		{name: "failing, over the threshold", src: failing, after: time.Hour, want: []string{EventSyncFailing},
			wantID: []string{failID}, wantOpened: []string{"imap:alice"}},
		{name: "already announced", src: failing, open: openFail, after: time.Hour},
		{name: "failing once, last success a day ago (a daily cron)", src: daily, after: time.Hour,
			want: []string{EventSyncFailing}, wantOpened: []string{"imap:alice"}},
		{name: "failing once, last success a minute before", src: justFailed, after: time.Hour},
		{name: "recovered", src: healthy, open: openFail, after: time.Hour, want: []string{EventSyncRecovered},
			wantID: []string{EventID(EventSyncRecovered, failID)}, wantClosed: []string{"imap:alice"}},
		{name: "recovered, then failing again", src: again, open: openFail, after: time.Hour,
			want: []string{EventSyncRecovered, EventSyncFailing}, wantOpened: []string{"imap:alice"}, wantClosed: []string{"imap:alice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := SourceEvents([]SourceHealth{tc.src}, tc.open, tc.after, now)
			if err != nil {
				t.Fatal(err)
			}
			var types, ids, opened []string
			for _, ev := range ch.Events {
				types, ids = append(types, ev.Type), append(ids, ev.ID)
			}
			for _, f := range ch.Opened {
				opened = append(opened, f.Source)
			}
			if !slices.Equal(types, tc.want) || (tc.wantID != nil && !slices.Equal(ids, tc.wantID)) {
				t.Errorf("events %v %v; want %v %v", types, ids, tc.want, tc.wantID)
			}
			if !slices.Equal(opened, tc.wantOpened) || !slices.Equal(ch.Closed, tc.wantClosed) {
				t.Errorf("opened %v, closed %v; want %v, %v", opened, ch.Closed, tc.wantOpened, tc.wantClosed)
			}
		})
	}
}

// The body of a sync.recovered event names the failure it closes and
// keeps its start.
func TestRecoveredEventBody(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	since := now.Add(-2 * time.Hour)
	ch, err := SourceEvents([]SourceHealth{{Name: "caldav:bob", LastSuccessAt: now.Add(-time.Minute)}},
		map[string]SourceFailure{"caldav:bob": {Source: "caldav:bob", EventID: "msg_f", FailingSince: since}}, time.Hour, now)
	if err != nil || len(ch.Events) != 1 {
		t.Fatalf("SourceEvents = %+v, %v", ch, err)
	}
	want := `{"type":"sync.recovered","timestamp":"2026-11-22T07:00:00Z","data":{"source":"caldav:bob",` +
		`"failing_since":"2026-11-22T05:00:00Z","last_success_at":"2026-11-22T06:59:00Z",` +
		`"recovered_at":"2026-11-22T06:59:00Z","failing_event_id":"msg_f"}}`
	if got := string(ch.Events[0].Payload); got != want {
		t.Errorf("payload\n%s\nwant\n%s", got, want)
	}
}
