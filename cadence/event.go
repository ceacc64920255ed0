package cadence

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Commitment event types (SPEC "Webhooks").
const (
	EventAtRisk    = "commitment.at_risk"
	EventSlipped   = "commitment.slipped"
	EventRecovered = "commitment.recovered"
)

// Event is a webhook event an evaluation produced, ready for the outbox.
// Its ID is derived from the alert and the transition, so producing it
// again (a re-evaluation, a rebuilt state) yields the same webhook-id.
type Event struct {
	ID        string
	Type      string
	CreatedAt time.Time
	Payload   []byte // the standard body {"type", "timestamp", "data"}
}

// AlertID is the content-derived identity of the alert for one due period
// of one commitment of one customer: hex of the first 16 bytes of
// SHA-256(customer, commitment, period).
func AlertID(customer, commitment, period string) string {
	h := sha256.Sum256([]byte(customer + "\x00" + commitment + "\x00" + period))
	return hex.EncodeToString(h[:16])
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// EventID derives a webhook-id from the parts that identify an event, in
// the same form as the webhooks package ("msg_" and 32 base32 characters).
func EventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "msg_" + strings.ToLower(idEncoding.EncodeToString(h[:20]))
}

// EventData is the data of commitment.* events. Field names are the
// SPEC's; the Slack renderer decodes the same names.
type EventData struct {
	AlertID           string          `json:"alert_id"`
	Customer          EventCustomer   `json:"customer"`
	Commitment        EventCommitment `json:"commitment"`
	State             State           `json:"state"`
	Period            string          `json:"period"`
	Episode           int             `json:"episode"` // 2 and up: the period slipped again after it recovered
	DueAt             *time.Time      `json:"due_at"`
	LastInteractionAt *time.Time      `json:"last_interaction_at"`
	Observed          EventObserved   `json:"observed"`
	// reply: the message waiting for an answer.
	MessageID  string     `json:"message_id,omitempty"`
	ReceivedAt *time.Time `json:"received_at,omitempty"`
	Subject    string     `json:"subject,omitempty"`
	// follow_up, prepare, next_meeting: the meeting concerned.
	Meeting    *EventMeeting `json:"meeting,omitempty"`
	Expected   string        `json:"expected,omitempty"`   // what would satisfy it
	Repeat     int           `json:"repeat,omitempty"`     // n-th reminder of a still-slipped alert
	Resolution string        `json:"resolution,omitempty"` // recovered: satisfied | superseded
	// Reason explains the state: the rule, the due time, the last
	// satisfying interaction and any stale sources.
	Reason *Reason `json:"reason,omitempty"`
}

// EventCustomer identifies the customer in an event. Timezone is the
// customer's IANA zone, in which receivers (the Slack format) show times.
type EventCustomer struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Owner    string `json:"owner"`
	Timezone string `json:"timezone,omitempty"`
}

// EventCommitment identifies the commitment in an event.
type EventCommitment struct {
	Name string     `json:"name"`
	Type PolicyType `json:"type"`
}

// EventObserved summarises the observed frequency in an event.
type EventObserved struct {
	Contacts30d    int        `json:"contacts_30d"`
	Contacts90d    int        `json:"contacts_90d"`
	MedianInterval *string    `json:"median_interval"` // Go duration; null when unknown
	LastContactAt  *time.Time `json:"last_contact_at"`
}

// EventMeeting is the meeting an event is about.
type EventMeeting struct {
	Key     string    `json:"key"`
	Subject string    `json:"subject,omitempty"`
	Start   time.Time `json:"start"`
}

// body is the standard webhook body.
type body struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// newEvent builds an event with the standard body; the outbox keeps
// milliseconds, so the timestamp is truncated to them.
func newEvent(id, typ string, at time.Time, data EventData) Event {
	at = at.UTC().Truncate(time.Millisecond)
	b, err := json.Marshal(body{Type: typ, Timestamp: at, Data: data})
	if err != nil {
		// EventData holds only strings, numbers and times: encoding cannot fail.
		panic(fmt.Sprintf("encode %s event: %v", typ, err))
	}
	return Event{ID: id, Type: typ, CreatedAt: at, Payload: b}
}

// DurationString renders d as a Go duration string, or nil when zero.
func DurationString(d time.Duration) *string {
	if d == 0 {
		return nil
	}
	s := d.String()
	return &s
}

// TimePtr returns t in UTC, or nil when zero.
func TimePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func observedSummary(o Observed) EventObserved {
	return EventObserved{
		Contacts30d: o.Contacts30d.Total, Contacts90d: o.Contacts90d.Total,
		MedianInterval: DurationString(o.MedianInterval), LastContactAt: TimePtr(o.LastContactAt),
	}
}
