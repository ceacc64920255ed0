package cadence

import (
	"strconv"
	"time"
)

// Resolved is the state of an alert that no longer fires.
const Resolved State = "resolved"

// Resolutions say why an alert was resolved.
const (
	Satisfied  = "satisfied"  // a satisfying interaction arrived
	Superseded = "superseded" // the meeting it was about was followed by another, or began
	Removed    = "removed"    // the customer or commitment left the configuration
)

// Alert is the persisted lifecycle of one alert: one per (customer,
// commitment, due period), identified by AlertID.
type Alert struct {
	ID             string
	CustomerID     string
	Commitment     string
	Period         string
	State          State // AtRisk, Slipped or Resolved
	DueAt          time.Time
	OpenedAt       time.Time
	UpdatedAt      time.Time
	ResolvedAt     time.Time
	LastNotifiedAt time.Time
	// Episode counts the times the alert fired: one alert per due period,
	// but a period can slip, recover (a reply that is later deleted, a
	// meeting cancelled) and slip again. Each episode has its own events.
	Episode int
	Details AlertDetails
}

// AlertDetails are the alert's attributes beyond its columns, stored as JSON.
type AlertDetails struct {
	Type       PolicyType `json:"type,omitempty"`
	Repeats    int        `json:"repeats,omitempty"`
	Resolution string     `json:"resolution,omitempty"`
	About      *Ref       `json:"about,omitempty"`
}

// Open reports whether the alert is firing.
func (a Alert) Open() bool { return a.State == AtRisk || a.State == Slipped }

// Silence mutes a customer, or one of its commitments, for a while.
type Silence struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	Commitment string    `json:"commitment,omitempty"` // "": every commitment
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Author     string    `json:"author,omitempty"` // who added it; "" for silences older than schema v6
}

// Active reports whether the silence is in force at t: [StartsAt, EndsAt).
func (s Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// Covers reports whether the silence applies to the commitment.
func (s Silence) Covers(commitment string) bool {
	return s.Commitment == "" || s.Commitment == commitment
}

// lifecycle turns one customer's commitment states into alert changes and
// events, like a good alerting system: a transition to at_risk or slipped
// opens an alert; slipped after at_risk escalates; a still-slipped alert
// repeats after repeat_interval; a return to ok resolves it and sends
// commitment.recovered. A commitment that is silenced or unknown changes
// nothing: its alerts stay as they are until the silence ends or the
// sources recover, and are then brought up to date in one step, so no
// burst of intermediate transitions is sent.
type lifecycle struct {
	now      time.Time
	episodes map[string]int // the last episode of resolved alerts, by ID
	alerting Alerting
	customer *Customer
	observed Observed
	changes  []Alert
	events   []Event
}

// step handles one commitment; open are its open alerts.
func (lc *lifecycle) step(cs *CommitmentState, open []Alert) {
	if cs.State == Unknown || cs.Silenced {
		return
	}
	firing := cs.State == AtRisk || cs.State == Slipped
	var cur *Alert
	for i := range open {
		a := open[i]
		if firing && a.Period == cs.Period {
			cur = &a
			continue
		}
		res := Satisfied
		if a.Period != cs.Period && (cs.Commitment.Type == FollowUpType || cs.Commitment.Type == PrepareType) {
			res = Superseded
		}
		lc.resolve(a, cs, res)
	}
	if !firing {
		return
	}
	if cur == nil {
		id := AlertID(lc.customer.ID, cs.Commitment.Name, cs.Period)
		a := Alert{
			ID: id, Episode: lc.episodes[id] + 1, CustomerID: lc.customer.ID,
			Commitment: cs.Commitment.Name, Period: cs.Period, State: cs.State, DueAt: cs.DueAt,
			OpenedAt: lc.now, UpdatedAt: lc.now, LastNotifiedAt: lc.now,
			Details: AlertDetails{Type: cs.Commitment.Type, About: cs.About},
		}
		lc.notify(a, cs, eventType(cs.State), 0)
		return
	}
	switch {
	case cs.State == Slipped && cur.State == AtRisk:
		cur.State, cur.DueAt, cur.UpdatedAt, cur.LastNotifiedAt = Slipped, cs.DueAt, lc.now, lc.now
		lc.notify(*cur, cs, EventSlipped, 0)
	case cs.State == Slipped && lc.alerting.RepeatInterval > 0 &&
		!lc.now.Before(cur.LastNotifiedAt.Add(lc.alerting.RepeatInterval)):
		cur.Details.Repeats++
		cur.DueAt, cur.UpdatedAt, cur.LastNotifiedAt = cs.DueAt, lc.now, lc.now
		lc.notify(*cur, cs, EventSlipped, cur.Details.Repeats)
	}
	// Slipped back to at_risk happens only when the configuration gives
	// more time; the alert keeps its state rather than flapping.
}

func eventType(s State) string {
	if s == Slipped {
		return EventSlipped
	}
	return EventAtRisk
}

// notify records a and its event.
func (lc *lifecycle) notify(a Alert, cs *CommitmentState, typ string, repeat int) {
	lc.changes = append(lc.changes, a)
	id := a.eventID(typ)
	if repeat > 0 {
		id = a.eventID(typ, "repeat", strconv.Itoa(repeat))
	}
	data := lc.data(a, cs)
	data.Repeat = repeat
	lc.events = append(lc.events, newEvent(id, typ, lc.now, data))
}

// resolve closes a with commitment.recovered.
func (lc *lifecycle) resolve(a Alert, cs *CommitmentState, resolution string) {
	a.State, a.UpdatedAt, a.ResolvedAt, a.Details.Resolution = Resolved, lc.now, lc.now, resolution
	lc.changes = append(lc.changes, a)
	data := lc.data(a, cs)
	data.State, data.Resolution = OK, resolution
	if resolution != Satisfied {
		data.State = Resolved
	}
	lc.events = append(lc.events, newEvent(a.eventID(EventRecovered), EventRecovered, lc.now, data))
}

// eventID is the webhook-id of one of the alert's events: derived from the
// alert, its episode and the transition, so evaluating again yields the
// same id and a later episode never shares one with an earlier. The first
// episode's ids are those from before episodes were counted.
func (a Alert) eventID(typ string, extra ...string) string {
	parts := []string{a.ID}
	if a.Episode > 1 {
		parts = append(parts, "episode", strconv.Itoa(a.Episode))
	}
	return EventID(append(append(parts, typ), extra...)...)
}

// removed closes an alert whose commitment left the configuration,
// silently: nobody wants news about a commitment they deleted.
func (lc *lifecycle) removed(a Alert) {
	a.State, a.UpdatedAt, a.ResolvedAt, a.Details.Resolution = Resolved, lc.now, lc.now, Removed
	lc.changes = append(lc.changes, a)
}

// data builds the event data for alert a of commitment state cs.
func (lc *lifecycle) data(a Alert, cs *CommitmentState) EventData {
	c := lc.customer
	d := EventData{
		AlertID:    a.ID,
		Customer:   EventCustomer{ID: c.ID, Name: c.Name, Owner: c.Owner, Timezone: zoneOf(c)},
		Commitment: EventCommitment{Name: cs.Commitment.Name, Type: cs.Commitment.Type},
		State:      a.State, Period: a.Period, Episode: max(a.Episode, 1), DueAt: TimePtr(a.DueAt),
		Observed: observedSummary(lc.observed),
		Expected: cs.Expect,
	}
	r := cs.Reason()
	d.Reason = &r
	if cs.Last != nil {
		d.LastInteractionAt = TimePtr(cs.Last.At)
	}
	about := a.Details.About
	if about == nil {
		return d
	}
	switch cs.Commitment.Type {
	case ReplyType:
		d.MessageID, d.ReceivedAt, d.Subject = about.MessageID, TimePtr(about.At), about.Subject
	case FollowUpType, PrepareType, NextMeetingType:
		d.Meeting = &EventMeeting{Key: about.Key, Subject: about.Subject, Start: about.At.UTC()}
	}
	return d
}

// zoneOf names the customer's zone; "" when it has none.
func zoneOf(c *Customer) string {
	if c.Location == nil {
		return ""
	}
	return c.Location.String()
}
