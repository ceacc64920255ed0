package demo

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// attendee is one ATTENDEE of a meeting.
type attendee struct {
	p        person
	partstat string // ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION
}

// vevent is one VEVENT: a single meeting, a recurring master, or an
// override of one occurrence (recurrenceID set).
type vevent struct {
	uid          string
	summary      string
	location     string
	start, end   time.Time // in the zone named by tzid (or UTC)
	allDay       bool
	tzid         string // "" writes UTC times (…Z)
	organizer    person
	attendees    []attendee
	rrule        string
	exdates      []time.Time
	exdateList   bool      // one EXDATE with a comma-separated list, as some servers write
	recurrenceID time.Time // for an override: the occurrence's original start
	status       string    // CONFIRMED (default) or CANCELLED
	sequence     int
	stamp        time.Time
}

// vtimezones are the VTIMEZONE blocks the scenario uses. The Windows name
// is what Outlook and Exchange write; clients must map it to an IANA zone.
var vtimezones = map[string]string{
	"Europe/Berlin": centralEurope("Europe/Berlin", "19700329T020000", "19701025T030000", "CEST", "CET"),
	"Europe/Vienna": centralEurope("Europe/Vienna", "19700329T020000", "19701025T030000", "CEST", "CET"),
	"W. Europe Standard Time": `BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE`,
}

func centralEurope(tzid, dstStart, stdStart, dstName, stdName string) string {
	return `BEGIN:VTIMEZONE
TZID:` + tzid + `
X-LIC-LOCATION:` + tzid + `
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:` + dstName + `
DTSTART:` + dstStart + `
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:` + stdName + `
DTSTART:` + stdStart + `
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE`
}

// renderICS renders a calendar object: the VTIMEZONEs its events use, then
// the events (the master first, then overrides), with CRLF line ends and
// lines folded at 75 octets (RFC 5545 3.1).
func renderICS(prodID string, evs []vevent) []byte {
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	add("BEGIN:VCALENDAR")
	add("VERSION:2.0")
	add("PRODID:" + prodID)
	add("CALSCALE:GREGORIAN")
	tzids := map[string]bool{}
	for _, e := range evs {
		if e.tzid != "" && !e.allDay {
			tzids[e.tzid] = true
		}
	}
	names := make([]string, 0, len(tzids))
	for n := range tzids {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		lines = append(lines, strings.Split(vtimezones[n], "\n")...)
	}
	for _, e := range evs {
		lines = append(lines, e.lines()...)
	}
	add("END:VCALENDAR")
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(fold(l))
	}
	return []byte(b.String())
}

func (e vevent) lines() []string {
	l := []string{"BEGIN:VEVENT", "UID:" + e.uid, "DTSTAMP:" + e.stamp.UTC().Format("20060102T150405Z")}
	if !e.recurrenceID.IsZero() {
		l = append(l, e.timeProp("RECURRENCE-ID", e.recurrenceID))
	}
	l = append(l, e.timeProp("DTSTART", e.start), e.timeProp("DTEND", e.end))
	if e.rrule != "" {
		l = append(l, "RRULE:"+e.rrule)
	}
	if e.exdateList && len(e.exdates) > 0 {
		vals := make([]string, len(e.exdates))
		for i, t := range e.exdates {
			_, vals[i], _ = strings.Cut(e.timeProp("", t), ":")
		}
		name, _, _ := strings.Cut(e.timeProp("EXDATE", e.exdates[0]), ":")
		l = append(l, name+":"+strings.Join(vals, ","))
	} else {
		for _, t := range e.exdates {
			l = append(l, e.timeProp("EXDATE", t))
		}
	}
	l = append(l, "SUMMARY:"+escapeText(e.summary))
	if e.location != "" {
		l = append(l, "LOCATION:"+escapeText(e.location))
	}
	status := e.status
	if status == "" {
		status = "CONFIRMED"
	}
	l = append(l, "STATUS:"+status, "SEQUENCE:"+strconv.Itoa(e.sequence))
	if e.organizer.addr != "" {
		l = append(l, "ORGANIZER"+cnParam(e.organizer.name)+":mailto:"+e.organizer.addr)
	}
	for _, a := range e.attendees {
		l = append(l, "ATTENDEE"+cnParam(a.p.name)+";ROLE=REQ-PARTICIPANT;PARTSTAT="+a.partstat+
			";CUTYPE=INDIVIDUAL:mailto:"+a.p.addr)
	}
	return append(l, "END:VEVENT")
}

// timeProp formats a date-time property in the event's zone: DATE values
// for all-day events, TZID-local times, or UTC.
func (e vevent) timeProp(name string, t time.Time) string {
	switch {
	case e.allDay:
		return name + ";VALUE=DATE:" + t.Format("20060102")
	case e.tzid != "":
		return name + ";TZID=" + e.tzid + ":" + t.Format("20060102T150405")
	}
	return name + ":" + t.UTC().Format("20060102T150405Z")
}

func cnParam(name string) string {
	if name == "" {
		return ""
	}
	if strings.ContainsAny(name, ":;,") {
		return `;CN="` + name + `"`
	}
	return ";CN=" + name
}

func escapeText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`)
	return r.Replace(s)
}

// fold splits a content line into 75-octet pieces without cutting a UTF-8
// sequence, each continuation starting with a space.
func fold(line string) string {
	var b strings.Builder
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && line[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(line[:cut] + "\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line + "\r\n")
	return b.String()
}
