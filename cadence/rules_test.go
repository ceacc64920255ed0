package cadence

import (
	"testing"
	"time"
)

// ruleCase is one evaluation of one commitment. last and about are indexes
// into contacts (nil: not checked; noRef: must be nil).
type ruleCase struct {
	name       string
	cm         Commitment
	loc        *time.Location // nil: Berlin
	start      time.Time      // zero: 2025-06-01
	contacts   []Contact
	now        time.Time
	stale      Stale
	want       State
	wantDue    time.Time // zero: nothing is due
	wantPeriod string    // "": not checked
	last       *int
	about      *int
}

func ix(i int) *int { return &i }

var noRef = ix(-1)

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := tc.loc
			if loc == nil {
				loc = berlin
			}
			start := tc.start
			if start.IsZero() {
				start = tb("2025-06-01 00:00")
			}
			if tc.cm.Name == "" {
				tc.cm.Name = string(tc.cm.Type)
			}
			got := evalOne(t, customer(loc, tc.cm), start, tc.now, tc.contacts, tc.stale)
			if got.State != tc.want {
				t.Errorf("state = %s, want %s (due %v, period %q)", got.State, tc.want, got.DueAt, got.Period)
			}
			if !got.DueAt.Equal(tc.wantDue) {
				t.Errorf("due = %v, want %v", got.DueAt, tc.wantDue)
			}
			if tc.wantPeriod != "" && got.Period != tc.wantPeriod {
				t.Errorf("period = %q, want %q", got.Period, tc.wantPeriod)
			}
			checkRef(t, "last", got.Last, tc.last, tc.contacts)
			checkRef(t, "about", got.About, tc.about, tc.contacts)
			if got.Expect == "" {
				t.Error("no description of what would satisfy the commitment")
			}
		})
	}
}

func checkRef(t *testing.T, what string, got *Ref, want *int, contacts []Contact) {
	t.Helper()
	switch {
	case want == nil:
	case *want < 0 && got != nil:
		t.Errorf("%s = %s, want none", what, got.Key)
	case *want >= 0 && got == nil:
		t.Errorf("%s = none, want contact %d", what, *want)
	case *want >= 0 && got.Key != contacts[*want].Key:
		t.Errorf("%s = %s, want contact %d (%s)", what, got.Key, *want, contacts[*want].Key)
	}
}

func TestCadenceEvery(t *testing.T) {
	weekly := Commitment{Type: CadenceType, Kind: Email, Direction: Outbound, Every: sp("1w"), Min: 1}
	c0 := mail(tb("2026-03-02 10:00"), Outbound, "Status week 10")
	due := tb("2026-03-09 10:00")
	withMin := func(c Commitment, n int) Commitment { c.Min = n; return c }
	withGrace := weekly
	withGrace.Grace = sp("1bd")
	withSubject := weekly
	withSubject.Subject = re(`(?i)^status`)
	friday := mail(tb("2026-03-06 10:00"), Outbound, "Status")
	runRuleCases(t, []ruleCase{
		{name: "ok well before due", cm: weekly, contacts: []Contact{c0}, now: tb("2026-03-07 10:00"),
			want: OK, wantDue: due, wantPeriod: "due:" + stamp(due), last: ix(0)},
		{name: "one instant before at_risk_before is ok", cm: weekly, contacts: []Contact{c0},
			now: tb("2026-03-08 10:00").Add(-time.Millisecond), want: OK, wantDue: due},
		{name: "at_risk exactly at due minus at_risk_before", cm: weekly, contacts: []Contact{c0},
			now: tb("2026-03-08 10:00"), want: AtRisk, wantDue: due},
		{name: "slipped exactly at the due instant", cm: weekly, contacts: []Contact{c0},
			now: due, want: Slipped, wantDue: due, last: ix(0)},
		{name: "a match exactly at the due instant satisfies", cm: weekly,
			contacts: []Contact{c0, mail(due, Outbound, "Status week 11")}, now: due,
			want: OK, wantDue: tb("2026-03-16 10:00"), last: ix(1)},
		{name: "the latest of several matches counts", cm: weekly,
			contacts: []Contact{c0, mail(tb("2026-03-04 10:00"), Outbound, "x"), mail(tb("2026-03-03 10:00"), Outbound, "y")},
			now:      tb("2026-03-09 12:00"), want: OK, wantDue: tb("2026-03-11 10:00"), last: ix(1)},
		{name: "min 2 counts from the second most recent match", cm: withMin(weekly, 2),
			contacts: []Contact{c0, mail(tb("2026-03-05 10:00"), Outbound, "x")},
			now:      tb("2026-03-08 12:00"), want: AtRisk, wantDue: due, last: ix(1)},
		{name: "fewer than min counts from the start of history", cm: withMin(weekly, 2), start: tb("2026-02-20 00:00"),
			contacts: []Contact{c0}, now: tb("2026-03-03 00:00"), want: Slipped, wantDue: tb("2026-02-27 00:00"),
			wantPeriod: "start:" + stamp(tb("2026-02-20 00:00")), last: ix(0)},
		{name: "no match at all", cm: weekly, start: tb("2026-03-01 00:00"), now: tb("2026-03-03 00:00"),
			want: OK, wantDue: tb("2026-03-08 00:00"), last: noRef},
		{name: "kind filter ignores meetings", cm: weekly,
			contacts: []Contact{c0, meeting(tb("2026-03-09 11:00"), time.Hour, "Sync")},
			now:      tb("2026-03-09 12:00"), want: Slipped, wantDue: due, last: ix(0)},
		{name: "direction filter ignores inbound mail", cm: weekly,
			contacts: []Contact{c0, mail(tb("2026-03-09 09:00"), Inbound, "Status?")},
			now:      tb("2026-03-09 12:00"), want: Slipped, wantDue: due},
		{name: "subject regex skips other mail", cm: withSubject,
			contacts: []Contact{c0, mail(tb("2026-03-06 10:00"), Outbound, "Lunch? status later")},
			now:      due, want: Slipped, wantDue: due, last: ix(0)},
		{name: "subject regex is case-insensitive when asked", cm: withSubject,
			contacts: []Contact{c0, mail(tb("2026-03-06 10:00"), Outbound, "STATUS week 10b")},
			now:      due, want: OK, wantDue: tb("2026-03-13 10:00"), last: ix(1)},
		{name: "grace in business days: Saturday is ok", cm: withGrace, contacts: []Contact{friday},
			now: tb("2026-03-14 12:00"), want: OK, wantDue: tb("2026-03-13 10:00")},
		{name: "grace in business days: Sunday is at risk", cm: withGrace, contacts: []Contact{friday},
			now: tb("2026-03-15 10:00"), want: AtRisk, wantDue: tb("2026-03-13 10:00")},
		{name: "grace in business days: slipped Monday", cm: withGrace, contacts: []Contact{friday},
			now: tb("2026-03-16 10:00"), want: Slipped, wantDue: tb("2026-03-13 10:00")},
		{name: "a week across spring-forward keeps the wall clock", cm: weekly,
			contacts: []Contact{mail(tb("2026-03-23 10:00"), Outbound, "x")},
			now:      tb("2026-03-30 09:59"), want: AtRisk, wantDue: tb("2026-03-30 10:00")},
		{name: "Jan 31 + 1mo is Feb 28", cm: Commitment{Type: CadenceType, Every: sp("1mo")},
			contacts: []Contact{mail(tb("2026-01-31 10:00"), Outbound, "x")},
			now:      tb("2026-02-28 09:00"), want: AtRisk, wantDue: tb("2026-02-28 10:00")},
		{name: "future-dated mail does not count yet", cm: weekly,
			contacts: []Contact{c0, mail(tb("2026-03-12 10:00"), Outbound, "x")},
			now:      tb("2026-03-09 11:00"), want: Slipped, wantDue: due, last: ix(0)},
		{name: "kind and direction any count a customer's meeting", cm: Commitment{Type: CadenceType, Every: sp("1w")},
			contacts: []Contact{c0, meeting(tb("2026-03-05 10:00"), time.Hour, "Sync")},
			now:      tb("2026-03-09 11:00"), want: OK, wantDue: tb("2026-03-12 10:00"), last: ix(1)},
	})
}

func TestCadencePer(t *testing.T) {
	monthly := Commitment{Type: CadenceType, Per: PerMonth, Min: 1}
	jan, feb := mail(tb("2026-01-15 10:00"), Outbound, "Report"), mail(tb("2026-02-10 10:00"), Outbound, "Report")
	weekly2 := Commitment{Type: CadenceType, Per: PerWeek, Min: 2}
	runRuleCases(t, []ruleCase{
		{name: "the current month is still open", cm: monthly, contacts: []Contact{jan, feb}, now: tb("2026-03-20 12:00"),
			want: OK, wantDue: tb("2026-04-01 00:00"), wantPeriod: "period:2026-03", last: ix(1)},
		{name: "the month's last day is at risk", cm: monthly, contacts: []Contact{jan, feb}, now: tb("2026-03-31 12:00"),
			want: AtRisk, wantDue: tb("2026-04-01 00:00")},
		{name: "slipped when the month ends", cm: monthly, contacts: []Contact{jan, feb}, now: tb("2026-04-01 00:00"),
			want: Slipped, wantDue: tb("2026-04-01 00:00"), wantPeriod: "period:2026-03"},
		{name: "a missing month is slipped", cm: monthly, contacts: []Contact{jan}, now: tb("2026-03-02 12:00"),
			want: Slipped, wantDue: tb("2026-03-01 00:00"), wantPeriod: "period:2026-02"},
		{name: "a late report resolves the month it was missing from", cm: monthly,
			contacts: []Contact{jan, mail(tb("2026-03-05 10:00"), Outbound, "Report")}, now: tb("2026-03-10 12:00"),
			want: OK, wantDue: tb("2026-04-01 00:00"), wantPeriod: "period:2026-03", last: ix(1)},
		{name: "two reports in one month do not cover the next", cm: monthly,
			contacts: []Contact{jan, mail(tb("2026-01-20 10:00"), Outbound, "Report")}, now: tb("2026-02-28 12:00"),
			want: AtRisk, wantDue: tb("2026-03-01 00:00"), wantPeriod: "period:2026-02"},
		{name: "periods are the customer's calendar", cm: monthly, loc: newYork,
			contacts: []Contact{mail(tin(newYork, "2026-01-31 23:30"), Outbound, "Report")}, now: tin(newYork, "2026-02-15 12:00"),
			want: OK, wantDue: tin(newYork, "2026-03-01 00:00"), wantPeriod: "period:2026-02"},
		{name: "without matches periods count from the start of history", cm: monthly, start: tb("2026-01-10 00:00"),
			now: tb("2026-02-02 00:00"), want: Slipped, wantDue: tb("2026-02-01 00:00"), wantPeriod: "period:2026-01", last: noRef},
		{name: "min 2 per week", cm: weekly2,
			contacts: []Contact{mail(tb("2026-03-02 10:00"), Outbound, "a"), mail(tb("2026-03-04 10:00"), Outbound, "b"),
				mail(tb("2026-03-09 10:00"), Outbound, "c")},
			now: tb("2026-03-15 12:00"), want: AtRisk, wantDue: tb("2026-03-16 00:00"), wantPeriod: "period:2026-W11"},
		{name: "a week across spring-forward", cm: Commitment{Type: CadenceType, Per: PerWeek, Min: 1},
			contacts: []Contact{mail(tb("2026-03-16 10:00"), Outbound, "a")}, now: tb("2026-03-30 00:00"),
			want: Slipped, wantDue: tb("2026-03-30 00:00"), wantPeriod: "period:2026-W13"},
		{name: "per quarter", cm: Commitment{Type: CadenceType, Per: PerQtr, Min: 1},
			contacts: []Contact{mail(tb("2026-02-01 10:00"), Outbound, "QBR")}, now: tb("2026-06-30 12:00"),
			want: AtRisk, wantDue: tb("2026-07-01 00:00"), wantPeriod: "period:2026-Q2"},
		{name: "per year", cm: Commitment{Type: CadenceType, Per: PerYear, Min: 1, Kind: Meeting},
			contacts: []Contact{meeting(tb("2025-07-01 10:00"), time.Hour, "Annual review")}, now: tb("2026-06-01 12:00"),
			want: OK, wantDue: tb("2027-01-01 00:00"), wantPeriod: "period:2026"},
	})
}

func TestReply(t *testing.T) {
	reply := Commitment{Type: ReplyType, Within: sp("1bd")}
	in0 := mail(tb("2026-03-06 15:00"), Inbound, "Question") // a Friday
	mon := tb("2026-03-09 15:00")
	withGrace := reply
	withGrace.Grace = sp("2h")
	nyIn := mail(tin(newYork, "2026-03-06 20:00"), Inbound, "Late question") // Saturday in Berlin
	runRuleCases(t, []ruleCase{
		{name: "Friday's mail is due Monday", cm: reply, contacts: []Contact{in0}, now: tb("2026-03-08 12:00"),
			want: OK, wantDue: mon, wantPeriod: "msg:" + in0.Key, about: ix(0), last: noRef},
		{name: "at risk on Sunday afternoon", cm: reply, contacts: []Contact{in0}, now: tb("2026-03-08 15:00"),
			want: AtRisk, wantDue: mon},
		{name: "slipped at the due instant", cm: reply, contacts: []Contact{in0}, now: mon,
			want: Slipped, wantDue: mon, about: ix(0)},
		{name: "any later outbound mail answers", cm: reply,
			contacts: []Contact{in0, mail(tb("2026-03-09 09:00"), Outbound, "Other topic")}, now: mon,
			want: OK, last: ix(1), about: noRef},
		{name: "a reply in the thread answers even with a skewed clock", cm: reply,
			contacts: []Contact{in0, replyTo(tb("2026-03-06 14:58"), in0)}, now: mon, want: OK, about: noRef},
		{name: "outbound mail before the question does not answer it", cm: reply,
			contacts: []Contact{mail(tb("2026-03-06 14:00"), Outbound, "FYI"), in0}, now: mon,
			want: Slipped, wantDue: mon, about: ix(1), last: ix(0)},
		{name: "the earliest waiting mail is due", cm: reply,
			contacts: []Contact{in0, mail(tb("2026-03-09 09:00"), Inbound, "Ping")}, now: tb("2026-03-09 16:00"),
			want: Slipped, wantDue: mon, about: ix(0)},
		{name: "a Saturday mail counts from Monday", cm: reply,
			contacts: []Contact{mail(tb("2026-03-07 11:00"), Inbound, "Weekend")}, now: tb("2026-03-09 12:00"),
			want: AtRisk, wantDue: tb("2026-03-10 00:00")},
		{name: "business days are the customer's", cm: reply, loc: newYork, contacts: []Contact{nyIn},
			now: tin(newYork, "2026-03-09 19:00"), want: AtRisk, wantDue: tin(newYork, "2026-03-09 20:00")},
		{name: "nothing waiting", cm: reply, contacts: []Contact{mail(tb("2026-03-06 10:00"), Outbound, "Hi")},
			now: mon, want: OK, last: ix(0), about: noRef},
		{name: "grace", cm: withGrace, contacts: []Contact{in0}, now: tb("2026-03-09 16:00"), want: AtRisk, wantDue: mon},
		{name: "a third party's mail is not waiting", cm: reply,
			contacts: []Contact{mail(tb("2026-03-06 15:00"), "", "Newsletter-ish")}, now: mon, want: OK},
	})
}

func TestNextMeeting(t *testing.T) {
	nm := Commitment{Type: NextMeetingType, Within: sp("30d")}
	m0 := meeting(tb("2026-03-02 10:00"), time.Hour, "Kickoff")
	withGrace := nm
	withGrace.Grace = sp("2d")
	runRuleCases(t, []ruleCase{
		{name: "a meeting within the window is booked", cm: nm,
			contacts: []Contact{m0, meeting(tb("2026-03-20 10:00"), time.Hour, "Next")}, now: tb("2026-03-03 09:00"),
			want: OK, wantDue: tb("2026-03-20 11:00"), last: ix(1)},
		{name: "booked too far ahead does not count", cm: nm,
			contacts: []Contact{m0, meeting(tb("2026-04-20 10:00"), time.Hour, "Later")}, now: tb("2026-03-03 09:00"),
			want: Slipped, wantDue: tb("2026-03-02 11:00"), wantPeriod: "after:" + m0.Key, about: ix(0), last: noRef},
		{name: "none ever held is due since the start of history", cm: withGrace, now: tb("2026-03-03 09:00"),
			want: Slipped, wantDue: tb("2025-06-01 00:00"), wantPeriod: "none"},
		{name: "at risk during the meeting", cm: nm, contacts: []Contact{m0}, now: tb("2026-03-02 10:30"),
			want: AtRisk, wantDue: tb("2026-03-02 11:00")},
		{name: "grace", cm: withGrace, contacts: []Contact{m0}, now: tb("2026-03-03 12:00"),
			want: AtRisk, wantDue: tb("2026-03-02 11:00")},
	})
}

func TestFollowUp(t *testing.T) {
	fu := Commitment{Type: FollowUpType, Within: sp("2bd")}
	fri := meeting(tb("2026-03-06 14:00"), time.Hour, "Review", "bob@acme.com", "carol@acme.com")
	tue := tb("2026-03-10 15:00")
	runRuleCases(t, []ruleCase{
		{name: "Friday's meeting is due Tuesday", cm: fu, contacts: []Contact{fri}, now: tb("2026-03-09 12:00"),
			want: OK, wantDue: tue, wantPeriod: "meeting:" + fri.Key, about: ix(0), last: noRef},
		{name: "a mail to an attendee after the meeting", cm: fu,
			contacts: []Contact{fri, mail(tb("2026-03-09 09:00"), Outbound, "Notes", "carol@acme.com")}, now: tue,
			want: OK, wantDue: tue, last: ix(1)},
		{name: "a mail to someone else at the customer does not count", cm: fu,
			contacts: []Contact{fri, mail(tb("2026-03-09 09:00"), Outbound, "Notes", "dave@acme.com")}, now: tue,
			want: Slipped, wantDue: tue},
		{name: "a mail before the meeting ended does not count", cm: fu,
			contacts: []Contact{fri, mail(tb("2026-03-06 14:30"), Outbound, "Slides", "bob@acme.com")}, now: tue,
			want: Slipped, wantDue: tue},
		{name: "a late follow-up recovers", cm: fu,
			contacts: []Contact{fri, mail(tb("2026-03-11 09:00"), Outbound, "Notes", "bob@acme.com")}, now: tb("2026-03-11 12:00"),
			want: OK, wantDue: tue, last: ix(1)},
		{name: "nothing is due during a meeting", cm: fu,
			contacts: []Contact{fri, meeting(tb("2026-03-10 14:00"), time.Hour, "Again")}, now: tb("2026-03-10 14:30"),
			want: OK, about: noRef},
		{name: "the latest meeting supersedes the previous one", cm: fu,
			contacts: []Contact{fri, mail(tb("2026-03-09 09:00"), Outbound, "Notes", "bob@acme.com"),
				meeting(tb("2026-03-09 10:00"), time.Hour, "Again")},
			now: tb("2026-03-11 12:00"), want: Slipped, wantDue: tb("2026-03-11 11:00"), about: ix(2), last: noRef},
	})
}

func TestPrepare(t *testing.T) {
	pr := Commitment{Type: PrepareType, Before: sp("3d")}
	prev := meeting(tb("2026-03-02 10:00"), time.Hour, "Weekly")
	next := meeting(tb("2026-03-12 10:00"), time.Hour, "Quarterly review", "bob@acme.com", "carol@acme.com")
	due := tb("2026-03-09 10:00")
	runRuleCases(t, []ruleCase{
		{name: "agenda sent after the previous meeting", cm: pr,
			contacts: []Contact{prev, mail(tb("2026-03-05 10:00"), Outbound, "Agenda", "carol@acme.com"), next},
			now:      tb("2026-03-09 12:00"), want: OK, wantDue: due, wantPeriod: "meeting:" + next.Key, last: ix(1), about: ix(2)},
		{name: "slipped without an agenda", cm: pr, contacts: []Contact{prev, next}, now: due,
			want: Slipped, wantDue: due, about: ix(1), last: noRef},
		{name: "a mail before the previous meeting does not count", cm: pr,
			contacts: []Contact{mail(tb("2026-02-27 10:00"), Outbound, "Agenda", "bob@acme.com"), prev, next},
			now:      tb("2026-03-09 12:00"), want: Slipped, wantDue: due, about: ix(2)},
		{name: "at risk the day before", cm: pr, contacts: []Contact{prev, next}, now: tb("2026-03-08 11:00"),
			want: AtRisk, wantDue: due},
		{name: "a late agenda still resolves it", cm: pr,
			contacts: []Contact{prev, mail(tb("2026-03-10 10:00"), Outbound, "Agenda", "bob@acme.com"), next},
			now:      tb("2026-03-10 12:00"), want: OK, wantDue: due, last: ix(1)},
		{name: "nothing planned", cm: pr, contacts: []Contact{prev}, now: due, want: OK, about: noRef},
		{name: "due across the DST change", cm: pr, contacts: []Contact{meeting(tb("2026-03-31 10:00"), time.Hour, "x")},
			now: tb("2026-03-28 10:00"), want: Slipped, wantDue: tb("2026-03-28 10:00")},
	})
}

func TestBreadth(t *testing.T) {
	br := Commitment{Type: BreadthType, MinContacts: 2, Window: sp("90d")}
	runRuleCases(t, []ruleCase{
		{name: "two people touched", cm: br,
			contacts: []Contact{mail(tb("2026-01-10 10:00"), Outbound, "a", "bob@acme.com"), mail(tb("2026-02-01 10:00"), Inbound, "b", "carol@acme.com")},
			now:      tb("2026-03-01 10:00"), want: OK, wantDue: tb("2026-04-10 10:00"), wantPeriod: "due:" + stamp(tb("2026-04-10 10:00"))},
		{name: "frequent contact with one person does not widen it", cm: br,
			contacts: []Contact{mail(tb("2025-12-01 10:00"), Outbound, "a", "carol@acme.com"),
				mail(tb("2026-01-10 10:00"), Outbound, "b"), mail(tb("2026-02-01 10:00"), Outbound, "c"), mail(tb("2026-03-01 09:00"), Outbound, "d")},
			now: tb("2026-03-02 10:00"), want: Slipped, wantDue: tb("2026-03-01 10:00"), last: ix(3)},
		{name: "one person ever counts from the start of history", cm: br, start: tb("2026-01-01 00:00"),
			contacts: []Contact{mail(tb("2026-01-10 10:00"), Outbound, "a")}, now: tb("2026-03-31 12:00"),
			want: AtRisk, wantDue: tb("2026-04-01 00:00"), wantPeriod: "start:" + stamp(tb("2026-01-01 00:00"))},
		{name: "several people on one mail", cm: br,
			contacts: []Contact{mail(tb("2026-01-10 10:00"), Outbound, "a", "bob@acme.com", "carol@acme.com")},
			now:      tb("2026-03-01 10:00"), want: OK, wantDue: tb("2026-04-10 10:00")},
	})
}

func TestSilence(t *testing.T) {
	si := Commitment{Type: SilenceType, Within: sp("30d")}
	runRuleCases(t, []ruleCase{
		{name: "inbound mail is the pulse", cm: si,
			contacts: []Contact{mail(tb("2026-02-20 10:00"), Inbound, "a"), mail(tb("2026-03-15 10:00"), Outbound, "b")},
			now:      tb("2026-03-21 12:00"), want: AtRisk, wantDue: tb("2026-03-22 10:00"), last: ix(0)},
		{name: "our own mails do not count", cm: si, start: tb("2026-01-01 00:00"),
			contacts: []Contact{mail(tb("2026-03-15 10:00"), Outbound, "b")}, now: tb("2026-03-21 12:00"),
			want: Slipped, wantDue: tb("2026-01-31 00:00"), last: noRef},
		{name: "a meeting counts", cm: si, contacts: []Contact{meeting(tb("2026-03-10 10:00"), time.Hour, "m")},
			now: tb("2026-03-21 12:00"), want: OK, wantDue: tb("2026-04-09 10:00"), last: ix(0)},
	})
}

func TestStaleSourcesMakeStatesUnknown(t *testing.T) {
	in0 := mail(tb("2026-03-06 15:00"), Inbound, "Question")
	m0 := meeting(tb("2026-03-02 10:00"), time.Hour, "Kickoff")
	mon := tb("2026-03-09 15:00")
	runRuleCases(t, []ruleCase{
		{name: "stale mail makes reply unknown", cm: Commitment{Type: ReplyType, Within: sp("1bd")},
			contacts: []Contact{in0}, now: mon, stale: Stale{{Name: "imap:x", Kind: Email}}, want: Unknown, wantDue: mon},
		{name: "stale calendars do not affect reply", cm: Commitment{Type: ReplyType, Within: sp("1bd")},
			contacts: []Contact{in0}, now: mon, stale: Stale{{Name: "caldav:x", Kind: Meeting}}, want: Slipped, wantDue: mon},
		{name: "stale mail does not affect a meeting cadence", cm: Commitment{Type: CadenceType, Kind: Meeting, Every: sp("2w")},
			contacts: []Contact{m0}, now: tb("2026-03-03 10:00"), stale: Stale{{Name: "imap:x", Kind: Email}}, want: OK, wantDue: tb("2026-03-16 10:00")},
		{name: "stale calendars make next_meeting unknown", cm: Commitment{Type: NextMeetingType, Within: sp("30d")},
			contacts: []Contact{m0}, now: tb("2026-03-03 10:00"), stale: Stale{{Name: "caldav:x", Kind: Meeting}}, want: Unknown, wantDue: tb("2026-03-02 11:00")},
		{name: "stale mail makes follow_up unknown", cm: Commitment{Type: FollowUpType, Within: sp("2bd")},
			contacts: []Contact{m0}, now: tb("2026-03-10 10:00"), stale: Stale{{Name: "imap:x", Kind: Email}}, want: Unknown, wantDue: tb("2026-03-04 11:00")},
		{name: "any kind needs both", cm: Commitment{Type: CadenceType, Every: sp("1w")},
			contacts: []Contact{m0}, now: tb("2026-03-03 10:00"), stale: Stale{{Name: "caldav:x", Kind: Meeting}}, want: Unknown, wantDue: tb("2026-03-09 10:00")},
	})
}
