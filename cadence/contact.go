package cadence

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Contact is one counted interaction as it concerns one customer: what the
// evaluation needs and nothing else, so that millions fit in memory. A
// meeting whose At is after the evaluation time is planned, not contact.
type Contact struct {
	At        time.Time
	End       time.Time // meetings; zero for mail
	Key       string    // the interaction's natural key
	Kind      Kind
	Direction Direction // Outbound, Inbound, or "" when a third party sent it
	Subject   string
	Thread    []string // mail: In-Reply-To and References (Message-IDs), for reply matching
	People    []string // the customer's people on it, normalised and sorted
}

// MessageID returns the mail's Message-ID, or "" for a meeting or a mail
// keyed on a header digest.
func (c Contact) MessageID() string {
	id, ok := strings.CutPrefix(c.Key, "mid:")
	if !ok {
		return ""
	}
	return id
}

// Until is when the interaction ended: a meeting's end (its start when the
// end is unknown), a mail's time.
func (c Contact) Until() time.Time {
	if c.End.After(c.At) {
		return c.End
	}
	return c.At
}

// touches reports whether any of people is on the contact. Both lists are
// sorted.
func (c Contact) touches(people []string) bool {
	i, j := 0, 0
	for i < len(c.People) && j < len(people) {
		switch strings.Compare(c.People[i], people[j]) {
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

// compareContacts orders contacts by time, then key: a total order, so
// that evaluation does not depend on the order of its input.
func compareContacts(a, b Contact) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}

// SortContacts sorts contacts in the order Evaluate expects.
func SortContacts(cs []Contact) { slices.SortFunc(cs, compareContacts) }

// Group classifies interactions and returns, by customer ID, the contacts
// that count, sorted. Interactions that do not count are dropped; filtered
// counts the dropped ones by reason (for `touchbase status`) and may be nil.
func (d *Directory) Group(ins []Interaction, filtered map[Filter]int) map[string][]Contact {
	out := make(map[string][]Contact, len(d.customers))
	for _, in := range ins {
		cl := d.Classify(in)
		if cl.Filter != Counts {
			if filtered != nil {
				filtered[cl.Filter]++
			}
			continue
		}
		thread := threadOf(in)
		for _, t := range cl.Touches {
			id := d.customers[t.Customer].ID
			out[id] = append(out[id], Contact{
				At: in.At, End: in.End, Key: in.Key, Kind: in.Kind, Direction: cl.Direction,
				Subject: in.Subject, Thread: thread, People: t.People,
			})
		}
	}
	for _, cs := range out {
		SortContacts(cs)
	}
	return out
}

// threadOf returns the Message-IDs a mail answers: its References, plus
// In-Reply-To when References lacks it. It shares in.References when it can.
func threadOf(in Interaction) []string {
	if in.Kind != Email {
		return nil
	}
	if in.InReplyTo == "" || slices.Contains(in.References, in.InReplyTo) {
		return in.References
	}
	return append(slices.Clip(in.References), in.InReplyTo)
}
