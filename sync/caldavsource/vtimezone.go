package caldavsource

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// vtZone evaluates a VTIMEZONE's own STANDARD/DAYLIGHT observances (RFC
// 5545 3.6.5), for TZIDs that are neither IANA nor Windows names
// ("Customized Time Zone", "US-Eastern", localised names). Onsets are
// computed up to vtzLimit, which is far beyond any sync window.
type vtZone struct {
	onsets  []onset // sorted by instant
	before  int     // offset in effect before the first onset, seconds
	offsets []int   // distinct offsets, largest first
}

type onset struct {
	at     time.Time // instant
	from   int       // TZOFFSETFROM, seconds
	offset int       // TZOFFSETTO, seconds
}

var vtzLimit = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// maxOnsets bounds the transitions computed per observance.
const maxOnsets = 2000

// newVTZone builds a zone from vtz, or returns nil when it has no usable
// observance.
func newVTZone(vtz *ical.Component) zone {
	z := &vtZone{}
	seen := map[int]bool{}
	for _, obs := range vtz.Children {
		if obs.Name != ical.CompTimezoneStandard && obs.Name != ical.CompTimezoneDaylight {
			continue
		}
		from, okFrom := utcOffset(obs.Props, ical.PropTimezoneOffsetFrom)
		to, okTo := utcOffset(obs.Props, ical.PropTimezoneOffsetTo)
		dt := obs.Props.Get(ical.PropDateTimeStart)
		if !okTo || dt == nil {
			continue
		}
		if !okFrom {
			from = to
		}
		start, err := time.Parse("20060102T150405", strings.TrimSpace(dt.Value))
		if err != nil {
			continue
		}
		for _, w := range observanceStarts(obs, start, from) {
			z.onsets = append(z.onsets, onset{at: w.Add(-time.Duration(from) * time.Second), from: from, offset: to})
		}
		for _, o := range []int{from, to} {
			if !seen[o] {
				seen[o] = true
				z.offsets = append(z.offsets, o)
			}
		}
	}
	if len(z.onsets) == 0 {
		return nil
	}
	sort.Slice(z.onsets, func(i, j int) bool { return z.onsets[i].at.Before(z.onsets[j].at) })
	z.before = z.onsets[0].from
	sort.Sort(sort.Reverse(sort.IntSlice(z.offsets)))
	return z
}

// observanceStarts returns the wall times at which an observance begins:
// DTSTART, its RRULE occurrences and its RDATEs.
func observanceStarts(obs *ical.Component, start time.Time, from int) []time.Time {
	walls := []time.Time{start}
	fromZone := locZone{time.FixedZone("", from)}
	if p := obs.Props.Get(ical.PropRecurrenceRule); p != nil {
		if rule, err := newRule(p.Value, start, fromZone, nil); err == nil {
			next := safeIterator(rule)
			for i := 0; i < maxOnsets; i++ {
				w, ok := next()
				if !ok || w.After(vtzLimit) {
					break
				}
				walls = append(walls, w)
			}
		}
	}
	for _, p := range obs.Props.Values(ical.PropRecurrenceDates) {
		for _, s := range strings.Split(p.Value, ",") {
			if w, err := time.Parse("20060102T150405", strings.TrimSpace(s)); err == nil {
				walls = append(walls, w)
			}
		}
	}
	return walls
}

// utcOffset parses a UTC-offset property ("+0100", "-0500", "+013045").
func utcOffset(props ical.Props, name string) (int, bool) {
	p := props.Get(name)
	if p == nil {
		return 0, false
	}
	v := strings.TrimSpace(p.Value)
	if len(v) != 5 && len(v) != 7 || (v[0] != '+' && v[0] != '-') {
		return 0, false
	}
	n, err := strconv.Atoi(v[1:])
	if err != nil || n < 0 {
		return 0, false
	}
	if len(v) == 5 {
		n *= 100
	}
	h, m, s := n/10000, n/100%100, n%100
	if h > 23 || m > 59 || s > 59 {
		return 0, false
	}
	off := h*3600 + m*60 + s
	if v[0] == '-' {
		off = -off
	}
	return off, true
}

func (z *vtZone) offsetAt(t time.Time) int {
	i := sort.Search(len(z.onsets), func(i int) bool { return z.onsets[i].at.After(t) })
	if i == 0 {
		return z.before
	}
	return z.onsets[i-1].offset
}

func (z *vtZone) wall(t time.Time) time.Time {
	return t.Add(time.Duration(z.offsetAt(t)) * time.Second).UTC()
}

// instant picks, for an ambiguous wall time, the earlier instant (RFC 5545
// 3.3.5: the first occurrence), and for a wall time in a gap the offset in
// effect before the gap.
func (z *vtZone) instant(w time.Time) time.Time {
	for _, o := range z.offsets {
		t := w.Add(-time.Duration(o) * time.Second)
		if z.offsetAt(t) == o {
			return t
		}
	}
	before := z.offsetAt(w.Add(-time.Duration(z.offsets[0])*time.Second - 2*time.Hour))
	return w.Add(-time.Duration(before) * time.Second)
}
