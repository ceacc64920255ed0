package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/at"
	"github.com/rickar/cal/v2/be"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/dk"
	"github.com/rickar/cal/v2/ee"
	"github.com/rickar/cal/v2/es"
	"github.com/rickar/cal/v2/fi"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/is"
	"github.com/rickar/cal/v2/it"
	"github.com/rickar/cal/v2/lt"
	"github.com/rickar/cal/v2/lv"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/no"
	"github.com/rickar/cal/v2/pl"
	"github.com/rickar/cal/v2/se"
	"github.com/rickar/cal/v2/us"

	"github.com/touchbase/touchbase/cadence"
)

// countries maps an ISO 3166 code to the national holidays rickar/cal
// defines for it, taken whole: for Sweden and Finland that includes
// Midsummer Eve and Christmas Eve (and for Sweden New Year's Eve), which
// are not public holidays by law but days nobody works. Countries whose
// list mixes in regional days are left out (Switzerland's has cantonal
// ones): a day off where the customer works would delay alerts for
// nothing; extra_holidays can add what a country list lacks.
var countries = map[string][]*cal.Holiday{
	"AT": at.Holidays, "BE": be.Holidays, "DE": de.Holidays, "DK": dk.Holidays,
	"EE": ee.Holidays, "ES": es.Holidays, "FI": fi.Holidays, "FR": fr.Holidays,
	"GB": gb.Holidays, "IE": ie.Holidays, "IS": is.Holidays, "IT": it.Holidays,
	"LT": lt.Holidays, "LV": lv.Holidays, "NL": nl.Holidays, "NO": no.Holidays,
	"PL": pl.Holidays, "SE": se.Holidays, "US": us.Holidays,
}

// noHolidays is the `holidays:` value that turns a country off, so a
// customer can opt out of the top-level default.
const noHolidays = "none"

// date is a calendar day without a zone.
type date struct {
	y int
	m time.Month
	d int
}

// calendar is the days off of one country plus extra dates. A country's
// holidays are computed a year at a time on first use and kept:
// evaluation asks about the same few years over and over, from several
// goroutines.
type calendar struct {
	list  []*cal.Holiday
	extra map[date]bool
	years sync.Map // year → map[date]bool
}

// has is a cadence.Holidays.
func (c *calendar) has(y int, m time.Month, d int) bool {
	day := date{y, m, d}
	if c.extra[day] {
		return true
	}
	if len(c.list) == 0 {
		return false
	}
	days, ok := c.years.Load(y)
	if !ok {
		days, _ = c.years.LoadOrStore(y, c.year(y))
	}
	return days.(map[date]bool)[day]
}

// year lists the country's days off in year y. rickar/cal gives each
// holiday's actual date and the date it is observed on (a UK bank holiday
// on a Sunday is observed on Monday): the observed one is the day off.
func (c *calendar) year(y int) map[date]bool {
	days := map[date]bool{}
	for _, h := range c.list {
		_, obs := h.Calc(y)
		if obs.IsZero() {
			continue // not observed that year
		}
		oy, om, od := obs.Date()
		days[date{oy, om, od}] = true
	}
	return days
}

// holidayCountry checks a `holidays:` value and returns it upper-cased;
// "" after a problem was recorded or when s is empty.
func (b *builder) holidayCountry(key, s string) string {
	code := strings.ToUpper(strings.TrimSpace(s))
	if code == "" || code == strings.ToUpper(noHolidays) {
		return strings.ToLower(code)
	}
	if _, ok := countries[code]; !ok {
		hint := ""
		if code == "UK" {
			hint = "; the United Kingdom's code is GB" // the one everybody tries
		}
		codes := slices.Sorted(maps.Keys(countries))
		b.p.add(key, "unknown holiday country %q (want an ISO 3166 code: %s; or %s%s)", s, strings.Join(codes, ", "), noHolidays, hint)
		return ""
	}
	return code
}

// extraHolidays parses a list of dates (YYYY-MM-DD), returned in that
// form, sorted and without repeats. YAML reads an unquoted date as a
// timestamp, so both forms are accepted.
func (b *builder) extraHolidays(key string, rs []rawDate) []string {
	var out []string
	for i, r := range rs {
		ik := fmt.Sprintf("%s[%d]", key, i)
		var d time.Time
		var err error
		shown := fmt.Sprint(r)
		switch v := r.(type) {
		case time.Time:
			d, shown = v, v.Format(time.RFC3339)
			if !v.Equal(v.Truncate(24*time.Hour)) || v.Location() != time.UTC {
				err = fmt.Errorf("has a time of day")
			}
		case string:
			d, err = time.Parse(time.DateOnly, strings.TrimSpace(v))
		default:
			err = fmt.Errorf("not a date")
		}
		if err != nil {
			b.p.add(ik, "invalid date %q: want YYYY-MM-DD", shown)
			continue
		}
		out = append(out, d.Format(time.DateOnly))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// customerHolidays builds the days off of one customer: its own country
// or else the top-level one (noHolidays: none), plus the top-level and
// its own extra dates. It returns nil when that is nothing, so business
// days skip weekends only. Customers with the same days share a calendar.
func (b *builder) customerHolidays(key string, r rawCustomer, c *Config) cadence.Holidays {
	code := c.Holidays
	if r.Holidays != "" {
		code = b.holidayCountry(key+".holidays", r.Holidays)
	}
	extra := slices.Concat(c.ExtraHolidays, b.extraHolidays(key+".extra_holidays", r.ExtraHolidays))
	slices.Sort(extra)
	extra = slices.Compact(extra)
	list := countries[code] // nil for "", noHolidays
	if list == nil && len(extra) == 0 {
		return nil
	}
	id := code + " " + strings.Join(extra, " ")
	if hc, ok := b.calendars[id]; ok {
		return hc.has
	}
	hc := &calendar{list: list, extra: map[date]bool{}}
	for _, s := range extra {
		d, _ := time.Parse(time.DateOnly, s) // extraHolidays wrote it
		hc.extra[date{d.Year(), d.Month(), d.Day()}] = true
	}
	if b.calendars == nil {
		b.calendars = map[string]*calendar{}
	}
	b.calendars[id] = hc
	return hc.has
}
