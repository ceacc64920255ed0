package demo

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// contoso: weekly-status (per week) and customer-pulse (silence 4w) ok.
func (c *checker) contoso() {
	cu := c.customer("contoso")
	status := c.outbound(cu, regexp.MustCompile(`^Status week`))
	// SPEC does not say where a week starts: hold for both conventions.
	for _, first := range []time.Weekday{time.Monday, time.Sunday} {
		c.ok(fmt.Sprintf("contoso weekly-status (weeks from %s)", first), perWeekDue(c.h.Now, status, first, c.loc))
	}
	c.ok("contoso customer-pulse", weeksAfter(4, c.lastPulse(cu), c.loc))
}

// perWeekDue is the due time of a `per: week, min: 1` cadence: the end of
// the earliest week, from the first match's, that no match can fill; a
// match fills its own week or, late, an earlier one.
func perWeekDue(now time.Time, matches []tmail, first time.Weekday, loc *time.Location) time.Time {
	weekStart := func(t time.Time) time.Time {
		d := dayOf(t.In(loc))
		for d.Weekday() != first {
			d = d.AddDate(0, 0, -1)
		}
		return d
	}
	next := 0
	for p := weekStart(matches[0].date); ; p = p.AddDate(0, 0, 7) {
		for next < len(matches) && weekStart(matches[next].date).Before(p) {
			next++ // surplus early matches cannot fill a later week
		}
		if next == len(matches) || !matches[next].date.Before(now) {
			return p.AddDate(0, 0, 7)
		}
		next++
	}
}

// lastPulse is the customer's last counted inbound mail or meeting.
func (c *checker) lastPulse(cu Customer) time.Time {
	var last time.Time
	for _, m := range c.inbound(cu) {
		last = later(last, m.date)
	}
	for _, o := range c.meetings(cu) {
		last = later(last, o.start)
	}
	return last
}

// interactions are the times of every counted mail with cu and meeting.
func (c *checker) interactions(cu Customer) []time.Time {
	var ts []time.Time
	for _, m := range append(c.inbound(cu), c.outbound(cu, nil)...) {
		ts = append(ts, m.date)
	}
	for _, o := range c.meetings(cu) {
		ts = append(ts, o.start)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// litware: monthly-report (every 1mo in New York) slipped, never late before.
func (c *checker) litware() {
	cu := c.customer("litware")
	ny := mustZone(cu.Timezone)
	reports := c.outbound(cu, regexp.MustCompile(`^Monthly report`))
	for i := 1; i < len(reports); i++ {
		if reports[i].date.After(monthsAfter(1, reports[i-1].date, ny)) {
			c.errorf("litware: report %s came late, an earlier period slipped too", reports[i].id)
		}
	}
	c.slipped("litware monthly-report", monthsAfter(1, reports[len(reports)-1].date, ny))
}

// adatum: biweekly-contact at risk, and never slipped before.
func (c *checker) adatum() {
	ts := c.interactions(c.customer("adatum"))
	for i := 1; i < len(ts); i++ {
		if !ts[i].Before(weeksAfter(2, ts[i-1], c.loc)) {
			c.errorf("adatum: a gap of two weeks before %s", ts[i])
		}
	}
	c.atRisk("adatum biweekly-contact", weeksAfter(2, ts[len(ts)-1], c.loc))
}

// wingtip: biweekly-contact and customer-pulse slipped.
func (c *checker) wingtip() {
	cu := c.customer("wingtip")
	ts := c.interactions(cu)
	c.slipped("wingtip biweekly-contact", weeksAfter(2, ts[len(ts)-1], c.loc))
	c.slipped("wingtip customer-pulse", weeksAfter(4, c.lastPulse(cu), c.loc))
}

// fabrikam: sales-touch (outbound, every 1mo) slipped; meetings count too,
// whatever direction an engine gives them.
func (c *checker) fabrikam() {
	cu := c.customer("fabrikam")
	var last time.Time
	for _, m := range c.outbound(cu, nil) {
		last = later(last, m.date)
	}
	for _, o := range c.meetings(cu) {
		last = later(last, o.start)
	}
	c.slipped("fabrikam sales-touch", monthsAfter(1, last, c.loc))
}

// tailspin: next-meeting (3w) satisfied and every held meeting followed up
// within hours.
func (c *checker) tailspin() {
	cu := c.customer("tailspin")
	var next time.Time
	for _, o := range c.occ {
		if !o.cancelled && o.start.After(c.h.Now) && (next.IsZero() || o.start.Before(next)) && o.with(cu) {
			next = o.start
		}
	}
	if next.Before(c.h.Now.Add(day)) || next.After(c.h.Now.Add(3*7*day-day)) {
		c.errorf("tailspin: next meeting at %s, want between now+1d and now+3w−1d", next)
	}
	outs := c.outbound(cu, nil)
	for _, o := range c.meetings(cu) {
		followed := false
		for _, m := range outs {
			if m.date.After(o.end) && !m.date.After(o.end.Add(6*time.Hour)) {
				followed = true
			}
		}
		if !followed {
			c.errorf("tailspin: meeting at %s not followed up within hours", o.start)
		}
	}
}

type occurrence struct {
	start, end time.Time
	cancelled  bool
	attendees  map[string]string // address → PARTSTAT
}

func (o occurrence) with(cu Customer) bool {
	for a := range o.attendees {
		if belongs(cu, a) {
			return true
		}
	}
	return false
}

// expand lists a calendar object's occurrences up to until: RRULE with
// rrule-go, EXDATE (also comma-separated lists), RECURRENCE-ID overrides.
func expand(t *testing.T, ics []byte, until time.Time) []occurrence {
	cal, err := ical.NewDecoder(bytes.NewReader(ics)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	var master *ical.Component
	overrides := map[time.Time]*ical.Component{}
	for _, ch := range cal.Children {
		if ch.Name != ical.CompEvent {
			continue
		}
		if rid := ch.Props.Get(ical.PropRecurrenceID); rid != nil {
			overrides[propTime(t, rid).UTC()] = ch
		} else {
			master = ch
		}
	}
	one := func(comp *ical.Component, start, end time.Time) occurrence {
		o := occurrence{start: start, end: end, attendees: map[string]string{}}
		if s, _ := comp.Props.Text(ical.PropStatus); s == "CANCELLED" {
			o.cancelled = true
		}
		for _, a := range comp.Props.Values(ical.PropAttendee) {
			o.attendees[strings.ToLower(strings.TrimPrefix(a.Value, "mailto:"))] = a.Params.Get(ical.ParamParticipationStatus)
		}
		return o
	}
	start, end := propTime(t, master.Props.Get(ical.PropDateTimeStart)), propTime(t, master.Props.Get(ical.PropDateTimeEnd))
	rr := master.Props.Get(ical.PropRecurrenceRule)
	if rr == nil {
		return []occurrence{one(master, start, end)}
	}
	opt, err := rrule.StrToROption(rr.Value)
	if err != nil {
		t.Fatal(err)
	}
	opt.Dtstart = start
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		t.Fatal(err)
	}
	skip := map[time.Time]bool{}
	for _, ex := range master.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(ex.Value, ",") {
			p := ex
			p.Value = v
			skip[propTime(t, &p).UTC()] = true
		}
	}
	var out []occurrence
	for _, s := range r.Between(start.Add(-time.Second), until, true) {
		switch ov := overrides[s.UTC()]; {
		case skip[s.UTC()]:
		case ov != nil:
			out = append(out, one(ov, propTime(t, ov.Props.Get(ical.PropDateTimeStart)), propTime(t, ov.Props.Get(ical.PropDateTimeEnd))))
		default:
			out = append(out, one(master, s, s.Add(end.Sub(start))))
		}
	}
	return out
}

// windowsZones maps the Windows zone names the scenario uses.
var windowsZones = map[string]string{"W. Europe Standard Time": "Europe/Berlin"}

func propTime(t *testing.T, p *ical.Prop) time.Time {
	v := p.Value
	var (
		tm  time.Time
		err error
	)
	switch tz := p.Params.Get(ical.ParamTimezoneID); {
	case p.Params.Get(ical.ParamValue) == "DATE":
		tm, err = time.ParseInLocation("20060102", v, mustZone(teamZone))
	case strings.HasSuffix(v, "Z"):
		tm, err = time.Parse("20060102T150405Z", v)
	default:
		if w, ok := windowsZones[tz]; ok {
			tz = w
		}
		tm, err = time.ParseInLocation("20060102T150405", v, mustZone(tz))
	}
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	return tm
}
