package cadence

import (
	"fmt"
	"sort"
	"time"
)

// custEval holds what every rule of one customer's evaluation reads.
type custEval struct {
	c        *Customer
	loc      *time.Location
	now      time.Time
	start    time.Time // start of observed history
	contacts []Contact // sorted; contacts[past:] are after now (planned)
	past     int
}

func newCustEval(c *Customer, contacts []Contact, now, start time.Time) *custEval {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	past := sort.Search(len(contacts), func(i int) bool { return contacts[i].At.After(now) })
	return &custEval{c: c, loc: loc, now: now, start: start, contacts: contacts, past: past}
}

// due is what a rule found: when the next satisfying interaction is due
// and why.
type due struct {
	at        time.Time // zero: nothing is due
	period    string
	last      *Contact // the most recent satisfying interaction
	about     *Contact // the mail or meeting concerned
	satisfied bool     // ok whatever the time (a meeting booked, an agenda sent)
	expect    string
}

func (e *custEval) rule(cm Commitment) due {
	switch cm.Type {
	case CadenceType:
		if cm.Per != NoPeriod {
			return e.per(cm)
		}
		return e.every(cm)
	case ReplyType:
		return e.reply(cm)
	case NextMeetingType:
		return e.nextMeeting(cm)
	case FollowUpType:
		return e.followUp(cm)
	case PrepareType:
		return e.prepare(cm)
	case BreadthType:
		return e.breadth(cm)
	case SilenceType:
		return e.silence(cm)
	}
	return due{expect: fmt.Sprintf("unknown commitment type %q", cm.Type)}
}

// stamp formats an instant for period keys: stable and zone-independent.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// rolling returns the due of a rolling window: nth (the min-th most recent
// match) + span, or the start of history + span when there are fewer
// matches.
func (e *custEval) rolling(span Span, nth *Contact) (time.Time, string) {
	if nth == nil {
		return span.After(e.start, e.loc), "start:" + stamp(e.start)
	}
	at := span.After(nth.At, e.loc)
	return at, "due:" + stamp(at)
}

// matches reports whether a cadence commitment's filters accept ct.
func matches(cm *Commitment, ct *Contact) bool {
	if cm.Kind != "" && ct.Kind != cm.Kind {
		return false
	}
	if cm.Direction != "" && cm.Direction != Any && ct.Direction != cm.Direction {
		return false
	}
	return cm.Subject == nil || cm.Subject.MatchString(ct.Subject)
}

// every: due at the min-th most recent match + every.
func (e *custEval) every(cm Commitment) due {
	need := max(cm.Min, 1)
	var last, nth *Contact
	for i, n := e.past-1, 0; i >= 0 && n < need; i-- {
		if ct := &e.contacts[i]; matches(&cm, ct) {
			if last == nil {
				last = ct
			}
			if n++; n == need {
				nth = ct
			}
		}
	}
	d := due{last: last, expect: describeCadence(cm, need) + " every " + cm.Every.String()}
	d.at, d.period = e.rolling(cm.Every, nth)
	return d
}

// per: calendar periods in the customer's zone, counted from the one
// holding the first match (or the start of history); each match counts
// for the earliest period that still needs one and began before it, so a
// late report resolves the period it was missing from. Due is the end of
// the earliest period still short of min.
func (e *custEval) per(cm Commitment) due {
	need := max(cm.Min, 1)
	first := -1
	for i := 0; i < e.past; i++ {
		if matches(&cm, &e.contacts[i]) {
			first = i
			break
		}
	}
	p := periodStart(cm.Per, e.start, e.loc)
	if first >= 0 {
		p = periodStart(cm.Per, e.contacts[first].At, e.loc)
	}
	var last *Contact
	count := 0
	for i := max(first, 0); first >= 0 && i < e.past; i++ {
		ct := &e.contacts[i]
		if !matches(&cm, ct) {
			continue
		}
		last = ct
		if ct.At.Before(p) {
			continue // early: every period it could serve is full
		}
		if count++; count == need {
			p, count = nextPeriod(cm.Per, p), 0
		}
	}
	d := due{last: last, at: nextPeriod(cm.Per, p), period: "period:" + periodLabel(cm.Per, p)}
	d.expect = fmt.Sprintf("%s in the %s of %s", describeCadence(cm, need-count), cm.Per, periodLabel(cm.Per, p))
	return d
}

// describeCadence says what n more matches of a cadence commitment are.
func describeCadence(cm Commitment, n int) string {
	what := "interaction"
	switch cm.Kind {
	case Email:
		what = "email"
	case Meeting:
		what = "meeting"
	}
	if cm.Direction == Inbound || cm.Direction == Outbound {
		what = string(cm.Direction) + " " + what
	}
	s := fmt.Sprintf("%d %s", n, what)
	if n != 1 {
		s += "s"
	}
	if cm.Subject != nil {
		s += fmt.Sprintf(" with subject matching /%s/", cm.Subject)
	}
	return s
}

// reply: every inbound mail is answered by a later outbound mail to the
// customer, or by an outbound mail in its thread (whatever its Date says,
// as clocks disagree). Due: the earliest waiting mail + within.
func (e *custEval) reply(cm Commitment) due {
	lastOut := -1
	for i := e.past - 1; i >= 0; i-- {
		if ct := &e.contacts[i]; ct.Kind == Email && ct.Direction == Outbound {
			lastOut = i
			break
		}
	}
	d := due{expect: "an outbound mail to the customer"}
	if lastOut >= 0 {
		d.last = &e.contacts[lastOut]
	}
	var answered map[string]bool // Message-IDs outbound mails reference, built when needed
	for i := lastOut + 1; i < e.past; i++ {
		ct := &e.contacts[i]
		if ct.Kind != Email || ct.Direction != Inbound {
			continue
		}
		if lastOut >= 0 && !ct.At.After(e.contacts[lastOut].At) {
			continue // same instant as our last mail: not after it
		}
		if id := ct.MessageID(); id != "" {
			if answered == nil {
				answered = e.threadReplies()
			}
			if answered[id] {
				continue
			}
		}
		d.about, d.at, d.period = ct, cm.Within.After(ct.At, e.loc), "msg:"+ct.Key
		d.expect = fmt.Sprintf("an outbound mail to the customer answering %q", ct.Subject)
		break
	}
	return d
}

// threadReplies returns the Message-IDs that outbound mails reference.
func (e *custEval) threadReplies() map[string]bool {
	out := map[string]bool{}
	for i := 0; i < e.past; i++ {
		if ct := &e.contacts[i]; ct.Kind == Email && ct.Direction == Outbound {
			for _, ref := range ct.Thread {
				out[ref] = true
			}
		}
	}
	return out
}

// nextMeeting: satisfied while a meeting starting within `within` is
// planned; otherwise due at the end of the last meeting held. When none
// was held it has been due since the start of history: the SPEC says
// "now", but a due time that moves with now never passes its grace (the
// customer would stay at_risk for ever) and finding an old meeting would
// make the state worse.
func (e *custEval) nextMeeting(cm Commitment) due {
	horizon := cm.Within.After(e.now, e.loc)
	d := due{expect: "a meeting with the customer on a calendar, starting within " + cm.Within.String()}
	for i := e.past; i < len(e.contacts) && !e.contacts[i].At.After(horizon); i++ {
		if ct := &e.contacts[i]; ct.Kind == Meeting {
			d.satisfied, d.last, d.about = true, ct, ct
			d.at, d.period = ct.Until(), "after:"+ct.Key
			return d
		}
	}
	if m := e.lastMeeting(e.past); m != nil {
		d.about, d.at, d.period = m, m.Until(), "after:"+m.Key
		return d
	}
	d.at, d.period = e.start, "none"
	return d
}

// lastMeeting returns the latest meeting among contacts[:end].
func (e *custEval) lastMeeting(end int) *Contact {
	for i := end - 1; i >= 0; i-- {
		if e.contacts[i].Kind == Meeting {
			return &e.contacts[i]
		}
	}
	return nil
}

// followUp concerns the latest meeting that has started, once it has
// ended: an outbound mail to one of its attendees after its end satisfies
// it. A meeting's follow-up stops being due when the next meeting starts.
func (e *custEval) followUp(cm Commitment) due {
	d := due{expect: "an outbound mail to an attendee after the meeting"}
	mi := -1
	for i := e.past - 1; i >= 0; i-- {
		if e.contacts[i].Kind == Meeting {
			mi = i
			break
		}
	}
	if mi < 0 || e.contacts[mi].Until().After(e.now) {
		return d // no meeting yet, or one is in progress
	}
	m := &e.contacts[mi]
	d.about, d.at, d.period = m, cm.Within.After(m.Until(), e.loc), "meeting:"+m.Key
	d.expect = fmt.Sprintf("an outbound mail to an attendee of %q", m.Subject)
	for i := mi + 1; i < e.past; i++ {
		ct := &e.contacts[i]
		if ct.Kind == Email && ct.Direction == Outbound && !ct.At.Before(m.Until()) && ct.touches(m.People) {
			d.satisfied, d.last = true, ct
			break
		}
	}
	return d
}

// prepare concerns the next planned meeting: an outbound mail to one of its
// attendees, sent after the previous meeting ended, is due `before` its
// start. A mail sent later but before the meeting still resolves it.
func (e *custEval) prepare(cm Commitment) due {
	d := due{expect: "an outbound mail to an attendee before the meeting"}
	var next *Contact
	for i := e.past; i < len(e.contacts); i++ {
		if e.contacts[i].Kind == Meeting {
			next = &e.contacts[i]
			break
		}
	}
	if next == nil {
		return d
	}
	d.about, d.at, d.period = next, cm.Before.Before(next.At, e.loc), "meeting:"+next.Key
	d.expect = fmt.Sprintf("an outbound mail to an attendee of %q, %s before it starts", next.Subject, cm.Before)
	after := e.start
	if prev := e.lastMeeting(e.past); prev != nil {
		after = prev.Until()
	}
	for i := e.past - 1; i >= 0; i-- {
		ct := &e.contacts[i]
		if !ct.At.After(after) {
			break
		}
		if ct.Kind == Email && ct.Direction == Outbound && ct.touches(next.People) {
			d.satisfied, d.last = true, ct
			break
		}
	}
	return d
}

// breadth: due when the number of distinct people touched within the
// window falls below min_contacts, i.e. the min-th most recently touched
// person's last touch + window.
func (e *custEval) breadth(cm Commitment) due {
	need := max(cm.MinContacts, 1)
	seen := make([]string, 0, need)
	var last, nth *Contact
	for i := e.past - 1; i >= 0 && nth == nil; i-- {
		ct := &e.contacts[i]
		if last == nil {
			last = ct
		}
		for _, p := range ct.People {
			if !containsString(seen, p) {
				if seen = append(seen, p); len(seen) == need {
					nth = ct
					break
				}
			}
		}
	}
	d := due{last: last, expect: fmt.Sprintf("contact with %d distinct people at the customer within %s", need, cm.Window)}
	d.at, d.period = e.rolling(cm.Window, nth)
	return d
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// silence: the customer wrote (inbound mail) or met us at least once per
// within.
func (e *custEval) silence(cm Commitment) due {
	var last *Contact
	for i := e.past - 1; i >= 0; i-- {
		if ct := &e.contacts[i]; ct.Kind == Meeting || ct.Direction == Inbound {
			last = ct
			break
		}
	}
	d := due{last: last, expect: "an inbound mail or a meeting with the customer every " + cm.Within.String()}
	d.at, d.period = e.rolling(cm.Within, last)
	return d
}
