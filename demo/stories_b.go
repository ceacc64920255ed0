package demo

import (
	"fmt"
	"time"
)

// adatum: a sales relationship in touch every 7–13 days; the last contact,
// Ben's mail, was 12½ days ago (±6h, moved into daytime), so its two-week
// cadence is due in 1¼–1¾ days. Expected: biweekly-contact at risk (with
// at_risk_before 3d).
func (g *gen) adatum() {
	last := daytime(g.now.In(g.loc).Add(-(12*24 + 12) * time.Hour))
	t := last
	for i := 0; i < 14; i++ {
		d := weekdayOnOrBefore(dayOf(t).AddDate(0, 0, -(7 + g.rnd.IntN(5))))
		t = at(d, 10+g.rnd.IntN(6), g.rnd.IntN(60))
		switch {
		case i == 5:
			q := g.mail(kenjiHome, []person{ben}, nil, "Pilot numbers", t, "Ben, quick one from my phone: can you resend the pilot numbers?\n\nKenji")
			g.exchange(q, g.answer(q, ben, t.Add(40*time.Minute), "Sent to your work address.\n\nBen"))
		case i%2 == 0:
			q := g.mail(kenji, []person{ben}, nil, "Pilot scope", t, "Hi Ben,\n\ncan we add the EU warehouse to the pilot?\n\nKenji")
			g.exchange(q, g.answer(q, ben, t.Add(90*time.Minute), "Hi Kenji,\n\nyes, I'll send the updated plan.\n\nBen"))
		default:
			g.deliver(g.mail(ben, []person{kenji}, nil, "Pilot plan, week "+t.Format("2 Jan"), t,
				"Hi Kenji,\n\nupdated pilot plan attached.\n\nBen"))
		}
	}
	g.deliver(g.mail(ben, []person{kenji}, nil, "Pilot results and next steps", last,
		"Hi Kenji,\n\nthe pilot results are in, summary attached. Shall we talk about the rollout?\n\nBen"))
	for _, e := range []struct {
		slug, summary string
		off           int
	}{{"adatum-demo", "Adatum: product demo", -95}, {"adatum-pilot", "Adatum pilot kick-off", -45}} {
		d := weekdayOnOrBefore(g.day(e.off))
		s := time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, time.UTC) // a Google Calendar invite: UTC times
		g.event([]person{ben}, vevent{uid: uid(e.slug, s), summary: e.summary, start: s, end: s.Add(time.Hour),
			organizer: kenji, attendees: []attendee{{ben, "ACCEPTED"}, {kenji, "ACCEPTED"}}})
	}
	g.h.Expected = append(g.h.Expected, ExpectedAlert{Customer: "adatum", Commitment: "biweekly-contact", Type: AtRisk,
		Why: "the last contact was 12½ days ago; the next is due within two weeks of it"})
}

// wingtip: weekly calls and mails for three months, then mail every 12
// days, then nothing since seven weeks. A catch-up meeting three weeks ago
// was declined by everyone at Wingtip, and Sofia's out-of-office reply to
// a newsletter is automatic: neither counts. Expected: biweekly-contact
// and customer-pulse slipped.
func (g *gen) wingtip() {
	first := at(weekdayOnOrAfter(g.day(-182)), 15, 0)
	ppl := []attendee{{sofia, "ACCEPTED"}, {lukas, "ACCEPTED"}}
	g.event([]person{anna}, vevent{uid: uid("wingtip-weekly", first), summary: "Wingtip weekly call",
		start: first, end: first.Add(45 * time.Minute), tzid: teamZone, organizer: anna, attendees: ppl,
		rrule:      "FREQ=WEEKLY;UNTIL=" + at(g.day(-91), 0, 0).UTC().Format("20060102T150405Z"),
		exdates:    []time.Time{first.AddDate(0, 0, 7*4), first.AddDate(0, 0, 7*8)},
		exdateList: true})
	for w := 0; w < 13; w++ {
		t := at(nextWeekday(first.AddDate(0, 0, 7*w)), 10, 0).Add(g.jitter(50))
		q := g.mail(sofia, []person{anna}, []person{lukas}, "Open points after our call", t,
			"Hi Anna,\n\ntwo open points from yesterday, see below.\n\nSofia")
		g.exchange(q, g.answer(q, anna, t.Add(2*time.Hour), "Thanks Sofia, both are on our list for next week.\n\nAnna"))
	}
	for _, off := range []int{-86, -74, -62, -49} {
		t := at(weekdayOnOrBefore(g.day(off)), 10, 5)
		q := g.mail(sofia, []person{anna}, nil, "Roadmap questions", t, "Hi Anna,\n\na few questions on the Q3 roadmap.\n\nSofia")
		g.exchange(q, g.answer(q, anna, t.Add(135*time.Minute), "Hi Sofia,\n\nanswers inline.\n\nAnna"))
	}
	cu := at(weekdayOnOrAfter(g.day(-21)), 11, 0)
	g.event([]person{anna}, vevent{uid: uid("wingtip-catch-up", cu), summary: "Wingtip / Northwind: catch-up?",
		start: cu, end: cu.Add(30 * time.Minute), tzid: teamZone, organizer: anna,
		attendees: []attendee{{sofia, "DECLINED"}, {lukas, "DECLINED"}}})
	g.h.Expected = append(g.h.Expected,
		ExpectedAlert{Customer: "wingtip", Commitment: "biweekly-contact", Type: Slipped,
			Why: "no counted contact for seven weeks; one was due every two weeks"},
		ExpectedAlert{Customer: "wingtip", Commitment: "customer-pulse", Type: Slipped,
			Why: "Wingtip last wrote seven weeks ago; a sign of life was due every four weeks"})
}

// fabrikam: a prospect. An enquiry, a discovery call and a short exchange
// five months ago; since then Jürgen only gets the newsletter, which is
// bulk mail and never counts. Expected: sales-touch slipped.
func (g *gen) fabrikam() {
	q := g.mail(juergen, []person{ben}, nil, "Anfrage: Unterstützung bei der Prozessanalyse",
		at(weekdayOnOrBefore(g.day(-158)), 9, 15), "Guten Tag Herr Okafor,\n\nwir suchen Unterstuetzung bei einer Prozessanalyse.\n\nJuergen Gross")
	g.exchange(q, g.answer(q, ben, q.date.Add(2*time.Hour), "Dear Mr Gross,\n\nhappy to help. Would a call next week suit you?\n\nBen Okafor"))
	call := at(weekdayOnOrAfter(g.day(-150)), 10, 0).In(mustZone("Europe/Vienna"))
	g.event([]person{ben}, vevent{uid: uid("fabrikam-discovery", call), summary: "Fabrikam: discovery call",
		start: call, end: call.Add(45 * time.Minute), tzid: "Europe/Vienna", organizer: ben,
		attendees: []attendee{{juergen, "ACCEPTED"}}})
	fu := g.mail(ben, []person{juergen}, nil, "Thanks for the call: next steps", call.Add(4*time.Hour),
		"Dear Mr Gross,\n\nthank you for your time today. Our proposal follows this week.\n\nBen")
	g.deliver(fu)
	r := g.answer(fu, juergen, at(nextWeekday(call), 8, 50), "Danke, wir melden uns nach der Budgetrunde.\n\nJ. Gross")
	g.exchange(r, g.answer(r, ben, r.date.Add(time.Hour), "Sounds good, talk then.\n\nBen"))
	g.h.Expected = append(g.h.Expected, ExpectedAlert{Customer: "fabrikam", Commitment: "sales-touch", Type: Slipped,
		Why: "the last real outbound contact was five months ago; newsletters are bulk mail and never count"})
}

// newsletters: "Northwind Notes" every four weeks, mail-merged from Ben's
// account to one contact per customer, with List-Id and Precedence: bulk.
// The latest issue bounced for Dana, who left Litware, and an earlier one
// got Sofia's out-of-office reply.
func (g *gen) newsletters() {
	readers := []person{maria, priya, chloe, kenji, sofia, juergen, dmiller}
	topics := []string{"Cut-over without tears", "Reporting that gets read", "Five questions before a pilot",
		"What we learned from 40 migrations", "Meetings that end with a next step", "The cost of silence", "Data quality first"}
	for k := 6; k >= 0; k-- {
		t := at(weekdayOnOrBefore(g.day(-5-28*k)), 8, 0)
		subject := fmt.Sprintf("Northwind Notes #%d: %s", 40-k, topics[k])
		for i, p := range readers {
			m := &message{id: fmt.Sprintf("notes%d.%d.%s@lists.northwind.test", 40-k, i, t.UTC().Format("20060102")),
				from: notes, sender: &ben, to: []person{p}, subject: subject, date: t.Add(time.Duration(i) * 7 * time.Second),
				body: "This month: " + topics[k] + ".\n\nUnsubscribe: reply with 'unsubscribe'.",
				extra: [][2]string{{"List-Id", "Northwind Notes <notes.northwind.test>"},
					{"List-Unsubscribe", "<mailto:notes-unsubscribe@northwind.test>"}, {"Precedence", "bulk"}}}
			g.deliver(m)
			switch {
			case k == 0 && p == dmiller:
				g.bounce(m)
			case k == 1 && p == sofia:
				oo := g.answer(m, sofia, t.Add(2*time.Minute), "Ich bin bis Ende des Monats nicht im Büro.\nI am out of office until the end of the month.")
				oo.subject = "Automatische Antwort: " + subject
				oo.to = []person{notes}
				oo.extra = [][2]string{{"Auto-Submitted", "auto-replied"}, {"X-Autoreply", "yes"}, {"X-Auto-Response-Suppress", "All"}}
				g.deliver(oo)
			}
		}
	}
}

// bounce delivers the mail server's non-delivery report for m.
func (g *gen) bounce(m *message) {
	daemon := person{name: "Mail Delivery System", addr: "MAILER-DAEMON@mx.litware.test"}
	b := g.mail(daemon, []person{notes}, nil, "Undelivered Mail Returned to Sender", m.date.Add(3*time.Minute), "")
	b.ctype, b.rawBody = bounceBody(m, "mx.litware.test", "bnd."+b.id)
	b.extra = [][2]string{{"Auto-Submitted", "auto-replied"}}
	g.deliver(b)
}

// internal: mail between Anna and Ben only; it never counts.
func (g *gen) internal() {
	for i, off := range []int{-150, -100, -60, -30, -8} {
		subjects := []string{"Pipeline review", "Staffing for Q3", "Contoso cut-over plan", "Holiday calendar", "Wingtip: should we call?"}
		q := g.mail(anna, []person{ben}, nil, subjects[i], at(weekdayOnOrBefore(g.day(off)), 17, 40), "Ben, thoughts? Anna")
		g.deliver(q)
		g.deliver(g.answer(q, ben, q.date.Add(50*time.Minute), "Let's discuss on Monday. Ben"))
	}
	mon := at(weekdayOnOrAfter(g.day(-182)), 9, 0)
	for mon.Weekday() != time.Monday {
		mon = at(mon.AddDate(0, 0, 1), 9, 0)
	}
	g.event([]person{anna, ben}, vevent{uid: uid("northwind-weekly", mon), summary: "Northwind weekly",
		start: mon, end: mon.Add(30 * time.Minute), tzid: teamZone, rrule: "FREQ=WEEKLY;BYDAY=MO",
		organizer: anna, attendees: []attendee{{ben, "ACCEPTED"}}})
}

// Newsletter is a further "Northwind Notes" issue sent at t from Ben's
// account to Maria, with List-Id and Precedence: bulk. It changes the
// store (it is stored, filtered as list mail) but never counts, so no
// commitment's state may change when it arrives: tests use it to make the
// daemon sync and evaluate again. seq makes each call's Message-ID unique.
func (h *History) Newsletter(t time.Time, seq int) Mail {
	subject := fmt.Sprintf("Northwind Notes #%d: What changed this week", 41+seq)
	m := &message{id: fmt.Sprintf("notes%d.%s@lists.northwind.test", 41+seq, t.UTC().Format("20060102T150405")),
		from: notes, sender: &ben, to: []person{maria}, subject: subject, date: t.In(mustZone(teamZone)),
		body: "This week: what changed.\n\nUnsubscribe: reply with 'unsubscribe'.",
		extra: [][2]string{{"List-Id", "Northwind Notes <notes.northwind.test>"},
			{"List-Unsubscribe", "<mailto:notes-unsubscribe@northwind.test>"}, {"Precedence", "bulk"}}}
	return Mail{Owner: ben.addr, Folder: Sent, MessageID: m.id, Subject: m.subject, Date: m.date,
		Flags: m.flags(Sent), Raw: m.render()}
}
