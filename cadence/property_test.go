package cadence

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var (
	propZones    = []*time.Location{berlin, newYork, mustLocation("Asia/Tokyo"), time.UTC}
	propPeople   = []string{"ann@acme.com", "bob@acme.com", "cid@acme.com", "dee@acme.com"}
	propSubjects = []string{"Status week 12", "Monthly report March", "Question", "Re: Question", "Lunch", "status update"}
)

// gen builds random but reproducible inputs.
type gen struct {
	r     *rand.Rand
	start time.Time
	now   time.Time
}

func newGen(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, 42))
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(time.Duration(60+r.IntN(300)) * day).Add(time.Duration(r.IntN(86400)) * time.Second)
	return &gen{r: r, start: start, now: now}
}

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.r.Int64N(int64(b.Sub(a)))))
}

func (g *gen) people() []string {
	var out []string
	for _, p := range propPeople {
		if g.r.IntN(3) == 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{g.pick(propPeople)}
	}
	return out
}

func (g *gen) contact(i int, from, to time.Time) Contact {
	at := g.between(from, to).Truncate(time.Minute)
	c := Contact{At: at, Key: fmt.Sprintf("mid:%d-%d@gen", i, g.r.IntN(1e6)), Kind: Email, Subject: g.pick(propSubjects), People: g.people()}
	switch g.r.IntN(5) {
	case 0:
		c.Kind, c.Key, c.End, c.Direction = Meeting, "ev:"+c.Key[4:], at.Add(time.Duration(30+g.r.IntN(90))*time.Minute), Outbound
	case 1, 2:
		c.Direction = Inbound
	default:
		c.Direction = Outbound
	}
	return c
}

func (g *gen) commitments() []Commitment {
	spans := []string{"1w", "2w", "3d", "1mo", "36h", "2bd"}
	periods := []Period{PerWeek, PerMonth, PerQtr}
	kinds := []Kind{"", Email, Meeting}
	dirs := []Direction{"", Outbound, Inbound, Any}
	subjects := []string{"", `(?i)status`, `report`}
	var cms []Commitment
	for i, typ := range []PolicyType{CadenceType, CadenceType, ReplyType, NextMeetingType, FollowUpType, PrepareType, BreadthType, SilenceType} {
		cm := Commitment{Name: fmt.Sprintf("%s-%d", typ, i), Type: typ, Grace: sp([]string{"0", "1d", "4h", "1bd"}[g.r.IntN(4)]),
			Within: sp(g.pick(spans)), Before: sp("3d"), MinContacts: 1 + g.r.IntN(3), Window: sp("90d"), Min: 1 + g.r.IntN(2)}
		if typ == CadenceType {
			cm.Kind, cm.Direction = kinds[g.r.IntN(3)], dirs[g.r.IntN(4)]
			if s := g.pick(subjects); s != "" {
				cm.Subject = re(s)
			}
			if i == 0 {
				cm.Every = sp(g.pick(spans))
			} else {
				cm.Per = periods[g.r.IntN(len(periods))]
			}
		}
		cms = append(cms, cm)
	}
	return cms
}

// input builds customers with contacts, silences, staleness and the open
// alerts of an earlier evaluation; it returns the contacts too.
func (g *gen) input() (Input, map[string][]Contact) {
	contacts := map[string][]Contact{}
	in := Input{Now: g.now, HistoryStart: g.start,
		Alerting: Alerting{RepeatInterval: time.Duration(g.r.IntN(3)) * 12 * time.Hour, AtRiskBefore: day}}
	for i := range 4 + g.r.IntN(3) {
		c := Customer{ID: fmt.Sprintf("c%02d", i), Name: fmt.Sprintf("Customer %d", i), Location: propZones[g.r.IntN(len(propZones))],
			Commitments: g.commitments()}
		in.Customers = append(in.Customers, c)
		var cs []Contact
		for j := range g.r.IntN(60) {
			cs = append(cs, g.contact(j, g.start, g.now.Add(40*day)))
		}
		contacts[c.ID] = cs
		if g.r.IntN(3) == 0 {
			s := Silence{ID: "s" + c.ID, CustomerID: c.ID, StartsAt: g.now.Add(-day), EndsAt: g.now.Add(time.Duration(g.r.IntN(3)-1) * day)}
			if g.r.IntN(2) == 0 {
				s.Commitment = c.Commitments[g.r.IntN(len(c.Commitments))].Name
			}
			in.Silences = append(in.Silences, s)
		}
	}
	in.History = NewHistory(contacts)
	earlier := in
	earlier.Now = g.now.Add(-time.Duration(g.r.IntN(72)) * time.Hour)
	in.Alerts = Evaluate(earlier).Changes
	in.Stale = nil
	if g.r.IntN(6) == 0 {
		in.Stale = append(in.Stale, StaleSource{Name: "imap:x", Kind: Email})
	}
	if g.r.IntN(6) == 0 {
		in.Stale = append(in.Stale, StaleSource{Name: "caldav:x", Kind: Meeting})
	}
	return in, contacts
}

const propRuns = 200

func TestPropertyDeterministic(t *testing.T) {
	for seed := range uint64(propRuns) {
		in, _ := newGen(seed).input()
		a, b := Evaluate(in), Evaluate(in)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two evaluations of the same input differ", seed)
		}
	}
}

// apply merges changes into the open alerts, as the store does.
func apply(alerts, changes []Alert) []Alert {
	byID := map[string]Alert{}
	for _, a := range alerts {
		byID[a.ID] = a
	}
	for _, a := range changes {
		byID[a.ID] = a
	}
	var out []Alert
	for _, id := range slices.Sorted(mapsKeys(byID)) {
		out = append(out, byID[id])
	}
	return out
}

func TestPropertyIdempotent(t *testing.T) {
	var events int
	for seed := range uint64(propRuns) {
		in, _ := newGen(seed).input()
		first := Evaluate(in)
		events += len(first.Events)
		in.Alerts = apply(in.Alerts, first.Changes)
		if second := Evaluate(in); len(second.Changes) != 0 || len(second.Events) != 0 {
			t.Fatalf("seed %d: second evaluation changed %d alerts and produced %d events; want none",
				seed, len(second.Changes), len(second.Events))
		}
	}
	if events == 0 {
		t.Fatal("the generator produced no events at all: the property was not exercised")
	}
}

func TestPropertyOrderIndependent(t *testing.T) {
	for seed := range uint64(propRuns) {
		g := newGen(seed)
		in, contacts := g.input()
		want := Evaluate(in)
		sh := in
		sh.Customers = slices.Clone(in.Customers)
		g.r.Shuffle(len(sh.Customers), func(i, j int) { sh.Customers[i], sh.Customers[j] = sh.Customers[j], sh.Customers[i] })
		shuffled := map[string][]Contact{}
		for id, cs := range contacts {
			cs = slices.Clone(cs)
			g.r.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
			shuffled[id] = cs
		}
		sh.History = NewHistory(shuffled)
		sh.Alerts = slices.Clone(in.Alerts)
		g.r.Shuffle(len(sh.Alerts), func(i, j int) { sh.Alerts[i], sh.Alerts[j] = sh.Alerts[j], sh.Alerts[i] })
		sh.Silences = slices.Clone(in.Silences)
		slices.Reverse(sh.Silences)
		if got := Evaluate(sh); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: shuffled input gives a different result", seed)
		}
	}
}

// satisfying returns a contact that matches cm, at a random time that can
// count for it.
func (g *gen) satisfying(cm Commitment, existing []Contact, now time.Time) Contact {
	c := g.contact(9999, g.start, now)
	switch cm.Type {
	case CadenceType:
		if cm.Kind != "" {
			c.Kind = cm.Kind
		}
		if cm.Direction == Inbound || cm.Direction == Outbound {
			c.Direction = cm.Direction
		}
		c.Subject = "Status report"
		if cm.Per != NoPeriod {
			// The SPEC counts `per` periods from the one holding the first
			// match, so a match before it opens earlier periods: the
			// property holds from the first match on.
			for _, e := range existing {
				if !e.At.After(now) && contactMatches(&cm, e) {
					c.At = g.between(e.At, now)
					break
				}
			}
		}
	case ReplyType, FollowUpType, PrepareType:
		c.Kind, c.Direction, c.People = Email, Outbound, slices.Clone(propPeople)
	case NextMeetingType:
		c = g.contact(9999, g.start, now.Add(60*day))
		c.Kind, c.End = Meeting, c.At.Add(time.Hour)
	case SilenceType:
		c.Kind, c.Direction = Email, Inbound
	}
	if c.Kind == Meeting && c.End.IsZero() {
		c.End = c.At.Add(time.Hour)
	}
	if c.Kind == Email {
		c.End = time.Time{}
	}
	return c
}

func TestPropertyMatchingInteractionNeverWorsens(t *testing.T) {
	var checked, improved int
	for seed := range uint64(propRuns) {
		g := newGen(seed)
		in, contacts := g.input()
		in.Stale = nil
		before := Evaluate(in)
		for _, cr := range before.Customers {
			for k, cs := range cr.Commitments {
				cm := *cs.Commitment
				existing := contacts[cr.Customer.ID]
				add := g.satisfying(cm, existing, in.Now)
				more := in
				plus := cloneContacts(contacts)
				plus[cr.Customer.ID] = append(slices.Clone(existing), add)
				more.History = NewHistory(plus)
				after := findCustomer(Evaluate(more), cr.Customer.ID).Commitments[k]
				checked++
				if after.State.Worse(cs.State) {
					t.Fatalf("seed %d: %s %s went from %s to %s after adding %+v", seed, cr.Customer.ID, cm.Name, cs.State, after.State, add)
				}
				if cs.State.Worse(after.State) {
					improved++
				}
			}
		}
	}
	if improved == 0 {
		t.Fatalf("no state improved in %d checks: the property was not exercised", checked)
	}
	t.Logf("%d commitments checked, %d improved", checked, improved)
}

// contactMatches is matches for a Contact.
func contactMatches(cm *Commitment, c Contact) bool {
	if cm.Kind != "" && c.Kind != cm.Kind {
		return false
	}
	if cm.Direction != "" && cm.Direction != Any && c.Direction != cm.Direction {
		return false
	}
	return cm.Subject == nil || cm.Subject.MatchString(c.Subject)
}

func cloneContacts(m map[string][]Contact) map[string][]Contact {
	out := make(map[string][]Contact, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func findCustomer(r Result, id string) CustomerResult {
	for _, c := range r.Customers {
		if c.Customer.ID == id {
			return c
		}
	}
	panic("no customer " + id)
}
