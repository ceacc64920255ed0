package caldavsource

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zone data for hosts without /usr/share/zoneinfo

	"github.com/emersion/go-ical"
)

// A zone converts between wall-clock readings and instants. A wall time is
// a time.Time in UTC whose fields are the local clock reading: recurrence
// rules are expanded on wall times (RFC 5545 recurs in local time), then
// each occurrence is placed with instant.
type zone interface {
	instant(wall time.Time) time.Time
	wall(t time.Time) time.Time
}

// locZone is a zone backed by a Go location (IANA data or UTC).
type locZone struct{ loc *time.Location }

func (z locZone) instant(w time.Time) time.Time {
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, z.loc).UTC()
}

func (z locZone) wall(t time.Time) time.Time {
	l := t.In(z.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

var utcZone = locZone{time.UTC}

// tzResolver resolves the TZIDs of one calendar object. Its order (see
// resolve) is: IANA name (also inside vendor prefixes such as
// "/mozilla.org/20050126_1/Europe/Berlin" and X-LIC-LOCATION), Windows zone
// ID via the CLDR table, the object's own VTIMEZONE rules, and finally UTC
// with a counted warning ("tz_unknown").
type tzResolver struct {
	vtimezones map[string]*ical.Component // by TZID
	floating   zone                       // the configured default zone
	cache      map[string]zone
	stats      counters
}

func newTZResolver(cals []*ical.Calendar, floating *time.Location, stats counters) *tzResolver {
	r := &tzResolver{vtimezones: map[string]*ical.Component{}, floating: locZone{floating}, cache: map[string]zone{}, stats: stats}
	for _, cal := range cals {
		for _, c := range cal.Children {
			if c.Name != ical.CompTimezone {
				continue
			}
			if id := c.Props.Get(ical.PropTimezoneID); id != nil {
				r.vtimezones[cleanTZID(id.Value)] = c
			}
		}
	}
	return r
}

func cleanTZID(s string) string { return strings.Trim(strings.TrimSpace(s), `"'`) }

func (r *tzResolver) zone(tzid string) zone {
	tzid = cleanTZID(tzid)
	if z, ok := r.cache[tzid]; ok {
		return z
	}
	z := r.resolve(tzid)
	r.cache[tzid] = z
	return z
}

func (r *tzResolver) resolve(tzid string) zone {
	if loc := loadIANA(tzid); loc != nil {
		return locZone{loc}
	}
	vtz := r.vtimezones[tzid]
	if vtz != nil {
		if p := vtz.Props.Get("X-LIC-LOCATION"); p != nil {
			if loc := loadIANA(p.Value); loc != nil {
				return locZone{loc}
			}
		}
	}
	if name := windowsZone(tzid); name != "" {
		if loc := loadIANA(name); loc != nil {
			r.stats.add("tz_windows", 1)
			return locZone{loc}
		}
	}
	if vtz != nil {
		if z := newVTZone(vtz); z != nil {
			r.stats.add("tz_vtimezone", 1)
			return z
		}
	}
	if loc := cityZone(tzid); loc != nil {
		r.stats.add("tz_city", 1)
		return locZone{loc}
	}
	r.stats.add("tz_unknown", 1)
	return utcZone
}

// loadIANA loads an IANA zone by name, also when the name is the tail of a
// vendor path ("/softwarestudio.org/Olson_20011030_5/America/New_York").
// It never returns the host's Local zone.
func loadIANA(name string) *time.Location {
	name = cleanTZID(name)
	try := func(n string) *time.Location {
		if n == "" || n == "Local" || len(n) > 64 {
			return nil
		}
		return cachedLocation(n)
	}
	if loc := try(name); loc != nil {
		return loc
	}
	segs := strings.Split(strings.Trim(name, "/"), "/")
	for i := 1; i+1 < len(segs); i++ {
		if loc := try(strings.Join(segs[i:], "/")); loc != nil {
			return loc
		}
	}
	return nil
}

// locations caches the zones time.LoadLocation found, by name:
// LoadLocation reads and parses the zone file on every call, and each
// calendar object has a resolver of its own, so a first sync of 5,000
// events read Europe/Berlin thousands of times (~0.1 s, bench/caldav).
// Misses are not kept: TZIDs come from anyone's calendar, zone names from
// a finite database.
var locations sync.Map // name → *time.Location

func cachedLocation(name string) *time.Location {
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	locations.Store(name, loc)
	return loc
}

// cityZone resolves Outlook display names used as TZIDs ("(UTC+01:00)
// Amsterdam, Berlin, Bern", "Kuala Lumpur, Singapore") by their first
// city that is an IANA zone in a continent folder.
func cityZone(tzid string) *time.Location {
	if strings.HasPrefix(tzid, "(") {
		if _, rest, ok := strings.Cut(tzid, ")"); ok {
			tzid = rest
		}
	}
	for _, city := range strings.FieldsFunc(tzid, func(r rune) bool { return r == ',' || r == ';' || r == '\\' }) {
		city = strings.ReplaceAll(strings.TrimSpace(city), " ", "_")
		if city == "" || strings.ContainsAny(city, "/.()") {
			continue
		}
		for _, region := range []string{"Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian"} {
			if loc := loadIANA(region + "/" + city); loc != nil {
				return loc
			}
		}
	}
	return nil
}

// timeValue is a parsed DATE or DATE-TIME value.
type timeValue struct {
	wall   time.Time // clock reading, in UTC fields
	zone   zone
	isDate bool
}

func (v timeValue) instant() time.Time { return v.zone.instant(v.wall) }

// parseTime parses one DATE or DATE-TIME value (RFC 5545 3.3.4/3.3.5):
// "Z" values are UTC, TZID values use the resolved zone, floating values
// and dates use the configured default zone.
func (r *tzResolver) parseTime(value string, params ical.Params) (timeValue, error) {
	value = strings.TrimSpace(value)
	isDate := strings.EqualFold(params.Get("VALUE"), "DATE") || len(value) == 8
	if isDate {
		t, err := time.Parse("20060102", value)
		if err != nil {
			return timeValue{}, fmt.Errorf("invalid date %q", value)
		}
		return timeValue{wall: t, zone: r.floating, isDate: true}, nil
	}
	if v, ok := strings.CutSuffix(strings.ToUpper(value), "Z"); ok {
		t, err := time.Parse("20060102T150405", v)
		if err != nil {
			return timeValue{}, fmt.Errorf("invalid date-time %q", value)
		}
		return timeValue{wall: t, zone: utcZone}, nil
	}
	t, err := time.Parse("20060102T150405", value)
	if err != nil {
		return timeValue{}, fmt.Errorf("invalid date-time %q", value)
	}
	z := r.floating
	if tzid := params.Get(ical.PropTimezoneID); tzid != "" {
		z = r.zone(tzid)
	}
	return timeValue{wall: t, zone: z}, nil
}

// prop parses the date or date-time of comp's first property name.
func (r *tzResolver) prop(comp *ical.Component, name string) (timeValue, bool, error) {
	p := comp.Props.Get(name)
	if p == nil {
		return timeValue{}, false, nil
	}
	v, err := r.parseTime(p.Value, p.Params)
	return v, true, err
}

// list parses every value of every name property (EXDATE, RDATE), each of
// which may hold several comma-separated values. PERIOD values
// ("start/end" or "start/duration") yield their start and end.
func (r *tzResolver) list(comp *ical.Component, name string) (starts []timeValue, ends []time.Time, bad int) {
	for _, p := range comp.Props.Values(name) {
		for _, s := range strings.Split(p.Value, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			start, rest, isPeriod := strings.Cut(s, "/")
			v, err := r.parseTime(start, p.Params)
			if err != nil {
				bad++
				continue
			}
			var end time.Time
			if isPeriod {
				end = r.periodEnd(v, rest, p.Params)
			}
			starts = append(starts, v)
			ends = append(ends, end)
		}
	}
	return starts, ends, bad
}

func (r *tzResolver) periodEnd(start timeValue, rest string, params ical.Params) time.Time {
	if d, err := parseDuration(rest); err == nil {
		return start.instant().Add(d)
	}
	if e, err := r.parseTime(rest, params); err == nil {
		return e.instant()
	}
	return time.Time{}
}

// maxDuration bounds parsed durations: nothing on a calendar lasts longer,
// and the bound keeps arithmetic far from overflow.
const maxDuration = 5 * 366 * 24 * time.Hour

// parseDuration parses an RFC 5545 duration ("PT1H30M", "-P1D", "P2W").
func parseDuration(s string) (time.Duration, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	var d time.Duration
	inTime := false
	for rest != "" {
		if r, ok := strings.CutPrefix(rest, "T"); ok {
			inTime, rest = true, r
			continue
		}
		i := strings.IndexFunc(rest, func(c rune) bool { return c < '0' || c > '9' })
		if i <= 0 || i > 9 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		n := time.Duration(0)
		for _, c := range rest[:i] {
			n = n*10 + time.Duration(c-'0')
		}
		unit := map[string]time.Duration{"W": 7 * 24 * time.Hour, "D": 24 * time.Hour}
		if inTime {
			unit = map[string]time.Duration{"H": time.Hour, "M": time.Minute, "S": time.Second}
		}
		u, ok := unit[rest[i:i+1]]
		if !ok {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		if n > maxDuration/u {
			return 0, fmt.Errorf("duration %q too long", s)
		}
		d += n * u
		if d > maxDuration {
			return 0, fmt.Errorf("duration %q too long", s)
		}
		rest = rest[i+1:]
	}
	if neg {
		d = -d
	}
	return d, nil
}
