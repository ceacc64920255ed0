package cadence

import (
	"time"
)

// State is how a commitment stands (SPEC "States and timing").
type State string

// States. None is a customer's state when it has no commitments.
const (
	OK      State = "ok"
	AtRisk  State = "at_risk"
	Slipped State = "slipped"
	Unknown State = "unknown"
	None    State = "none"
)

// severity orders states for "the worst commitment state": a known slip
// is worse than not knowing, and not knowing is worse than a warning.
func (s State) severity() int {
	switch s {
	case AtRisk:
		return 1
	case Unknown:
		return 2
	case Slipped:
		return 3
	}
	return 0
}

// Worse reports whether s is worse than t.
func (s State) Worse(t State) bool { return s.severity() > t.severity() }

// Ref points at one interaction, for display and event payloads.
type Ref struct {
	Key       string    `json:"key"`
	At        time.Time `json:"at"`
	Kind      Kind      `json:"kind,omitempty"`
	Direction Direction `json:"direction,omitempty"` // "" when a third party sent it
	Subject   string    `json:"subject,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
}

// CommitmentState is the evaluation of one commitment of one customer.
type CommitmentState struct {
	Commitment *Commitment // points into Input.Customers
	State      State
	// DueAt is the moment by which the next satisfying interaction must
	// exist; zero when nothing is due (no mail waiting for a reply, no
	// meeting to prepare or follow up).
	DueAt time.Time
	// SlipsAt is DueAt plus grace: from then on the commitment is slipped.
	SlipsAt time.Time
	// Period identifies what is due (see AlertID); "" when nothing is due.
	Period string
	// Last is the most recent interaction that satisfied the commitment.
	Last *Ref
	// About is the mail waiting for a reply, or the meeting to follow up,
	// prepare or book after; nil for the other types.
	About *Ref
	// Met: what is due has already been done (the next meeting is booked,
	// the follow-up or the agenda sent); DueAt is then for information.
	Met bool
	// Expect says what would satisfy the commitment.
	Expect   string
	Silenced bool // a silence is active: no alerts change
	// StaleSources are the stale sources that make the state Unknown.
	StaleSources []StaleSource
}

// NeedsMail and NeedsCalendar report which kinds of sources the
// commitment's evaluation depends on (see Stale).
func (c Commitment) NeedsMail() bool {
	switch c.Type {
	case CadenceType:
		return c.Kind != Meeting
	case NextMeetingType:
		return false
	}
	return true
}

// NeedsCalendar is the calendar counterpart of NeedsMail.
func (c Commitment) NeedsCalendar() bool {
	switch c.Type {
	case CadenceType:
		return c.Kind != Email
	case ReplyType:
		return false
	}
	return true
}

// StaleSource is a sync source (an account's mailbox or calendars) that
// has not synced successfully within sync.stale_after: what it carries may
// be missing from the history.
type StaleSource struct {
	Name string // as on Interaction.Sources: "imap:<account>", "caldav:<account>"
	Kind Kind   // what it carries: Email (IMAP) or Meeting (CalDAV)
	// LastSuccessAt is its last successful sync; zero when it never
	// completed a first sync.
	LastSuccessAt time.Time
}

// Stale lists the stale sources. A customer's commitment is Unknown when a
// stale source of a kind the commitment needs has never completed a first
// sync (it may hold anyone's mail), or has carried the customer's
// interactions in the evaluated history: "no contact" is unprovable there
// and nowhere else, so one failing account does not mute every customer.
type Stale []StaleSource

// blocking returns the stale sources that make cm unknown for a customer
// whose history was carried by the sources in carried.
func (s Stale) blocking(cm Commitment, carried map[string]bool) []StaleSource {
	var out []StaleSource
	for _, src := range s {
		needed := (src.Kind == Meeting && cm.NeedsCalendar()) || (src.Kind != Meeting && cm.NeedsMail())
		if needed && (src.LastSuccessAt.IsZero() || carried[src.Name]) {
			out = append(out, src)
		}
	}
	return out
}

// stateAt is the SPEC's timing rule: ok before slips − atRiskBefore,
// at_risk until slips, slipped from slips on (the half-open reading: an
// interaction at exactly the due instant satisfies, and at that instant
// without one the commitment has slipped).
func stateAt(slips, now time.Time, atRiskBefore time.Duration) State {
	switch {
	case !now.Before(slips):
		return Slipped
	case !now.Before(slips.Add(-atRiskBefore)):
		return AtRisk
	}
	return OK
}
