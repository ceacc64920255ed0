package caldavsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/touchbase/touchbase/cadence"
)

// parseOptions says how calendar objects become interactions.
type parseOptions struct {
	win          window
	defaultTZ    *time.Location // floating times and all-day events
	account      string         // account name, set on every interaction
	accountEmail string         // lower-case; never counts as the declining side
}

// parsed is what one calendar object yields.
type parsed struct {
	uid         string // the first VEVENT's UID ("" when none)
	occurrences []cadence.Interaction
	events      int       // VEVENT UIDs seen
	next        time.Time // first instance at or after the window's end; zero: none
}

var errNoCalendar = errors.New("no VCALENDAR")

// parseObject parses one iCalendar object (RFC 5545; several VCALENDARs in
// a row are read too) and returns the meeting occurrences of its VEVENTs
// inside the window, and when the next instance after it starts.
// Malformed data returns an error, never a panic; events that cannot be
// placed are skipped and counted in stats.
func parseObject(data []byte, opt parseOptions, stats counters) (parsed, error) {
	cals, err := decodeCalendars(data)
	if err != nil {
		return parsed{}, err
	}
	return occurrencesOf(cals, opt, stats), nil
}

func decodeCalendars(data []byte) ([]*ical.Calendar, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = wrapBareComponent(data)
	cals, err := decodeAll(data)
	if err == nil {
		return cals, nil
	}
	// One unparsable line (a stray quote, a parameter without "=") should
	// not lose the meeting: retry once without the lines go-ical rejects.
	if repaired, dropped := dropBadLines(data); dropped > 0 {
		if cals, err2 := decodeAll(repaired); err2 == nil {
			return cals, nil
		}
	}
	return nil, err
}

func decodeAll(data []byte) (cals []*ical.Calendar, err error) {
	// go-ical panics on some malformed parameter syntax: turn that into
	// an error so one bad object cannot take the daemon down.
	defer func() {
		if r := recover(); r != nil {
			cals, err = nil, fmt.Errorf("malformed iCalendar: %v", r)
		}
	}()
	dec := ical.NewDecoder(bytes.NewReader(data))
	for {
		cal, err := dec.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(cals) > 0 {
				break // keep what preceded trailing garbage
			}
			return nil, fmt.Errorf("malformed iCalendar: %w", err)
		}
		cals = append(cals, cal)
	}
	if len(cals) == 0 {
		return nil, errNoCalendar
	}
	return cals, nil
}

// wrapBareComponent puts a top-level VEVENT (or other component) that
// lacks its VCALENDAR into one, as some exporters write.
func wrapBareComponent(data []byte) []byte {
	head := bytes.TrimLeft(data, " \t\r\n")
	if len(head) < 6 || !bytes.EqualFold(head[:6], []byte("BEGIN:")) ||
		len(head) >= 15 && bytes.EqualFold(head[:15], []byte("BEGIN:VCALENDAR")) {
		return data
	}
	out := append([]byte("BEGIN:VCALENDAR\r\n"), head...)
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, "\r\n"...)
	}
	return append(out, "END:VCALENDAR\r\n"...)
}

// dropBadLines unfolds data (RFC 5545 3.1) and removes the content lines
// that go-ical cannot parse on their own. It returns how many it removed.
func dropBadLines(data []byte) ([]byte, int) {
	unfolded := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	unfolded = bytes.ReplaceAll(unfolded, []byte("\n "), nil)
	unfolded = bytes.ReplaceAll(unfolded, []byte("\n\t"), nil)
	var out bytes.Buffer
	dropped := 0
	for _, line := range bytes.Split(unfolded, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !lineParses(line) {
			dropped++
			continue
		}
		out.Write(line)
		out.WriteString("\r\n")
	}
	return out.Bytes(), dropped
}

func lineParses(line []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if len(line) >= 6 && (bytes.EqualFold(line[:6], []byte("BEGIN:")) || bytes.EqualFold(line[:4], []byte("END:"))) {
		return true
	}
	probe := "BEGIN:VCALENDAR\r\n" + string(line) + "\r\nEND:VCALENDAR\r\n"
	_, err := ical.NewDecoder(strings.NewReader(probe)).Decode()
	return err == nil
}

// occurrencesOf groups the VEVENTs by UID (master and RECURRENCE-ID
// overrides), expands each group and turns occurrences into interactions;
// the object's next instance is the earliest of its groups'.
func occurrencesOf(cals []*ical.Calendar, opt parseOptions, stats counters) parsed {
	x := &expander{tz: newTZResolver(cals, opt.defaultTZ, stats), win: opt.win, stats: stats}
	type group struct {
		master    *ical.Component
		overrides []*ical.Component
	}
	groups := map[string]*group{}
	var order []string
	cancelAll := false
	for _, cal := range cals {
		if m := cal.Props.Get(ical.PropMethod); m != nil && strings.EqualFold(strings.TrimSpace(m.Value), "CANCEL") {
			cancelAll = true
		}
		for _, c := range cal.Children {
			if c.Name != ical.CompEvent {
				continue
			}
			uid := text(c, ical.PropUID)
			if uid == "" {
				stats.add("skipped_no_uid", 1)
				continue
			}
			g := groups[uid]
			if g == nil {
				g = &group{}
				groups[uid] = g
				order = append(order, uid)
			}
			switch {
			case c.Props.Get(ical.PropRecurrenceID) != nil:
				g.overrides = append(g.overrides, c)
			case g.master == nil:
				g.master = c
			default:
				stats.add("duplicate_master", 1)
			}
		}
	}
	var out parsed
	for _, uid := range order {
		g := groups[uid]
		if out.uid == "" {
			out.uid = uid
		}
		out.events++
		occs, next := x.expand(g.master, g.overrides)
		for _, occ := range occs {
			out.occurrences = append(out.occurrences, interaction(uid, occ, g.master, cancelAll, opt))
		}
		if !next.IsZero() && (out.next.IsZero() || next.Before(out.next)) {
			out.next = next
		}
	}
	return out
}

// interaction describes one occurrence. An override inherits SUMMARY,
// ORGANIZER, ATTENDEEs and STATUS from the master when it lacks them
// (several servers strip unchanged properties from overrides).
//
// Filters: Cancelled when the occurrence (or the series, or the whole
// object via METHOD:CANCEL) has STATUS:CANCELLED. Declined when there is
// at least one attendee other than the organizer and the account itself,
// and every one of them declined: the sync cannot tell customers from
// colleagues (that is the cadence engine's call at evaluation time), so
// the account's own answer and the organizer never decide.
// TRANSP:TRANSPARENT and STATUS:TENTATIVE occurrences count: invitations
// are often marked transparent until answered, and a tentative meeting is
// still a planned meeting. The account declining alone does not filter a
// meeting either: colleagues may still meet the customer.
func interaction(uid string, occ occurrence, master *ical.Component, cancelAll bool, opt parseOptions) cadence.Interaction {
	c := occ.comp
	inherit := func(name string) *ical.Component {
		if c.Props.Get(name) == nil && master != nil {
			return master
		}
		return c
	}
	in := cadence.Interaction{
		Key:     cadence.MeetingKey(uid, occ.rid),
		Kind:    cadence.Meeting,
		At:      occ.start.UTC(),
		End:     occ.end.UTC(),
		AllDay:  occ.allDay,
		Subject: text(inherit(ical.PropSummary), ical.PropSummary),
		Account: opt.account,
	}
	org := inherit(ical.PropOrganizer).Props.Get(ical.PropOrganizer)
	if org != nil {
		if addr, ok := address(*org); ok {
			in.Sender = addr
			in.Participants = append(in.Participants, cadence.Participant{Address: addr, Name: org.Params.Get("CN"), Role: cadence.Organizer})
		}
	}
	in.Participants = append(in.Participants, attendees(inherit(ical.PropAttendee))...)
	switch {
	case cancelAll || strings.EqualFold(text(inherit(ical.PropStatus), ical.PropStatus), "CANCELLED"):
		in.Filter = cadence.Cancelled
	case allDeclined(in.Participants, in.Sender, opt.accountEmail):
		in.Filter = cadence.Declined
	}
	return in
}

func attendees(c *ical.Component) []cadence.Participant {
	var out []cadence.Participant
	seen := map[string]bool{}
	for _, p := range c.Props.Values(ical.PropAttendee) {
		switch strings.ToUpper(p.Params.Get("CUTYPE")) {
		case "ROOM", "RESOURCE":
			continue // rooms and projectors are not people we meet
		}
		addr, ok := address(p)
		if !ok || seen[addr] {
			continue
		}
		seen[addr] = true
		out = append(out, cadence.Participant{Address: addr, Name: p.Params.Get("CN"), Role: cadence.Attendee,
			PartStat: strings.ToUpper(strings.TrimSpace(p.Params.Get("PARTSTAT")))})
	}
	return out
}

func allDeclined(ps []cadence.Participant, organizer, self string) bool {
	others := 0
	for _, p := range ps {
		if p.Role != cadence.Attendee || p.Address == organizer || p.Address == self {
			continue
		}
		if p.PartStat != "DECLINED" {
			return false
		}
		others++
	}
	return others > 0
}

// address returns the lower-cased e-mail address of an ORGANIZER or
// ATTENDEE: the mailto: value, else the EMAIL parameter (RFC 7986), else a
// bare value that looks like an address.
func address(p ical.Prop) (string, bool) {
	v := strings.TrimSpace(p.Value)
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		for len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
			v = v[7:] // "mailto:mailto:" from a known Yahoo bug
		}
	} else if e := p.Params.Get("EMAIL"); e != "" {
		v = e
	} else if strings.Contains(v, ":") {
		return "", false
	}
	v = strings.ToLower(strings.TrimSpace(v))
	if at := strings.IndexByte(v, '@'); at <= 0 || at == len(v)-1 || strings.ContainsAny(v, " \t<>,;") {
		return "", false
	}
	return v, true
}

// text returns a text property's unescaped value, or "".
func text(c *ical.Component, name string) string {
	p := c.Props.Get(name)
	if p == nil {
		return ""
	}
	s, err := p.Text()
	if err != nil {
		return strings.TrimSpace(p.Value)
	}
	return strings.TrimSpace(s)
}
