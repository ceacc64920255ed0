package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // the scenario's zones must resolve on any machine
)

// The team of Northwind Consulting and the people at its customers.
var (
	anna  = person{name: "Anna Lindqvist", addr: "anna@northwind.test"}
	ben   = person{name: "Ben Okafor", addr: "ben@northwind.test"}
	notes = person{name: "Northwind Notes", addr: "notes@northwind.test"}

	maria    = person{name: "Maria Schäfer", addr: "maria.schaefer@contoso.test"}
	jonas    = person{name: "Jonas Weber", addr: "jonas.weber@contoso.test"}
	helpdesk = person{name: "Contoso Helpdesk", addr: "helpdesk@contoso.test"}

	priya   = person{name: "Priya Natarajan", addr: "priya@litware.test"}
	tom     = person{name: "Tom Becker", addr: "tom.becker@emea.litware.test"}
	dmiller = person{name: "Dana Miller", addr: "d.miller@litware.test"}

	chloe = person{name: "Chloé Dubois", addr: "chloe.dubois@tailspin.test"}
	raj   = person{name: "Raj Patel", addr: "raj.patel@tailspin.test"}

	kenji     = person{name: "Kenji Yamamoto", addr: "kenji@adatum.test"}
	kenjiHome = person{name: "Kenji Yamamoto", addr: "kenji.y@freemail.test"}

	sofia = person{name: "Sofia Rossi", addr: "sofia.rossi@wingtip.test"}
	lukas = person{name: "Lukas Brenner", addr: "l.brenner@wingtip.test"}

	juergen = person{name: "Jürgen Groß", addr: "j.gross@fabrikam.test", latin1: true}
)

// teamZone is Northwind's zone; senders' Date headers use their own zones.
const teamZone = "Europe/Berlin"

var senderZones = map[string]string{
	"northwind.test": teamZone, "contoso.test": "Europe/London",
	"litware.test": "America/New_York", "emea.litware.test": "Europe/London",
	"mx.litware.test": "America/New_York", "tailspin.test": "Europe/Paris",
	"adatum.test": "America/Chicago", "freemail.test": "America/Chicago",
	"wingtip.test": "Europe/Zurich", "fabrikam.test": "Europe/Vienna",
}

// Scenario builds the demo history as seen at now: six months of mail and
// meetings between Northwind Consulting (anna@ and ben@northwind.test) and
// six customers, ending in a known set of alerts (History.Expected).
// The same now always gives the same History.
//
// Every time is placed relative to now so that each commitment's due time
// stays at least a day away from the state boundaries (now, and now plus
// the configured at_risk_before of 3d) whatever the weekday or month.
func Scenario(now time.Time) *History {
	loc := mustZone(teamZone)
	g := &gen{now: now, loc: loc, rnd: rand.New(rand.NewPCG(7, 2026))}
	g.h = &History{
		Now:             now,
		Timezone:        teamZone,
		InternalDomains: []string{"northwind.test"},
		Accounts: []Account{
			{Name: "anna", Email: anna.addr, FullName: anna.name},
			{Name: "ben", Email: ben.addr, FullName: ben.name},
		},
		Policies: policies(),
		Tiers:    map[string][]string{"retainer": {"customer-pulse"}},
		Defaults: []string{"reply"},
	}
	g.contoso()
	g.litware()
	g.tailspin()
	g.adatum()
	g.wingtip()
	g.fabrikam()
	g.newsletters()
	g.internal()
	sort.SliceStable(g.h.Mails, func(i, j int) bool { return g.h.Mails[i].Date.Before(g.h.Mails[j].Date) })
	sort.Slice(g.h.Expected, func(i, j int) bool {
		a, b := g.h.Expected[i], g.h.Expected[j]
		return a.Customer < b.Customer || a.Customer == b.Customer && a.Commitment < b.Commitment
	})
	g.h.Customers = customers()
	return g.h
}

func policies() []Policy {
	return []Policy{
		{Name: "weekly-status", Type: "cadence", Kind: "email", Direction: "outbound", Subject: "^Status week", Per: "week"},
		{Name: "monthly-report", Type: "cadence", Kind: "email", Direction: "outbound", Subject: "^Monthly report", Every: "1mo"},
		{Name: "biweekly-contact", Type: "cadence", Kind: "any", Direction: "any", Every: "2w"},
		{Name: "sales-touch", Type: "cadence", Kind: "any", Direction: "outbound", Every: "1mo"},
		{Name: "reply", Type: "reply", Within: "1bd"},
		{Name: "next-meeting", Type: "next_meeting", Within: "3w"},
		{Name: "follow-up", Type: "follow_up", Within: "1bd"},
		{Name: "customer-pulse", Type: "silence", Within: "4w"},
	}
}

func customers() []Customer {
	return []Customer{
		{ID: "contoso", Name: "Contoso Ltd", Domains: []string{"contoso.test"}, Exclude: []string{helpdesk.addr},
			Owner: anna.addr, Tier: "retainer", Commitments: []string{"weekly-status"},
			Story: "weekly status mail every week, questions answered the same day: on track"},
		{ID: "litware", Name: "Litware, Inc.", Domains: []string{"litware.test"}, Owner: ben.addr,
			Timezone: "America/New_York", Commitments: []string{"monthly-report"},
			Story: "a monthly report for five months, then none for six weeks: the report slipped"},
		{ID: "tailspin", Name: "Tailspin Toys", Domains: []string{"tailspin.test"}, Owner: anna.addr,
			Commitments: []string{"next-meeting", "follow-up"},
			Story:       "biweekly sync always followed up, next one booked; but Chloé's invoice question is unanswered"},
		{ID: "adatum", Name: "Adatum Corporation", Domains: []string{"adatum.test"}, Contacts: []string{kenjiHome.addr},
			Owner: ben.addr, Commitments: []string{"biweekly-contact"},
			Story: "in touch every ten days or so; the last contact was twelve days ago: at risk"},
		{ID: "wingtip", Name: "Wingtip Partners", Domains: []string{"wingtip.test"}, Owner: anna.addr,
			Tier: "retainer", Commitments: []string{"biweekly-contact"},
			Story: "weekly calls, then every other week, then silence for seven weeks: going cold"},
		{ID: "fabrikam", Name: "Fabrikam GmbH", Domains: []string{"fabrikam.test"}, Owner: ben.addr,
			Commitments: []string{"sales-touch"},
			Story:       "one discovery call five months ago; since then only newsletters, which never count"},
	}
}

// gen carries the state of one Scenario run.
type gen struct {
	now time.Time
	loc *time.Location
	rnd *rand.Rand
	seq int
	h   *History
}

// day is local midnight offset days from now's date.
func (g *gen) day(offset int) time.Time {
	y, m, d := g.now.In(g.loc).Date()
	return time.Date(y, m, d+offset, 0, 0, 0, 0, g.loc)
}

// jitter is a random offset below maxMinutes, so times don't look machine-made.
func (g *gen) jitter(maxMinutes int) time.Duration {
	return time.Duration(g.rnd.IntN(maxMinutes)) * time.Minute
}

// past reports whether t is safely before now.
func (g *gen) past(t time.Time) bool { return !t.After(g.now.Add(-30 * time.Minute)) }

// mail starts a message from `from` at t, shown in the sender's zone.
func (g *gen) mail(from person, to, cc []person, subject string, t time.Time, body string) *message {
	return &message{id: g.newID(from, t), from: from, to: to, cc: cc, subject: subject,
		date: t.In(zoneOf(from)), body: body}
}

// answer is from's reply to m's sender at t, in m's thread.
func (g *gen) answer(m *message, from person, t time.Time, body string) *message {
	r := m.reply(from, []person{m.from}, t.In(zoneOf(from)), body)
	r.id = g.newID(from, t)
	return r
}

// newID makes a Message-ID the way mail servers do: time, counter, host.
func (g *gen) newID(from person, t time.Time) string {
	g.seq++
	local, _, _ := strings.Cut(from.addr, "@")
	return fmt.Sprintf("%s.%04d.%s@mail.%s", t.UTC().Format("20060102T150405"), g.seq, local, from.domain())
}

// exchange delivers an inbound mail and our answer to it.
func (g *gen) exchange(in, out *message) {
	in.answered = true
	g.deliver(in)
	g.deliver(out)
}

// deliver renders m and files a copy in each team mailbox that holds it:
// the sender's Sent folder and each team recipient's INBOX.
func (g *gen) deliver(m *message) {
	raw := m.render()
	add := func(owner, folder string) {
		g.h.Mails = append(g.h.Mails, Mail{Owner: owner, Folder: folder, MessageID: m.id,
			Subject: m.subject, Date: m.date, Flags: m.flags(folder), Raw: raw})
	}
	sentBy := ""
	switch {
	case m.sender != nil:
		sentBy = m.sender.addr
	case isAccount(m.from.addr):
		sentBy = m.from.addr
	}
	if sentBy != "" {
		add(sentBy, Sent)
	}
	seen := map[string]bool{sentBy: true}
	for _, p := range append(append([]person(nil), m.to...), m.cc...) {
		owner := p.addr
		if owner == notes.addr {
			owner = ben.addr // Ben runs the newsletter; its replies land with him
		}
		if isAccount(owner) && !seen[owner] {
			seen[owner] = true
			add(owner, Inbox)
		}
	}
}

func isAccount(addr string) bool { return addr == anna.addr || addr == ben.addr }

// event files a calendar object on each listed account's calendar.
func (g *gen) event(owners []person, evs ...vevent) {
	for i := range evs {
		if evs[i].stamp.IsZero() {
			evs[i].stamp = evs[0].start.Add(-10 * 24 * time.Hour)
		}
	}
	ics := renderICS("-//Northwind Consulting//Touchbase demo//EN", evs)
	for _, o := range owners {
		g.h.Events = append(g.h.Events, Event{Owner: o.addr, UID: evs[0].uid, ICS: ics})
	}
}

// uid makes an event UID from a slug and its first start.
func uid(slug string, t time.Time) string {
	return slug + "-" + t.UTC().Format("20060102") + "@northwind.test"
}

func zoneOf(p person) *time.Location {
	if z, ok := senderZones[p.domain()]; ok {
		return mustZone(z)
	}
	return time.UTC
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("load zone %s: %v", name, err)) // embedded tzdata: cannot happen
	}
	return loc
}

// at is the given local wall time on day's date.
func at(day time.Time, hh, mm int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, hh, mm, 0, 0, day.Location())
}

// dayOf is local midnight of t's date.
func dayOf(t time.Time) time.Time { return at(t, 0, 0) }

func isWeekend(d time.Time) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

func weekdayOnOrBefore(d time.Time) time.Time {
	for isWeekend(d) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

func weekdayOnOrAfter(d time.Time) time.Time {
	for isWeekend(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func nextWeekday(d time.Time) time.Time { return weekdayOnOrAfter(dayOf(d).AddDate(0, 0, 1)) }

// businessDaysBefore steps back n weekdays from d's date.
func businessDaysBefore(d time.Time, n int) time.Time {
	d = dayOf(d)
	for n > 0 {
		d = d.AddDate(0, 0, -1)
		if !isWeekend(d) {
			n--
		}
	}
	return d
}

// daytime moves t by at most six hours into 06:00–19:00 local time, so a
// time computed from now still reads like a time someone writes mail.
func daytime(t time.Time) time.Time {
	switch h := t.Hour(); {
	case h >= 19:
		return at(t, 18, t.Minute())
	case h >= 1 && h < 6:
		return at(t, 6, t.Minute())
	case h < 1:
		return at(dayOf(t).AddDate(0, 0, -1), 18, t.Minute())
	}
	return t
}
