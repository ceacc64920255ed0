// Package demo is the groundwork of `touchbase demo`: a believable customer
// history for a small consultancy (Scenario), embedded loopback IMAP and
// CalDAV servers to serve it (StartIMAP, StartCalDAV), the configuration
// that points Touchbase at them (History.ConfigYAML), and a local webhook
// receiver that verifies Standard Webhooks signatures (Sink).
//
// The same History seeds the real test bed in the end-to-end test, and its
// Expected alerts are written down from the rules of SPEC "States and
// timing" before any run, so the engine can be checked against them.
package demo

import (
	"time"

	"github.com/emersion/go-imap/v2"
)

// Folder names a History uses. Sent is the folder with the \Sent
// special-use attribute; servers may call it something else.
const (
	Inbox = "INBOX"
	Sent  = "Sent"
)

// Alert event types (SPEC "Webhooks").
const (
	AtRisk    = "commitment.at_risk"
	Slipped   = "commitment.slipped"
	Recovered = "commitment.recovered"
)

// History is a scenario: the team's accounts, the customers, every message
// and calendar object each account holds, and the alerts an evaluation at
// Now must produce.
type History struct {
	Now             time.Time
	Timezone        string   // IANA name of the team's zone
	InternalDomains []string // the team's own mail domains
	Accounts        []Account
	Customers       []Customer
	Policies        []Policy
	Tiers           map[string][]string // tier name → policy names
	Defaults        []string            // policy names for every customer

	// Mails are in date order, one entry per copy: the same message can be
	// in several folders (Anna's Sent and Ben's INBOX).
	Mails []Mail
	// Events has one entry per calendar copy: an invitation is on every
	// attending team member's calendar under the same UID.
	Events []Event

	// Expected is the exact set of alerts a first evaluation at Now must
	// raise, one per (customer, commitment), in a stable order.
	Expected []ExpectedAlert
}

// Account is a team member's mailbox and calendar.
type Account struct {
	Name     string // the config's account name, e.g. "anna"
	Email    string
	FullName string
}

// Customer is a configured customer and the story the demo tells about it.
type Customer struct {
	ID          string
	Name        string
	Domains     []string
	Contacts    []string // extra addresses
	Exclude     []string // addresses never counted
	Owner       string   // account email of the owner
	Timezone    string   // "" means the team's zone
	Tier        string
	Commitments []string // policy names
	Story       string   // one line for "what you just saw"
}

// Policy is a named commitment template (SPEC "Commitment policies").
// Empty fields are left out of the configuration.
type Policy struct {
	Name      string
	Type      string
	Kind      string
	Direction string
	Subject   string
	Every     string
	Per       string
	Within    string
	Grace     string
}

// Mail is one copy of a message in one account's folder.
type Mail struct {
	Owner     string // account email whose mailbox holds this copy
	Folder    string // Inbox or Sent
	MessageID string // without angle brackets
	Subject   string
	Date      time.Time // the Date header; also the INTERNALDATE
	Flags     []imap.Flag
	Raw       []byte // RFC 5322 with CRLF line endings
}

// Event is one calendar object resource on one account's calendar.
type Event struct {
	Owner string // account email whose calendar holds this copy
	UID   string
	ICS   []byte // a complete VCALENDAR (RFC 5545), CRLF line endings
}

// ExpectedAlert is an alert the scenario must raise.
type ExpectedAlert struct {
	Customer   string // customer id
	Commitment string // policy name
	Type       string // AtRisk or Slipped: the state a first evaluation finds
	MessageID  string // for reply commitments: the waiting message
	Why        string // the reasoning, for the demo's summary and test failures
}
