package demo

import (
	"fmt"
	"time"
)

// contoso: a weekly status mail to Maria, every week on the same weekday,
// the latest one to three days ago; Maria answers every other one and Anna
// replies within hours. Contoso's helpdesk (excluded) mails ticket updates
// nobody answers. Expected: nothing fires.
func (g *gen) contoso() {
	a0 := at(weekdayOnOrBefore(g.day(-1)), 16, 30)
	for k := 25; k >= 0; k-- {
		t := a0.AddDate(0, 0, -7*k).Add(g.jitter(20))
		_, week := t.ISOWeek()
		st := g.mail(anna, []person{maria}, []person{jonas}, fmt.Sprintf("Status week %02d", week), t,
			fmt.Sprintf("Hi Maria,\n\nthis week: migration batch %d done, %d open items, no blockers.\nNext week: cut-over rehearsal.\n\nBest,\nAnna", 26-k, 3+k%4))
		g.deliver(st)
		if k%2 != 0 {
			continue
		}
		r := at(nextWeekday(t), 9, 10).Add(g.jitter(40))
		in := g.answer(st, maria, r, "Thanks Anna. Can we move the rehearsal to Thursday?\n\nMaria")
		in.to, in.cc = []person{anna}, []person{jonas}
		out := g.answer(in, anna, r.Add(90*time.Minute+g.jitter(30)), "Thursday works, I'll update the plan.\n\nAnna")
		if g.past(out.date) {
			g.exchange(in, out)
		}
	}
	for _, off := range []int{-160, -118, -75, -33} {
		q := g.mail(jonas, []person{anna}, nil, "Question about the data migration",
			at(weekdayOnOrBefore(g.day(off)), 11, 20).Add(g.jitter(30)),
			"Hi Anna,\n\nare archived orders part of the migration scope?\n\nJonas")
		a := g.answer(q, anna, q.date.Add(2*time.Hour), "Hi Jonas,\n\nyes, the last three years. Ben has the details.\n\nAnna")
		a.cc = []person{ben}
		g.exchange(q, a)
	}
	for i, off := range []int{-60, -20, -2} {
		g.deliver(g.mail(helpdesk, []person{anna}, nil, fmt.Sprintf("[Ticket #%d] Status changed: in progress", 48213+i*57),
			at(weekdayOnOrBefore(g.day(off)), 7, 45), "Your ticket was updated. Do not reply to this message."))
	}

	team := []attendee{{maria, "ACCEPTED"}, {jonas, "ACCEPTED"}, {ben, "ACCEPTED"}}
	kick := at(weekdayOnOrAfter(g.day(-182)), 10, 0)
	g.event([]person{anna, ben}, vevent{uid: uid("contoso-kickoff", kick), summary: "Contoso migration kick-off",
		location: "Contoso, London office", start: kick, end: kick.Add(2 * time.Hour), tzid: teamZone,
		organizer: anna, attendees: team})
	ws := weekdayOnOrAfter(g.day(-120))
	g.event([]person{anna}, vevent{uid: uid("contoso-workshop", ws), summary: "Contoso: process workshop (on site)",
		start: ws, end: ws.AddDate(0, 0, 1), allDay: true, organizer: anna, attendees: team[:2]})
	for _, off := range []int{-91, 36} {
		qbr := at(weekdayOnOrAfter(g.day(off)), 14, 0)
		g.event([]person{anna}, vevent{uid: uid("contoso-qbr", qbr), summary: "Contoso quarterly business review",
			start: qbr, end: qbr.Add(90 * time.Minute), tzid: teamZone, organizer: anna, attendees: team[:2]})
	}
	gng := at(weekdayOnOrAfter(g.day(10)), 11, 0)
	g.event([]person{anna}, vevent{uid: uid("contoso-go-no-go", gng), summary: "Contoso: cut-over go/no-go",
		start: gng, end: gng.Add(45 * time.Minute), tzid: teamZone, organizer: anna, attendees: team[:2]})
}

// litware: a monthly report, each a little less than a month after the
// one before (so none was ever late), the last one six weeks ago (40–44
// days, so its due time, a month later, is 9–16 days past). Expected:
// monthly-report slipped. A bounce from Litware's mail server must not
// count as a message waiting for a reply.
func (g *gen) litware() {
	sent := []time.Time{at(weekdayOnOrBefore(g.day(-42)), 11, 0)}
	for k := 1; k <= 5; k++ {
		sent = append(sent, at(weekdayOnOrBefore(monthBefore(sent[k-1]).AddDate(0, 0, 3)), 11, 0))
	}
	base := dayOf(sent[0]).AddDate(0, 0, -10)
	base = time.Date(base.Year(), base.Month(), 1, 0, 0, 0, 0, g.loc)
	for k := 5; k >= 0; k-- {
		t := sent[k].Add(g.jitter(25))
		month := base.AddDate(0, -k, 0).Month()
		rep := g.mail(ben, []person{priya}, []person{tom}, fmt.Sprintf("Monthly report %s", month), t,
			fmt.Sprintf("Hi Priya,\n\nattached the report for %s: throughput up, two incidents, both closed.\n\nBen", month))
		g.deliver(rep)
		var in *message
		switch {
		case k%2 == 1:
			in = g.answer(rep, priya, at(nextWeekday(t), 16, 5).Add(g.jitter(20)), "Thanks Ben, looks good. Any update on the SLA draft?\n\nPriya")
		case k == 0:
			in = g.answer(rep, tom, at(nextWeekday(t), 15, 30).Add(g.jitter(20)), "Ben, one question on the incident timeline, page 4.\n\nTom")
		default:
			continue
		}
		g.exchange(in, g.answer(in, ben, in.date.Add(2*time.Hour), "Good point, corrected version follows.\n\nBen"))
	}
	g.h.Expected = append(g.h.Expected, ExpectedAlert{Customer: "litware", Commitment: "monthly-report", Type: Slipped,
		Why: "the last monthly report went out six weeks ago; the next was due a month after it"})
	for _, off := range []int{-150, -100} {
		q := g.mail(tom, []person{ben}, nil, "Access to the staging cluster",
			at(weekdayOnOrBefore(g.day(off)), 14, 0).Add(g.jitter(30)), "Hi Ben,\n\ncould you grant Priya's team read access?\n\nTom")
		g.exchange(q, g.answer(q, ben, q.date.Add(80*time.Minute), "Done, they should have it now.\n\nBen"))
	}

	steer := at(secondTuesday(g.day(-170)), 15, 0)
	g.event([]person{ben}, vevent{uid: "040000008200E00074C5B7101A82E0080000000070" + steer.Format("20060102") + "litware",
		summary: "Litware steering committee", start: steer, end: steer.Add(time.Hour), tzid: "W. Europe Standard Time",
		rrule: "FREQ=MONTHLY;BYDAY=2TU;COUNT=5", organizer: priya,
		attendees: []attendee{{ben, "ACCEPTED"}, {tom, "TENTATIVE"}}})
	wsd := weekdayOnOrAfter(g.day(-130))
	g.event([]person{ben}, vevent{uid: uid("litware-workshop", wsd), summary: "Litware data workshop (Boston)",
		start: wsd, end: wsd.AddDate(0, 0, 2), allDay: true, organizer: ben,
		attendees: []attendee{{priya, "ACCEPTED"}, {tom, "ACCEPTED"}}})
	budget := at(weekdayOnOrAfter(g.day(-16)), 10, 0)
	g.event([]person{ben}, vevent{uid: uid("litware-budget", budget), summary: "Litware budget review",
		start: budget, end: budget.Add(time.Hour), tzid: teamZone, status: "CANCELLED", sequence: 1,
		organizer: ben, attendees: []attendee{{priya, "DECLINED"}}})
	next := at(weekdayOnOrAfter(g.day(25)), 15, 0)
	g.event([]person{ben}, vevent{uid: uid("litware-steering-new", next), summary: "Litware steering (new format)",
		start: next, end: next.Add(time.Hour), tzid: "W. Europe Standard Time", organizer: priya,
		attendees: []attendee{{ben, "NEEDS-ACTION"}}})
}

// monthBefore is the same day a month earlier, clamped to the month's end.
func monthBefore(t time.Time) time.Time {
	first := time.Date(t.Year(), t.Month()-1, 1, 0, 0, 0, 0, t.Location())
	return first.AddDate(0, 0, min(t.Day(), first.AddDate(0, 1, -1).Day())-1)
}

func secondTuesday(d time.Time) time.Time {
	t := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, d.Location())
	for t.Weekday() != time.Tuesday {
		t = t.AddDate(0, 0, 1)
	}
	return t.AddDate(0, 0, 7)
}

// tailspin: a biweekly sync (RRULE INTERVAL=2) with an EXDATE, a moved, a
// cancelled and a half-declined occurrence; each held one followed up by
// mail within hours; the next one 3–7 days ahead. Chloé asked about an
// invoice three business days ago and nobody answered. Expected: reply
// slipped; next-meeting and follow-up ok.
func (g *gen) tailspin() {
	next := at(weekdayOnOrAfter(g.day(4)), 10, 0)
	occ := func(j int) time.Time { return next.AddDate(0, 0, -14*j) }
	id := uid("tailspin-sync", occ(12))
	people := []attendee{{chloe, "ACCEPTED"}, {raj, "ACCEPTED"}, {ben, "ACCEPTED"}}
	master := vevent{uid: id, summary: "Tailspin / Northwind sync", start: occ(12), end: occ(12).Add(time.Hour),
		tzid: teamZone, organizer: anna, attendees: people, exdates: []time.Time{occ(9)},
		rrule: "FREQ=WEEKLY;INTERVAL=2;UNTIL=" + next.AddDate(0, 0, 14*6).UTC().Format("20060102T150405Z")}
	moved := at(nextWeekday(occ(6)), 14, 0)
	declined := append([]attendee{}, people...)
	declined[1].partstat = "DECLINED"
	g.event([]person{anna, ben}, master,
		vevent{uid: id, summary: master.summary, recurrenceID: occ(6), start: moved, end: moved.Add(time.Hour),
			tzid: teamZone, organizer: anna, attendees: people, sequence: 1},
		vevent{uid: id, summary: master.summary, recurrenceID: occ(4), start: occ(4), end: occ(4).Add(time.Hour),
			tzid: teamZone, organizer: anna, attendees: people, status: "CANCELLED", sequence: 1},
		vevent{uid: id, summary: master.summary, recurrenceID: occ(7), start: occ(7), end: occ(7).Add(time.Hour),
			tzid: teamZone, organizer: anna, attendees: declined, sequence: 1})
	for j := 12; j >= 1; j-- {
		start := occ(j)
		switch j {
		case 9, 4: // not held
			continue
		case 6:
			start = moved
		}
		fu := g.mail(anna, []person{chloe}, []person{raj}, "Notes from our sync, "+start.Format("2 Jan"),
			start.Add(3*time.Hour).Add(g.jitter(20)), "Hi Chloé,\n\nsummary and action items from today below.\n\nAnna")
		g.deliver(fu)
		if j == 10 || j == 5 {
			q := g.answer(fu, chloe, at(nextWeekday(start), 9, 30).Add(g.jitter(30)), "Thanks! Who owns item 3?\n\nChloé")
			g.exchange(q, g.answer(q, anna, q.date.Add(75*time.Minute), "Raj does, with Ben's help.\n\nAnna"))
		}
	}

	waiting := at(businessDaysBefore(g.now.In(g.loc), 3), 9, 40)
	inv := g.mail(anna, []person{chloe}, nil, "Invoice NW-"+waiting.Format("2006")+"-031",
		at(businessDaysBefore(waiting, 2), 14, 0), "Hi Chloé,\n\nplease find our invoice for last month attached.\n\nAnna")
	g.deliver(inv)
	q := g.answer(inv, chloe, waiting, "Hi Anna,\n\nline 4 looks doubled. Could you check and send a corrected invoice?\n\nChloé")
	q.unseen = true
	g.deliver(q)
	note := g.mail(anna, []person{ben}, nil, "Tailspin invoice", at(nextWeekday(waiting), 8, 30),
		"Ben, can you look at Chloé's invoice question? I'm at Contoso all day.")
	if g.past(note.date) {
		g.deliver(note)
	}
	g.h.Expected = append(g.h.Expected, ExpectedAlert{Customer: "tailspin", Commitment: "reply", Type: Slipped,
		MessageID: q.id, Why: "Chloé wrote 3 business days ago; a reply was due 1 business day later"})
}

// RecoveryMail is the overdue Litware report, sent by Ben at t (after
// h.Now): appended to his Sent folder it satisfies the slipped
// monthly-report commitment, so the engine must send the returned
// commitment.recovered alert.
func (h *History) RecoveryMail(t time.Time) (Mail, ExpectedAlert) {
	loc := mustZone(teamZone)
	month := t.In(loc).AddDate(0, 0, -10).Month()
	m := &message{id: t.UTC().Format("20060102T150405") + ".recovery.ben@mail.northwind.test",
		from: ben, to: []person{priya}, cc: []person{tom}, subject: fmt.Sprintf("Monthly report %s", month),
		date: t.In(loc), body: "Hi Priya,\n\nsorry for the delay: here is the report.\n\nBen"}
	mail := Mail{Owner: ben.addr, Folder: Sent, MessageID: m.id, Subject: m.subject, Date: m.date,
		Flags: m.flags(Sent), Raw: m.render()}
	return mail, ExpectedAlert{Customer: "litware", Commitment: "monthly-report", Type: Recovered,
		Why: "Ben finally sent the monthly report"}
}
