package caldavsource

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// window is the span whose occurrences a sync keeps: [start, end).
type window struct{ start, end time.Time }

func (w window) contains(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// Limits that keep one broken or hostile event from stalling a sync.
const (
	maxOccurrences = 2000   // per event, inside the window
	maxIterations  = 100000 // rule candidates scanned per rule
)

// counters are per-pass statistics ("tz_unknown", "rrule_invalid", ...).
type counters map[string]int64

func (c counters) add(key string, n int64) {
	if c != nil && n != 0 {
		c[key] += n
	}
}

// occurrence is one instance of an event inside the window.
type occurrence struct {
	rid        time.Time // RECURRENCE-ID: the instance's original start, UTC
	start, end time.Time // UTC
	allDay     bool
	comp       *ical.Component // the VEVENT describing it: override or master
}

// expander expands the VEVENTs of one UID into occurrences: the master's
// DTSTART, RRULE (rrule-go, on wall times) and RDATE instances minus
// EXDATE, with RECURRENCE-ID overrides replacing (moving, cancelling)
// single instances; overrides without a master stand alone.
type expander struct {
	tz    *tzResolver
	win   window
	stats counters
}

// timing is when a VEVENT starts and how long its instances last.
type timing struct {
	start timeValue
	dur   time.Duration // timed events
	days  int           // all-day events
}

func (t timing) endAt(start time.Time) time.Time {
	if t.start.isDate {
		w := t.start.zone.wall(start).AddDate(0, 0, t.days)
		return t.start.zone.instant(w)
	}
	return start.Add(t.dur)
}

// timing reads DTSTART and DTEND or DURATION. An all-day event without
// either lasts one day (RFC 5545 3.6.1), a timed one is instantaneous;
// an override without either keeps the master's length (fallback).
func (x *expander) timing(comp *ical.Component, fallback *timing) (timing, error) {
	start, ok, err := x.tz.prop(comp, ical.PropDateTimeStart)
	if err != nil || !ok {
		if fallback == nil {
			return timing{}, fmt.Errorf("no valid DTSTART")
		}
		if start, ok, err = x.tz.prop(comp, ical.PropRecurrenceID); err != nil || !ok {
			return timing{}, fmt.Errorf("no valid DTSTART")
		}
	}
	t := timing{start: start, days: 1}
	end, hasEnd, endErr := x.tz.prop(comp, ical.PropDateTimeEnd)
	var dur time.Duration
	hasDur := false
	if p := comp.Props.Get(ical.PropDuration); p != nil && !(hasEnd && endErr == nil) {
		if d, err := parseDuration(p.Value); err == nil {
			dur, hasDur = d, true
		}
	}
	switch {
	case hasEnd && endErr == nil && start.isDate:
		t.days = int(end.wall.Sub(start.wall) / (24 * time.Hour))
	case hasEnd && endErr == nil:
		t.dur = end.instant().Sub(start.instant())
	case hasDur && start.isDate:
		t.days = int(dur / (24 * time.Hour))
	case hasDur:
		t.dur = dur
	case fallback != nil && fallback.start.isDate == start.isDate:
		t.dur, t.days = fallback.dur, fallback.days
	}
	if t.days < 1 {
		t.days = 1
	}
	if t.dur < 0 || t.dur > maxDuration {
		t.dur = 0
	}
	if t.days > int(maxDuration/(24*time.Hour)) {
		t.days = 1
	}
	return t, nil
}

// expand returns the occurrences of one UID inside the window, sorted by
// start and capped at maxOccurrences, and next: the start of its first
// instance at or after the window's end (zero: none), which the moving
// window will take in. An override counts at its own start, not at the
// instance it replaces. master may be nil.
func (x *expander) expand(master *ical.Component, overrides []*ical.Component) (out []occurrence, next time.Time) {
	byRID := x.overridesByRID(overrides)
	var mt *timing
	if master != nil {
		t, err := x.timing(master, nil)
		if err != nil {
			x.stats.add("skipped_no_dtstart", 1)
		} else {
			mt = &t
			var insts []instance
			insts, next = x.instances(master, t, byRID)
			for _, inst := range insts {
				if x.win.contains(inst.start) {
					out = append(out, occurrence{rid: inst.start, start: inst.start, end: inst.end, allDay: t.start.isDate, comp: master})
				}
			}
		}
	}
	for _, o := range byRID {
		t, err := x.timing(o.comp, mt)
		if err != nil {
			x.stats.add("skipped_no_dtstart", 1)
			continue
		}
		start := t.start.instant()
		if x.win.contains(start) {
			out = append(out, occurrence{rid: o.rid, start: start, end: t.endAt(start), allDay: t.start.isDate, comp: o.comp})
		}
		next = x.earlierNext(next, start)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	if len(out) > maxOccurrences {
		x.stats.add("occurrences_capped", 1)
		out = out[:maxOccurrences]
	}
	return out, next
}

// earlierNext returns at when it is at or after the window's end and
// before next (or next is zero), else next.
func (x *expander) earlierNext(next, at time.Time) time.Time {
	if at.Before(x.win.end) || !next.IsZero() && !at.Before(next) {
		return next
	}
	return at
}

type override struct {
	rid  time.Time
	comp *ical.Component
	seq  int
}

// overridesByRID indexes overrides by their RECURRENCE-ID instant; of two
// for the same instance the higher SEQUENCE (then the later one) wins.
// RANGE=THISANDFUTURE is applied to the one instance only (counted).
func (x *expander) overridesByRID(comps []*ical.Component) map[int64]override {
	out := map[int64]override{}
	for _, c := range comps {
		p := c.Props.Get(ical.PropRecurrenceID)
		rid, err := x.tz.parseTime(p.Value, p.Params)
		if err != nil {
			x.stats.add("skipped_bad_recurrence_id", 1)
			continue
		}
		if strings.EqualFold(p.Params.Get("RANGE"), "THISANDFUTURE") {
			x.stats.add("range_thisandfuture", 1)
		}
		seq := 0
		if s := c.Props.Get("SEQUENCE"); s != nil {
			seq, _ = strconv.Atoi(strings.TrimSpace(s.Value))
		}
		at := rid.instant()
		if prev, ok := out[at.Unix()]; ok && prev.seq > seq {
			continue
		}
		out[at.Unix()] = override{rid: at, comp: c, seq: seq}
	}
	return out
}

type instance struct{ start, end time.Time }

// instances returns the master's instances that may start inside the
// window (DTSTART, the RRULE occurrences and RDATEs, minus EXDATEs and
// those an override in moved replaces), and next: the first such instance
// at or after the window's end (zero: none). Each RRULE is iterated past
// the window until its first instance there, within expandRule's limits:
// an open series always has one, a COUNT- or UNTIL-ended one may not.
func (x *expander) instances(master *ical.Component, t timing, moved map[int64]override) (out []instance, next time.Time) {
	z := t.start.zone
	from := z.wall(x.win.start).Add(-48 * time.Hour)
	to := z.wall(x.win.end).Add(48 * time.Hour)
	excluded := x.exclusions(master, z)
	skip := func(at time.Time) bool {
		_, replaced := moved[at.Unix()]
		return replaced || excluded(at)
	}
	// later records at as next when it is an instance after the window.
	later := func(at time.Time) bool {
		if at.Before(x.win.end) || skip(at) {
			return false
		}
		next = x.earlierNext(next, at)
		return true
	}
	seen := map[int64]bool{}
	add := func(at time.Time, end time.Time) {
		if seen[at.Unix()] || skip(at) {
			return
		}
		seen[at.Unix()] = true
		if end.IsZero() || end.Before(at) {
			end = t.endAt(at)
		}
		out = append(out, instance{start: at, end: end})
	}
	first := z.instant(t.start.wall)
	add(first, time.Time{})
	later(first)
	for _, p := range master.Props.Values(ical.PropRecurrenceRule) {
		found := false
		x.expandRule(p.Value, t.start, from, func(w time.Time) bool {
			at := z.instant(w)
			if !w.After(to) {
				add(at, time.Time{})
			}
			found = later(at) || found
			return !found || !w.After(to)
		})
	}
	rdates, ends, bad := x.tz.list(master, ical.PropRecurrenceDates)
	x.stats.add("skipped_bad_rdate", int64(bad))
	for i, v := range rdates {
		at := z.instant(z.wall(v.instant()))
		add(at, ends[i])
		later(at)
	}
	return out, next
}

// expandRule calls emit with the rule's instances (wall times) from from
// on, in order, until emit returns false, the rule ends, or a limit is
// reached (counted: recurrence_capped).
func (x *expander) expandRule(value string, start timeValue, from time.Time, emit func(time.Time) bool) {
	rule, err := newRule(value, start.wall, start.zone, x.stats)
	if err != nil {
		x.stats.add("rrule_invalid", 1)
		return
	}
	next := safeIterator(rule)
	emitted := 0
	for i := 0; ; i++ {
		if i >= maxIterations || emitted >= 2*maxOccurrences {
			x.stats.add("recurrence_capped", 1)
			return
		}
		w, ok := next()
		if !ok {
			return
		}
		if w.Before(from) {
			continue
		}
		if !emit(w) {
			return
		}
		emitted++
	}
}

// exclusions reports the instants that EXDATEs remove: by instant, or by
// local date for DATE-valued EXDATEs.
func (x *expander) exclusions(master *ical.Component, z zone) func(time.Time) bool {
	exdates, _, bad := x.tz.list(master, ical.PropExceptionDates)
	x.stats.add("skipped_bad_exdate", int64(bad))
	if len(exdates) == 0 {
		return func(time.Time) bool { return false }
	}
	instants, dates := map[int64]bool{}, map[string]bool{}
	for _, v := range exdates {
		instants[v.instant().Unix()] = true
		if v.isDate {
			dates[v.wall.Format("20060102")] = true
		}
	}
	return func(at time.Time) bool {
		return instants[at.Unix()] || dates[z.wall(at).Format("20060102")]
	}
}

// newRule builds an RRULE (RFC 5545 3.3.10) for a series starting at the
// wall time start in zone z. A UTC UNTIL is converted to wall time in z, a
// DATE UNTIL includes that whole day. RSCALE=GREGORIAN, SKIP and X- parts
// are dropped (counted); other calendar scales are refused.
func newRule(value string, start time.Time, z zone, stats counters) (rule *rrule.RRule, err error) {
	defer func() {
		if r := recover(); r != nil {
			rule, err = nil, fmt.Errorf("invalid RRULE %q", value)
		}
	}()
	var kept []string
	var until time.Time
	for _, part := range strings.Split(strings.TrimSpace(value), ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.ToUpper(strings.TrimSpace(v))
		switch {
		case !ok:
			return nil, fmt.Errorf("invalid RRULE part %q", part)
		case k == "UNTIL":
			if until, err = ruleUntil(v, z); err != nil {
				return nil, err
			}
		case k == "RSCALE" && v != "GREGORIAN":
			return nil, fmt.Errorf("unsupported RSCALE %q", v)
		case k == "RSCALE" || k == "SKIP" || strings.HasPrefix(k, "X-"):
			stats.add("rrule_ignored_part", 1)
		default:
			kept = append(kept, k+"="+v)
		}
	}
	opt, err := rrule.StrToROption(strings.Join(kept, ";"))
	if err != nil {
		return nil, err
	}
	opt.Dtstart = start
	if until.IsZero() {
		// rrule-go otherwise stops 290 years after DTSTART, and Outlook's
		// VTIMEZONE rules start in 1601.
		until = endOfTime
	}
	opt.Until = until
	return rrule.NewRRule(*opt)
}

var endOfTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

func ruleUntil(v string, z zone) (time.Time, error) {
	if len(v) == 8 {
		d, err := time.Parse("20060102", v)
		return d.Add(24*time.Hour - time.Second), err
	}
	if u, ok := strings.CutSuffix(v, "Z"); ok {
		t, err := time.Parse("20060102T150405", u)
		if err != nil {
			return time.Time{}, err
		}
		return z.wall(t), nil
	}
	return time.Parse("20060102T150405", v)
}

// safeIterator wraps rrule-go's iterator so that a panic inside the library
// on an unusual rule ends the series instead of the daemon.
func safeIterator(r *rrule.RRule) func() (time.Time, bool) {
	next := r.Iterator()
	done := false
	return func() (t time.Time, ok bool) {
		if done {
			return time.Time{}, false
		}
		defer func() {
			if recover() != nil {
				done, t, ok = true, time.Time{}, false
			}
		}()
		return next()
	}
}
