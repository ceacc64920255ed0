package cadence

import (
	"fmt"
	"time"
)

// Reason explains a commitment's state: the rule, when it is due, what
// last satisfied it and, for Unknown, which sources are stale. Webhook
// payloads carry it, so a receiver can render the why without calling
// back, and `customer --why` prints the same.
type Reason struct {
	Rule    string     `json:"rule"`               // the commitment in words
	DueAt   *time.Time `json:"due_at"`             // null: nothing is due
	SlipsAt *time.Time `json:"slips_at,omitempty"` // due_at + grace, when it differs
	// LastSatisfying is the latest interaction that satisfied the
	// commitment; null when none did in the history kept.
	LastSatisfying *Ref           `json:"last_satisfying"`
	StaleSources   []ReasonSource `json:"stale_sources,omitempty"`
}

// ReasonSource is a stale source behind an Unknown state.
type ReasonSource struct {
	Source        string     `json:"source"`          // "imap:<account>", "caldav:<account>"
	LastSuccessAt *time.Time `json:"last_success_at"` // null: never synced
}

// Reason returns the explanation of cs.
func (cs *CommitmentState) Reason() Reason {
	r := Reason{Rule: Rule(*cs.Commitment), DueAt: TimePtr(cs.DueAt), LastSatisfying: cs.Last}
	if !cs.SlipsAt.Equal(cs.DueAt) {
		r.SlipsAt = TimePtr(cs.SlipsAt)
	}
	for _, s := range cs.StaleSources {
		r.StaleSources = append(r.StaleSources, ReasonSource{Source: s.Name, LastSuccessAt: TimePtr(s.LastSuccessAt)})
	}
	return r
}

// Rule describes a commitment in words, as a user would state it.
func Rule(cm Commitment) string {
	var s string
	switch cm.Type {
	case CadenceType:
		n := max(cm.Min, 1)
		if cm.Per != NoPeriod {
			s = fmt.Sprintf("at least %s per %s", describeCadence(&cm, n), cm.Per)
		} else {
			s = fmt.Sprintf("at least %s every %s", describeCadence(&cm, n), cm.Every)
		}
	case ReplyType:
		s = "every inbound mail answered within " + cm.Within.String()
	case NextMeetingType:
		s = "a next meeting always booked, starting within " + cm.Within.String()
	case FollowUpType:
		s = "an outbound mail to an attendee within " + cm.Within.String() + " after each meeting"
	case PrepareType:
		s = "an outbound mail to an attendee at least " + cm.Before.String() + " before each meeting"
	case BreadthType:
		s = fmt.Sprintf("at least %d distinct people at the customer touched within %s", cm.MinContacts, cm.Window)
	case SilenceType:
		s = "an inbound mail or a meeting with the customer at least every " + cm.Within.String()
	default:
		s = string(cm.Type)
	}
	if !cm.Grace.IsZero() {
		s += ", grace " + cm.Grace.String()
	}
	return s
}
