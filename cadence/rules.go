package cadence

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// custEval holds what every rule of one customer's evaluation reads.
type custEval struct {
	c     *Customer
	h     *History
	t     *timeline
	es    []entry // sorted; es[past:] are after now (planned)
	loc   *time.Location
	now   time.Time
	start time.Time // start of observed history
	past  int
}

var emptyTimeline = &timeline{}

func newCustEval(c *Customer, h *History, now, start time.Time) *custEval {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	t := h.line(c.ID)
	if t == nil {
		t = emptyTimeline
	}
	// Entries are whole seconds: after now is after now's second.
	nowS := now.Unix()
	past := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].at > nowS })
	return &custEval{c: c, h: h, t: t, es: t.entries, loc: loc, now: now, start: start, past: past}
}

// after and before apply a span in the customer's zone, business days
// skipping the customer's holidays.
func (e *custEval) after(s Span, t time.Time) time.Time {
	return s.AfterSkipping(t, e.loc, e.c.Holidays)
}

func (e *custEval) before(s Span, t time.Time) time.Time {
	return s.BeforeSkipping(t, e.loc, e.c.Holidays)
}

func (e *custEval) key(ct *entry) string     { return e.t.key(ct) }
func (e *custEval) subject(ct *entry) string { return e.h.subjects[ct.subject] }
func (e *custEval) people(ct *entry) []string {
	return e.h.people[ct.people]
}

// ref points at ct, for results and events.
func (e *custEval) ref(ct *entry) *Ref {
	if ct == nil {
		return nil
	}
	key := e.key(ct)
	return &Ref{Key: key, At: ct.time(), Kind: ct.kind(), Direction: ct.direction(), Subject: e.subject(ct), MessageID: messageID(key)}
}

// touches reports whether ct and other have a person in common.
func (e *custEval) touches(ct, other *entry) bool {
	if ct.people == other.people {
		return len(e.people(ct)) > 0
	}
	a, b := e.people(ct), e.people(other)
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch strings.Compare(a[i], b[j]) {
		case 0:
			return true
		case -1:
			i++
		default:
			j++
		}
	}
	return false
}

// due is what a rule found: when the next satisfying interaction is due
// and why.
type due struct {
	at        time.Time // zero: nothing is due
	period    string
	last      *entry // the most recent satisfying interaction
	about     *entry // the mail or meeting concerned
	satisfied bool   // ok whatever the time (a meeting booked, an agenda sent)
	expect    string
}

func (e *custEval) rule(cm *Commitment) due {
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
func (e *custEval) rolling(span Span, nth *entry) (time.Time, string) {
	if nth == nil {
		return e.after(span, e.start), "start:" + stamp(e.start)
	}
	at := e.after(span, nth.time())
	return at, "due:" + stamp(at)
}

// matches reports whether a cadence commitment's filters accept ct.
func (e *custEval) matches(cm *Commitment, ct *entry) bool {
	return matchesKD(cm, ct) && (cm.Subject == nil || cm.Subject.MatchString(e.subject(ct)))
}

// matchesKD checks a commitment's kind and direction filters.
func matchesKD(cm *Commitment, ct *entry) bool {
	if cm.Kind != "" && ct.kind() != cm.Kind {
		return false
	}
	return cm.Direction == "" || cm.Direction == Any || ct.direction() == cm.Direction
}

// every: due at the min-th most recent match + every.
func (e *custEval) every(cm *Commitment) due {
	need := max(cm.Min, 1)
	var last, nth *entry
	for i, n := e.past-1, 0; i >= 0 && n < need; i-- {
		if ct := &e.es[i]; e.matches(cm, ct) {
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
func (e *custEval) per(cm *Commitment) due {
	need := max(cm.Min, 1)
	first := -1
	for i := 0; i < e.past; i++ {
		if e.matches(cm, &e.es[i]) {
			first = i
			break
		}
	}
	p := periodStart(cm.Per, e.start, e.loc)
	if first >= 0 {
		p = periodStart(cm.Per, e.es[first].time(), e.loc)
	}
	var last *entry
	count := 0
	for i := max(first, 0); first >= 0 && i < e.past; i++ {
		ct := &e.es[i]
		if !e.matches(cm, ct) {
			continue
		}
		last = ct
		if ct.time().Before(p) {
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
func describeCadence(cm *Commitment, n int) string {
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
func (e *custEval) reply(cm *Commitment) due {
	lastOut := -1
	for i := e.past - 1; i >= 0; i-- {
		if ct := &e.es[i]; ct.email() && ct.outbound() {
			lastOut = i
			break
		}
	}
	d := due{expect: "an outbound mail to the customer"}
	if lastOut >= 0 {
		d.last = &e.es[lastOut]
	}
	var answered map[uint64]bool // Message-IDs outbound mails reference, built when needed
	for i := lastOut + 1; i < e.past; i++ {
		ct := &e.es[i]
		if !ct.email() || !ct.inbound() {
			continue
		}
		if lastOut >= 0 && ct.at <= e.es[lastOut].at {
			continue // same instant as our last mail: not after it
		}
		key := e.key(ct)
		if id := messageID(key); id != "" {
			if answered == nil {
				answered = e.threadReplies()
			}
			if answered[hashID(id)] {
				continue
			}
		}
		d.about, d.at, d.period = ct, e.after(cm.Within, ct.time()), "msg:"+key
		d.expect = fmt.Sprintf("an outbound mail to the customer answering %q", e.subject(ct))
		break
	}
	return d
}

// threadReplies returns the hashes of the Message-IDs that outbound mails
// reference.
func (e *custEval) threadReplies() map[uint64]bool {
	out := map[uint64]bool{}
	for i := 0; i < e.past; i++ {
		if ct := &e.es[i]; ct.nrefs > 0 {
			for j := range int(ct.nrefs) {
				out[e.t.threadRef(ct, j)] = true
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
func (e *custEval) nextMeeting(cm *Commitment) due {
	horizon := e.after(cm.Within, e.now).Unix()
	d := due{expect: "a meeting with the customer on a calendar, starting within " + cm.Within.String()}
	for i := e.past; i < len(e.es) && e.es[i].at <= horizon; i++ {
		if ct := &e.es[i]; ct.meeting() {
			d.satisfied, d.last, d.about = true, ct, ct
			d.at, d.period = e.untilTime(ct), "after:"+e.key(ct)
			return d
		}
	}
	if m := e.lastMeeting(e.past); m != nil {
		d.about, d.at, d.period = m, e.untilTime(m), "after:"+e.key(m)
		return d
	}
	d.at, d.period = e.start, "none"
	return d
}

func (e *custEval) untilTime(ct *entry) time.Time { return time.Unix(e.t.until(ct), 0).UTC() }

// lastMeeting returns the latest meeting among es[:end].
func (e *custEval) lastMeeting(end int) *entry {
	if i := e.lastMeetingAt(end); i >= 0 {
		return &e.es[i]
	}
	return nil
}

// lastMeetingAt returns the index of the latest meeting among es[:end], -1
// when there is none.
func (e *custEval) lastMeetingAt(end int) int {
	for i := end - 1; i >= 0; i-- {
		if e.es[i].meeting() {
			return i
		}
	}
	return -1
}

// followUp concerns the latest meeting that has started, once it has
// ended: an outbound mail to one of its attendees after its end satisfies
// it. A meeting's follow-up stops being due when the next meeting starts.
func (e *custEval) followUp(cm *Commitment) due {
	d := due{expect: "an outbound mail to an attendee after the meeting"}
	mi := e.lastMeetingAt(e.past)
	if mi < 0 || e.t.until(&e.es[mi]) > e.now.Unix() {
		return d // no meeting yet, or one is in progress
	}
	m := &e.es[mi]
	d.about, d.at, d.period = m, e.after(cm.Within, e.untilTime(m)), "meeting:"+e.key(m)
	d.expect = fmt.Sprintf("an outbound mail to an attendee of %q", e.subject(m))
	for i := mi + 1; i < e.past; i++ {
		ct := &e.es[i]
		if ct.email() && ct.outbound() && ct.at >= e.t.until(m) && e.touches(ct, m) {
			d.satisfied, d.last = true, ct
			break
		}
	}
	return d
}

// prepare concerns the next planned meeting: an outbound mail to one of its
// attendees, sent after the previous meeting ended, is due `before` its
// start. A mail sent later but before the meeting still resolves it.
func (e *custEval) prepare(cm *Commitment) due {
	d := due{expect: "an outbound mail to an attendee before the meeting"}
	var next *entry
	for i := e.past; i < len(e.es); i++ {
		if e.es[i].meeting() {
			next = &e.es[i]
			break
		}
	}
	if next == nil {
		return d
	}
	d.about, d.at, d.period = next, e.before(cm.Before, next.time()), "meeting:"+e.key(next)
	d.expect = fmt.Sprintf("an outbound mail to an attendee of %q, %s before it starts", e.subject(next), cm.Before)
	after := e.start.Unix() // entries are whole seconds: after start is after its second
	if prev := e.lastMeeting(e.past); prev != nil {
		after = e.t.until(prev)
	}
	for i := e.past - 1; i >= 0; i-- {
		ct := &e.es[i]
		if ct.at <= after {
			break
		}
		if ct.email() && ct.outbound() && e.touches(ct, next) {
			d.satisfied, d.last = true, ct
			break
		}
	}
	return d
}

// breadth: due when the number of distinct people touched within the
// window falls below min_contacts, i.e. the min-th most recently touched
// person's last touch + window.
func (e *custEval) breadth(cm *Commitment) due {
	need := max(cm.MinContacts, 1)
	seen := make([]string, 0, need)
	var last, nth *entry
	for i := e.past - 1; i >= 0 && nth == nil; i-- {
		ct := &e.es[i]
		if last == nil {
			last = ct
		}
		for _, p := range e.people(ct) {
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
func (e *custEval) silence(cm *Commitment) due {
	var last *entry
	for i := e.past - 1; i >= 0; i-- {
		if ct := &e.es[i]; ct.meeting() || ct.inbound() {
			last = ct
			break
		}
	}
	d := due{last: last, expect: "an inbound mail or a meeting with the customer every " + cm.Within.String()}
	d.at, d.period = e.rolling(cm.Within, last)
	return d
}
