package cadence

import (
	"testing"
	"time"
)

// TestCustomerStateAndNextDue: a customer's state is its worst
// commitment's (slipped > unknown > at_risk > ok, none without any), and
// its next due time skips what is slipped or already met, and the
// earliest slipped due time says since when it is overdue.
func TestCustomerStateAndNextDue(t *testing.T) {
	weekly := Commitment{Name: "weekly", Type: CadenceType, Kind: Email, Subject: re("Status"), Every: sp("1w")}
	reply := Commitment{Name: "reply", Type: ReplyType, Within: sp("1bd")}
	prepare := Commitment{Name: "prepare", Type: PrepareType, Before: sp("3d")}
	nextMeeting := Commitment{Name: "next", Type: NextMeetingType, Within: sp("30d")}
	now := tb("2026-03-09 12:00")
	contacts := []Contact{
		mail(tb("2026-03-05 10:00"), Outbound, "Status"),                 // weekly due 03-12 10:00, ok
		mail(tb("2026-03-06 09:00"), Outbound, "Agenda", "bob@acme.com"), // prepare met
		mail(tb("2026-03-06 15:00"), Inbound, "Question"),                // reply due 03-09 15:00, at risk
		meeting(tb("2026-03-11 10:00"), time.Hour, "Review"),             // prepare due 03-08 10:00, met
	}
	tests := []struct {
		name    string
		cms     []Commitment
		stale   Stale
		want    State
		nextDue time.Time
		overdue time.Time // OverdueSince
	}{
		{name: "no commitments", want: None},
		{name: "ok", cms: []Commitment{weekly}, want: OK, nextDue: tb("2026-03-12 10:00")},
		{name: "at risk is worse than ok; its due is next", cms: []Commitment{weekly, reply}, want: AtRisk, nextDue: tb("2026-03-09 15:00")},
		{name: "a met commitment's due is not next", cms: []Commitment{weekly, prepare}, want: OK, nextDue: tb("2026-03-12 10:00")},
		{name: "unknown is worse than at risk", cms: []Commitment{weekly, reply, nextMeeting}, stale: Stale{{Name: "imap:x", Kind: Email}}, want: Unknown},
		{name: "slipped is worst", cms: []Commitment{{Name: "daily", Type: CadenceType, Kind: Email, Every: sp("1d")}, reply},
			stale: Stale{{Name: "caldav:x", Kind: Meeting}}, want: Slipped, nextDue: tb("2026-03-09 15:00"),
			overdue: tb("2026-03-07 15:00")}, // a day after the last mail
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := customer(berlin, tc.cms...)
			res := Evaluate(Input{Now: now, HistoryStart: tb("2025-06-01 00:00"), Customers: []Customer{c},
				History: NewHistory(map[string][]Contact{c.ID: contacts}), Stale: tc.stale, Alerting: defaultAlerting})
			got := res.Customers[0]
			if got.State != tc.want || !got.NextDueAt.Equal(tc.nextDue) {
				t.Errorf("state %s, next due %v; want %s, %v", got.State, got.NextDueAt, tc.want, tc.nextDue)
			}
			if !got.OverdueSince.Equal(tc.overdue) {
				t.Errorf("overdue since %v, want %v", got.OverdueSince, tc.overdue)
			}
		})
	}
}
