package cadence

import (
	"encoding/json"
	"fmt"
	"time"
)

// Source health event types (SPEC "Webhooks").
const (
	EventSyncFailing   = "sync.failing"
	EventSyncRecovered = "sync.recovered"
)

// SourceHealth is one sync source's health as last recorded.
type SourceHealth struct {
	Name                string // "imap:<account>" or "caldav:<account>"
	LastSuccessAt       time.Time
	FailingSince        time.Time // zero: healthy
	ConsecutiveFailures int
	LastError           string
}

// SourceFailure is an announced failure: the sync.failing event that
// announced it, open until a sync.recovered event closes it.
type SourceFailure struct {
	Source       string
	FailingSince time.Time
	EventID      string
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

// HealthChanges is what SourceEvents decided: failures to announce,
// sources whose announced failure ends, and the events saying so, in
// that order per source (a recovery before a new failure).
type HealthChanges struct {
	Opened []SourceFailure
	Closed []string
	Events []Event
}

// SourceEvents compares the sources' health with the announced failures
// (open, by source) as of now: an announced failure whose episode ended
// (the source synced, or it is failing again since a later time) is
// closed with sync.recovered; a source failing for at least after, or
// failing with its last success at least after ago, is announced with
// sync.failing. Event IDs derive from the source and failing_since, so
// deciding twice on the same state produces the same events.
func SourceEvents(health []SourceHealth, open map[string]SourceFailure, after time.Duration, now time.Time) (HealthChanges, error) {
	var out HealthChanges
	for _, src := range health {
		failing := !src.FailingSince.IsZero()
		failID := EventID(EventSyncFailing, src.Name, src.FailingSince.UTC().Format(time.RFC3339Nano))
		prev, announced := open[src.Name]
		if announced && (!failing || prev.EventID != failID) {
			ev, err := recoveredEvent(src, prev, now)
			if err != nil {
				return HealthChanges{}, err
			}
			out.Events, out.Closed = append(out.Events, ev), append(out.Closed, src.Name)
			announced = false
		}
		// Failing for the threshold, or failing with no success within it:
		// `run --once` from a daily cron sees a changed password fail
		// once a day, and must announce it on the first failure rather
		// than the next day.
		stale := !src.LastSuccessAt.IsZero() && now.Sub(src.LastSuccessAt) >= after
		if announced || !failing || (now.Sub(src.FailingSince) < after && !stale) {
			continue
		}
		data := SyncData{Source: src.Name, FailingSince: src.FailingSince.UTC(), ConsecutiveFailures: src.ConsecutiveFailures,
			LastError: src.LastError, LastSuccessAt: TimePtr(src.LastSuccessAt)}
		ev, err := syncEvent(failID, EventSyncFailing, now, data)
		if err != nil {
			return HealthChanges{}, err
		}
		out.Events = append(out.Events, ev)
		out.Opened = append(out.Opened, SourceFailure{Source: src.Name, FailingSince: src.FailingSince, EventID: failID})
	}
	return out, nil
}

// recoveredEvent closes the announced failure prev of src.
func recoveredEvent(src SourceHealth, prev SourceFailure, now time.Time) (Event, error) {
	recovered := src.LastSuccessAt
	if recovered.IsZero() || recovered.Before(prev.FailingSince) {
		recovered = now
	}
	data := SyncData{Source: src.Name, FailingSince: prev.FailingSince.UTC(), LastSuccessAt: TimePtr(src.LastSuccessAt),
		RecoveredAt: TimePtr(recovered), FailingEventID: prev.EventID}
	return syncEvent(EventID(EventSyncRecovered, prev.EventID), EventSyncRecovered, now, data)
}

// syncEvent builds a sync.* event with the standard body.
func syncEvent(id, typ string, at time.Time, data SyncData) (Event, error) {
	at = at.UTC().Truncate(time.Millisecond)
	b, err := json.Marshal(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      SyncData  `json:"data"`
	}{typ, at, data})
	if err != nil {
		return Event{}, fmt.Errorf("encode %s event %s: %w", typ, id, err)
	}
	return Event{ID: id, Type: typ, CreatedAt: at, Payload: b}, nil
}
