package cadence

import (
	"regexp"
	"time"
)

// Customer is an organisation the team keeps in touch with.
type Customer struct {
	ID       string
	Name     string
	Domains  []string // lower-case; subdomains match too
	Contacts []string // extra addresses (lower-case) that belong to this customer
	Exclude  []string // addresses (lower-case) never counted
	Owner    string   // account name
	Location *time.Location
	Tier     string
	// Holidays are the days besides weekends that business-day spans
	// (`1bd`) skip, as dates in Location; nil: weekends only.
	Holidays Holidays

	// Commitments is the resolved list: the customer's own, its tier's and
	// the defaults, de-duplicated by name.
	Commitments []Commitment
}

// PolicyType is the kind of a commitment (SPEC "Commitment policies").
type PolicyType string

// Policy types.
const (
	CadenceType     PolicyType = "cadence"
	ReplyType       PolicyType = "reply"
	NextMeetingType PolicyType = "next_meeting"
	FollowUpType    PolicyType = "follow_up"
	PrepareType     PolicyType = "prepare"
	BreadthType     PolicyType = "breadth"
	SilenceType     PolicyType = "silence"
)

// Direction of an interaction as seen from the team.
type Direction string

// Directions. Any is only used in commitment filters.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
	Any      Direction = "any"
)

// Period is a calendar-aligned window for `per` cadences.
type Period string

// Periods.
const (
	NoPeriod Period = ""
	PerWeek  Period = "week"
	PerMonth Period = "month"
	PerQtr   Period = "quarter"
	PerYear  Period = "year"
)

// Commitment is one policy applied to a customer.
type Commitment struct {
	Name string
	Type PolicyType

	// cadence
	Kind      Kind      // "" means any kind
	Direction Direction // "" or Any means any direction
	Subject   *regexp.Regexp
	Every     Span   // rolling window
	Per       Period // calendar-aligned window (exclusive with Every)
	Min       int    // default 1

	Grace       Span
	Within      Span // reply, next_meeting, follow_up, silence
	Before      Span // prepare
	MinContacts int  // breadth
	Window      Span // breadth
}

// Alerting holds the alert lifecycle settings.
type Alerting struct {
	RepeatInterval time.Duration // 0: never repeat
	AtRiskBefore   time.Duration
}
