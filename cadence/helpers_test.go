package cadence

import (
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"
)

var (
	berlin  = mustLocation("Europe/Berlin")
	newYork = mustLocation("America/New_York")
)

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// tb parses "2006-01-02 15:04" in Berlin, the zone of most test customers.
func tb(s string) time.Time { return tin(berlin, s) }

func tin(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func sp(s string) Span {
	v, err := ParseSpan(s)
	if err != nil {
		panic(err)
	}
	return v
}

var keySeq atomic.Int64

func nextKey(prefix string) string { return fmt.Sprintf("%s%d@test", prefix, keySeq.Add(1)) }

// mail is a counted mail contact; people default to bob at the customer.
func mail(at time.Time, dir Direction, subject string, people ...string) Contact {
	if len(people) == 0 {
		people = []string{"bob@acme.com"}
	}
	return Contact{At: at, Key: nextKey("mid:"), Kind: Email, Direction: dir, Subject: subject, People: people}
}

// reply is an outbound mail in the thread of in.
func replyTo(at time.Time, in Contact) Contact {
	c := mail(at, Outbound, "Re: "+in.Subject, in.People...)
	c.Thread = []string{in.MessageID()}
	return c
}

func meeting(start time.Time, length time.Duration, subject string, people ...string) Contact {
	if len(people) == 0 {
		people = []string{"bob@acme.com"}
	}
	return Contact{At: start, End: start.Add(length), Key: nextKey("ev:"), Kind: Meeting, Direction: Outbound,
		Subject: subject, People: people}
}

func customer(loc *time.Location, cms ...Commitment) Customer {
	return Customer{ID: "acme", Name: "ACME Corp", Domains: []string{"acme.com"}, Owner: "alice",
		Location: loc, Commitments: cms}
}

var defaultAlerting = Alerting{RepeatInterval: 24 * time.Hour, AtRiskBefore: 24 * time.Hour}

// evalOne evaluates one commitment of the test customer.
func evalOne(t *testing.T, c Customer, start, now time.Time, contacts []Contact, stale Stale) CommitmentState {
	t.Helper()
	res := Evaluate(Input{Now: now, HistoryStart: start, Customers: []Customer{c},
		History: NewHistory(map[string][]Contact{c.ID: contacts}), Stale: stale, Alerting: defaultAlerting})
	if len(res.Customers) != 1 || len(res.Customers[0].Commitments) != 1 {
		t.Fatalf("got %d customers; want one with one commitment", len(res.Customers))
	}
	return res.Customers[0].Commitments[0]
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }
