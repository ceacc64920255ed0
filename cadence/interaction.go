// Package cadence is the domain core of Touchbase: customers, the interactions
// observed with them, the commitments (policies) they are owed, and the pure
// evaluation that turns those into states and alert transitions.
//
// It performs no I/O and never reads the clock: callers pass "now".
package cadence

import "time"

// Kind is what an interaction was.
type Kind string

// Interaction kinds.
const (
	Email   Kind = "email"
	Meeting Kind = "meeting"
)

// Role is how a participant took part in an interaction.
type Role string

// Participant roles. Mail uses From/To/Cc/Bcc (Bcc only in the sender's
// own copy); meetings use Organizer/Attendee.
const (
	From      Role = "from"
	To        Role = "to"
	Cc        Role = "cc"
	Bcc       Role = "bcc"
	Organizer Role = "organizer"
	Attendee  Role = "attendee"
)

// Filter says why an interaction does not count. The empty Filter counts.
// Filters stored with an interaction come from what the source saw (headers,
// event status); filters that depend on configuration (internal-only,
// excluded addresses) are decided at evaluation time by a Directory.
type Filter string

// Filters set by sources.
const (
	Counts    Filter = ""
	Automated Filter = "automated"  // Auto-Submitted other than "no"
	Bulk      Filter = "bulk"       // Precedence: bulk/list/junk
	List      Filter = "list"       // List-Id present
	Bounce    Filter = "bounce"     // delivery status notification, MAILER-DAEMON
	AutoReply Filter = "auto_reply" // X-Autoreply, vacation responders
	Cancelled Filter = "cancelled"  // STATUS:CANCELLED meeting or occurrence
	Declined  Filter = "declined"   // every external attendee declined
)

// Filters decided by a Directory.
const (
	InternalOnly Filter = "internal"
	Excluded     Filter = "excluded"
	NoCustomer   Filter = "no_customer"
)

// Participant is one address on an interaction. Address is lower-cased.
type Participant struct {
	Address  string
	Name     string
	Role     Role
	PartStat string // meetings: ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION or ""
}

// Interaction is one mail or one meeting occurrence: metadata only, never a
// body. Key is its natural, source-independent identity: the same message
// seen in two folders or accounts, or the same meeting occurrence on two
// colleagues' calendars, has one Key.
type Interaction struct {
	Key     string // see MailKey, DigestKey, MeetingKey
	Kind    Kind
	At      time.Time // mail: Date header (INTERNALDATE when missing); meeting: start
	End     time.Time // meetings: end; zero for mail
	AllDay  bool
	Subject string
	Sender  string // mail: From address; meeting: organizer address
	Account string // the account that first saw it

	MessageID  string   // without angle brackets
	InReplyTo  string   // without angle brackets
	References []string // without angle brackets, oldest first

	Participants []Participant
	Filter       Filter
	// Sources are the sync sources that carried a copy: "imap:<account>"
	// or "caldav:<account>", as named in source health. A stale source
	// makes unknown only the customers whose interactions it carried.
	Sources []string
}

// MailKey is the natural key of a mail with a Message-ID (without <>).
func MailKey(messageID string) string { return "mid:" + messageID }

// DigestKey is the natural key of a mail without Message-ID; digest is a hex
// digest of Date+From+To+Subject computed by the source.
func DigestKey(digest string) string { return "dig:" + digest }

// MeetingKey is the natural key of one occurrence of a calendar event: its
// UID and the occurrence's original start (RECURRENCE-ID) in UTC. A
// non-recurring event uses its DTSTART.
func MeetingKey(uid string, recurrenceID time.Time) string {
	return "ev:" + uid + "@" + recurrenceID.UTC().Format("20060102T150405Z")
}
