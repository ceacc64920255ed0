package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Event types (SPEC "Webhooks").
const (
	CommitmentAtRisk    = "commitment.at_risk"
	CommitmentSlipped   = "commitment.slipped"
	CommitmentRecovered = "commitment.recovered"
	SyncFailing         = "sync.failing"
	SyncRecovered       = "sync.recovered"
	WebhookTest         = "webhook.test"
)

// body is the standard webhook body.
type body struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// NewEvent builds an outbox event with the standard body
// {"type", "timestamp", "data"}; at is both its timestamp and CreatedAt.
func NewEvent(id, eventType string, at time.Time, data any) (store.Event, error) {
	at = at.UTC().Truncate(time.Millisecond) // the store keeps milliseconds
	b, err := json.Marshal(body{Type: eventType, Timestamp: at, Data: data})
	if err != nil {
		return store.Event{}, fmt.Errorf("encode %s event %s: %w", eventType, id, err)
	}
	return store.Event{ID: id, Type: eventType, CreatedAt: at, Payload: b}, nil
}

// Routes returns the routing function for store.Enqueue: the names of the
// hooks that want an event type, in configuration order.
func Routes(hooks []config.Webhook) func(eventType string) []string {
	return func(eventType string) []string {
		var names []string
		for _, h := range hooks {
			if h.Wants(eventType) {
				names = append(names, h.Name)
			}
		}
		return names
	}
}

// SyncData is the data of sync.failing and sync.recovered events.
type SyncData struct {
	Source              string     `json:"source"` // "imap:<account>" or "caldav:<account>"
	FailingSince        time.Time  `json:"failing_since"`
	ConsecutiveFailures int        `json:"consecutive_failures,omitempty"`
	LastError           string     `json:"last_error,omitempty"`
	LastSuccessAt       *time.Time `json:"last_success_at"` // null: never synced
	RecoveredAt         *time.Time `json:"recovered_at,omitempty"`
	FailingEventID      string     `json:"failing_event_id,omitempty"` // on sync.recovered: the event it closes
}

// syncEvents compares the sources' health with the open sync.failing
// events and returns the events to enqueue: sync.recovered for an open
// failure whose episode ended (the source synced, or it is failing again
// since a later time), then sync.failing for a source failing for at least
// after, or failing with its last success at least after ago. IDs derive from the source and failing_since, so repeating a check
// enqueues nothing new.
func syncEvents(sources []store.SourceStatus, open map[string]store.Event, after time.Duration, now time.Time) ([]store.Event, error) {
	var out []store.Event
	for _, src := range sources {
		failing := !src.FailingSince.IsZero()
		failID := cadence.EventID(SyncFailing, src.Name, src.FailingSince.UTC().Format(time.RFC3339Nano))
		if prev, ok := open[src.Name]; ok && (!failing || prev.ID != failID) {
			ev, err := recoveredEvent(src, prev, now)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
			delete(open, src.Name)
		}
		// Failing for the threshold, or failing with no success within it:
		// `run --once` from a daily cron sees a changed password fail
		// once a day, and must announce it on the first failure rather
		// than the next day.
		stale := !src.LastSuccessAt.IsZero() && now.Sub(src.LastSuccessAt) >= after
		if !failing || (now.Sub(src.FailingSince) < after && !stale) {
			continue
		}
		if _, ok := open[src.Name]; ok {
			continue // already announced
		}
		data := SyncData{Source: src.Name, FailingSince: src.FailingSince.UTC(), ConsecutiveFailures: src.ConsecutiveFailures,
			LastError: src.LastError, LastSuccessAt: timePtr(src.LastSuccessAt)}
		ev, err := NewEvent(failID, SyncFailing, now, data)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// openSyncFailures returns, by source, the sync.failing events that no
// sync.recovered event closes yet (its data.failing_event_id names the
// failing event).
func openSyncFailures(ctx context.Context, st *store.Store) (map[string]store.Event, error) {
	failing, err := st.Events(ctx, SyncFailing)
	if err != nil || len(failing) == 0 {
		return map[string]store.Event{}, err
	}
	recovered, err := st.Events(ctx, SyncRecovered)
	if err != nil {
		return nil, err
	}
	closed := map[string]bool{}
	for _, ev := range recovered {
		var b struct {
			Data SyncData `json:"data"`
		}
		if json.Unmarshal(ev.Payload, &b) == nil {
			closed[b.Data.FailingEventID] = true
		}
	}
	open := map[string]store.Event{}
	for _, ev := range failing { // oldest first: the latest failure of a source wins
		var b struct {
			Data SyncData `json:"data"`
		}
		if json.Unmarshal(ev.Payload, &b) == nil && b.Data.Source != "" && !closed[ev.ID] {
			open[b.Data.Source] = ev
		}
	}
	return open, nil
}

// recoveredEvent closes the open failure prev of src.
func recoveredEvent(src store.SourceStatus, prev store.Event, now time.Time) (store.Event, error) {
	var was struct {
		Data SyncData `json:"data"`
	}
	_ = json.Unmarshal(prev.Payload, &was) // best effort: failing_since is informative
	recovered := src.LastSuccessAt
	if recovered.IsZero() || recovered.Before(was.Data.FailingSince) {
		recovered = now
	}
	data := SyncData{Source: src.Name, FailingSince: was.Data.FailingSince, LastSuccessAt: timePtr(src.LastSuccessAt),
		RecoveredAt: timePtr(recovered), FailingEventID: prev.ID}
	return NewEvent(cadence.EventID(SyncRecovered, prev.ID), SyncRecovered, now, data)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// TestData is the data of a webhook.test event.
type TestData struct {
	Endpoint string `json:"endpoint"`
	Message  string `json:"message"`
}

// testEvent builds a webhook.test event for endpoint; each test is a new
// event, so its ID is random.
func testEvent(endpoint string, now time.Time) (store.Event, error) {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	return NewEvent(cadence.EventID(WebhookTest, endpoint, hex.EncodeToString(nonce)), WebhookTest, now,
		TestData{Endpoint: endpoint, Message: "Test event from Touchbase: this endpoint receives its webhooks."})
}
