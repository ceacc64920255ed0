package webhooks

import (
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
	SyncFailing         = cadence.EventSyncFailing
	SyncRecovered       = cadence.EventSyncRecovered
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

// SyncData is the data of sync.failing and sync.recovered events, which
// evaluation produces (cadence.SourceEvents); the Slack renderer reads it.
type SyncData = cadence.SyncData

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
