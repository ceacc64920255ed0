package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/webhooks"
)

// The data commands' tables. Times are shown in the display zone (see
// backend.loc) except in a customer's detail, which uses the customer's
// own zone and says so in its first line.

// printer is what a command prints with: its output, -o, the zone and the
// time ages are counted from.
type printer struct {
	w   io.Writer
	out *outputFlags
	tf  times
}

func newPrinter(w io.Writer, out *outputFlags, loc *time.Location, now time.Time) printer {
	return printer{w: w, out: out, tf: times{loc: loc, now: now}}
}

// width is how wide a line may be: tableWidth, or anything with -o wide.
func (p printer) width() int {
	if p.out.wide() {
		return math.MaxInt
	}
	return tableWidth
}

func (p printer) print(t *table) error {
	return t.write(p.w, tableOpts{wide: p.out.wide(), noHeaders: p.out.noHeaders, zone: p.tf.loc})
}

// contact is a past time: its age, and with -o wide the time too.
func (p printer) contact(t time.Time) string {
	if p.out.wide() {
		return p.tf.atAgo(t)
	}
	return p.tf.ago(t)
}

// overdue renders how long a slipped customer has been overdue: whole
// days, or hours within the first day (a short grace slips the same day).
func overdue(d time.Duration) string {
	if d < time.Hour {
		return "overdue < 1 h"
	}
	if d < 24*time.Hour {
		return fmt.Sprintf("overdue %d h", d/time.Hour)
	}
	return fmt.Sprintf("overdue %d d", d/(24*time.Hour))
}

// days renders a Go duration string of whole days as "7d".
func days(d *string) string {
	if d == nil {
		return "-"
	}
	v, err := time.ParseDuration(*d)
	if err != nil {
		return *d
	}
	if v%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", v/(24*time.Hour))
	}
	return v.String()
}

func marked(state string, silenced bool) string {
	if silenced {
		return state + " (silenced)"
	}
	return state
}

// renderCustomers prints `touchbase customers` as evaluated at p's now: a
// slipped customer's NEXT DUE says how long it is overdue then.
func renderCustomers(p printer, cs []evaluate.CustomerView) error {
	// The zone is named where a time is shown: NEXT DUE shows one unless
	// every customer is overdue or has nothing due.
	times := p.out.wide() || slices.ContainsFunc(cs, func(c evaluate.CustomerView) bool {
		return c.NextDueAt != nil && c.OverdueSince == nil
	})
	t := newTable(col{name: "ID"}, col{name: "NAME", flex: true}, col{name: "STATE"}, col{name: "OWNER", wide: true},
		col{name: "TIER", wide: true}, col{name: "NEXT DUE", zone: times}, col{name: "LAST IN"}, col{name: "LAST OUT"},
		col{name: "30D"}, col{name: "90D"}, col{name: "MEDIAN", wide: true}, col{name: "TREND"})
	for _, c := range cs {
		due := p.tf.atAgo(deref(c.NextDueAt))
		if c.OverdueSince != nil {
			due = overdue(p.tf.now.Sub(*c.OverdueSince))
			if p.out.wide() {
				due = p.tf.at(*c.OverdueSince) + " (" + due + ")"
			}
		}
		t.add(c.ID, c.Name, marked(string(c.State), c.Silenced), c.Owner, c.Tier, due, p.contact(deref(c.LastInboundAt)),
			p.contact(deref(c.LastOutboundAt)), strconv.Itoa(c.Contacts30d), strconv.Itoa(c.Contacts90d), days(c.MedianInterval),
			string(c.Trend))
	}
	return p.print(t)
}

// renderAlerts prints `touchbase alerts`; a forecast's rows say when the
// alert would open rather than when it did.
func renderAlerts(p printer, as []evaluate.AlertView) error {
	t := newTable(col{name: "STATE"}, col{name: "CUSTOMER"}, col{name: "COMMITMENT"}, col{name: "TYPE", wide: true},
		col{name: "DUE", zone: true}, col{name: "OPENED"}, col{name: "NOTIFIED", wide: true}, col{name: "REPEATS", wide: true},
		col{name: "ABOUT", flex: true}, col{name: "ID", wide: true})
	for _, a := range as {
		state := a.State
		if a.Resolution != "" {
			state += " (" + a.Resolution + ")"
		}
		state = marked(state, a.Silenced)
		if a.Forecast {
			state += " (forecast)"
		}
		about := ""
		if a.About != nil {
			about = a.About.Subject
		}
		t.add(state, a.CustomerID, a.Commitment, string(a.Type), p.tf.atAgo(deref(a.DueAt)), p.contact(a.OpenedAt),
			p.tf.atAgo(deref(a.LastNotifiedAt)), strconv.Itoa(a.Repeats), about, a.ID)
	}
	return p.print(t)
}

// renderCustomer prints `touchbase customer ID` in the customer's zone.
func renderCustomer(p printer, d evaluate.CustomerDetail) error {
	p.tf = times{loc: customerZone(d), now: d.EvaluatedAt}
	w := p.w
	fmt.Fprintf(w, "%s (%s): %s; owner %s; tier %s; times in %s\n", d.Name, d.ID, marked(string(d.State), d.Silenced),
		cmp.Or(d.Owner, "-"), cmp.Or(d.Tier, "-"), zoneName(p.tf.loc))
	fmt.Fprintf(w, "evaluated at %s\n\n", p.tf.at(d.EvaluatedAt))
	// The first line names the zone: the tables do not repeat it.
	tables := printer{w: w, out: p.out, tf: times{loc: nil, now: d.EvaluatedAt}}
	cm := newTable(col{name: "COMMITMENT"}, col{name: "TYPE"}, col{name: "STATE"}, col{name: "DUE"}, col{name: "SLIPS", wide: true},
		col{name: "LAST"}, col{name: "EXPECTED", flex: true})
	for _, c := range d.Commitments {
		var last time.Time
		if c.Last != nil {
			last = c.Last.At
		}
		cm.add(c.Name, string(c.Type), marked(string(c.State), c.Silenced), p.tf.atAgo(deref(c.DueAt)), p.tf.at(deref(c.SlipsAt)),
			p.contact(last), c.Expected)
	}
	if err := tables.print(cm); err != nil {
		return err
	}
	o := d.Observed
	recip := "-"
	if o.Reciprocity != nil {
		recip = fmt.Sprintf("%.0f%% inbound", *o.Reciprocity*100)
	}
	fmt.Fprintf(w, "\nobserved: %d contacts in 30 days (%d in, %d out, %d meetings), %d in 90 days; median interval %s;\n",
		o.Contacts30d.Total, o.Contacts30d.Inbound, o.Contacts30d.Outbound, o.Contacts30d.Meeting, o.Contacts90d.Total, days(o.MedianInterval))
	fmt.Fprintf(w, "%.2f contact days a week (usually %.2f, trend %s); reciprocity %s\n", o.RatePerWeek, o.BaselinePerWk,
		cmp.Or(string(o.Trend), "-"), recip)
	if len(d.People) > 0 {
		fmt.Fprintln(w)
		pt := newTable(col{name: "PERSON", flex: true}, col{name: "CONTACTS"}, col{name: "LAST"})
		for _, pe := range d.People {
			pt.add(pe.Address, strconv.Itoa(pe.Contacts), p.tf.atAgo(pe.LastAt))
		}
		if err := tables.print(pt); err != nil {
			return err
		}
	}
	if len(d.Timeline) > 0 {
		fmt.Fprintln(w)
		tl := newTable(col{name: "WHEN"}, col{name: "KIND"}, col{name: "DIRECTION"}, col{name: "SUBJECT", flex: true},
			col{name: "PEOPLE", flex: true})
		for _, e := range d.Timeline {
			when := p.tf.at(e.At)
			if e.Planned {
				when += " (planned)"
			}
			tl.add(when, string(e.Kind), string(e.Direction), e.Subject, strings.Join(e.People, ", "))
		}
		if err := tables.print(tl); err != nil {
			return err
		}
	}
	for _, s := range d.Silences {
		fmt.Fprintf(w, "\nsilenced %s until %s: %s\n", cmp.Or(s.Commitment, "-"), p.tf.atAgo(s.EndsAt), cmp.Or(s.Reason, "-"))
	}
	return nil
}

// customerZone is the zone a customer's detail is shown in.
func customerZone(d evaluate.CustomerDetail) *time.Location {
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// renderSuggestions prints `touchbase suggest`: each proposal as YAML to
// paste into the customer's commitments, with its evidence.
func renderSuggestions(p printer, ss []evaluate.SuggestionView) error {
	w := p.w
	if len(ss) == 0 {
		_, err := fmt.Fprintln(w, "No suggestions: nothing in the history recurs steadily that the configuration does not declare.")
		return err
	}
	for i, s := range ss {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "customer %s (%s):\n%s", s.CustomerID, s.CustomerName, s.Policy)
		if len(s.Evidence) > 0 {
			fmt.Fprintf(w, "# from (%s):\n", zoneName(p.tf.loc))
		}
		for _, e := range s.Evidence {
			if _, err := fmt.Fprintf(w, "#   %s  %s\n", e.At.In(p.tf.loc).Format("2006-01-02 Mon 15:04"), e.Subject); err != nil {
				return err
			}
		}
	}
	return nil
}

// renderUnmatched prints `touchbase unmatched`.
func renderUnmatched(p printer, us []evaluate.UnmatchedView) error {
	if len(us) == 0 {
		_, err := fmt.Fprintln(p.w, "No unmatched traffic: every counted-looking mail and meeting in the window touches a customer.")
		return err
	}
	t := newTable(col{name: "DOMAIN"}, col{name: "TOTAL"}, col{name: "IN"}, col{name: "OUT"}, col{name: "PEOPLE"},
		col{name: "FIRST", wide: true, zone: true}, col{name: "LAST", zone: true}, col{name: "ADDRESSES", flex: true})
	for _, u := range us {
		addrs := strings.Join(u.Addresses, ", ")
		if more := u.People - len(u.Addresses); more > 0 {
			addrs += fmt.Sprintf(" (+%d)", more)
		}
		t.add(u.Domain, strconv.Itoa(u.Interactions), strconv.Itoa(u.Inbound), strconv.Itoa(u.Outbound), strconv.Itoa(u.People),
			p.tf.atAgo(u.FirstAt), p.tf.atAgo(u.LastAt), addrs)
	}
	return p.print(t)
}

// renderSilences prints `touchbase silence list` and `silence add`.
func renderSilences(p printer, ss []cadence.Silence) error {
	t := newTable(col{name: "ID"}, col{name: "CUSTOMER"}, col{name: "COMMITMENT"}, col{name: "FROM", zone: true},
		col{name: "UNTIL"}, col{name: "AUTHOR"}, col{name: "REASON", flex: true}, col{name: "CREATED", wide: true})
	at := p.tf.at
	if p.out.wide() {
		at = p.tf.atAgo
	}
	for _, s := range ss {
		t.add(s.ID, s.CustomerID, s.Commitment, at(s.StartsAt), at(s.EndsAt), s.Author, s.Reason, p.tf.atAgo(s.CreatedAt))
	}
	return p.print(t)
}

// renderEndpoints prints `touchbase webhooks list`. Hosts only: a URL's
// path may hold a token.
func renderEndpoints(p printer, eps []webhooks.Endpoint) error {
	t := newTable(col{name: "NAME"}, col{name: "HEALTH"}, col{name: "FORMAT"}, col{name: "EVENTS", wide: true},
		col{name: "PENDING"}, col{name: "FAILED"}, col{name: "LAST DELIVERED", zone: p.out.wide()}, col{name: "LAST STATUS"},
		col{name: "HOST", flex: true}, col{name: "NOTE", flex: true})
	for _, e := range eps {
		note := e.LastError
		if e.DisabledReason != "" {
			note = "disabled " + p.tf.at(e.DisabledAt) + ": " + e.DisabledReason
		}
		events := strings.Join(e.Events, ",")
		if e.Configured && events == "" {
			events = "all"
		}
		t.add(e.Name, e.Health, e.Format, events, strconv.Itoa(e.Pending), strconv.Itoa(e.Failed), p.contact(e.LastDeliveredAt),
			statusText(e.LastStatus, !e.LastAttemptAt.IsZero()), e.Host, note)
	}
	return p.print(t)
}

// renderDeliveries prints `touchbase webhooks deliveries`.
func renderDeliveries(p printer, ds []store.Delivery) error {
	t := newTable(col{name: "ID"}, col{name: "CREATED", zone: p.out.wide()}, col{name: "ENDPOINT"}, col{name: "TYPE"},
		col{name: "WEBHOOK-ID", wide: true}, col{name: "STATE"}, col{name: "ATTEMPTS"}, col{name: "STATUSES"},
		col{name: "NEXT ATTEMPT"}, col{name: "LAST ERROR", flex: true})
	for _, d := range ds {
		codes := make([]string, 0, len(d.Log))
		for _, a := range d.Log {
			codes = append(codes, statusText(a.Status, true))
		}
		if len(codes) > 8 {
			codes = append([]string{"…"}, codes[len(codes)-8:]...)
		}
		next := ""
		if !d.NextAttemptAt.IsZero() {
			next = "now"
			if d.NextAttemptAt.After(p.tf.now) {
				next = p.tf.ago(d.NextAttemptAt)
			}
		}
		t.add(strconv.FormatInt(d.ID, 10), p.contact(d.CreatedAt), d.Endpoint, d.EventType, d.EventID, d.State,
			strconv.Itoa(d.Attempts), strings.Join(codes, " "), next, d.LastError)
	}
	return p.print(t)
}

// statusText is an attempt's status for tables: the code, or "err" when no
// response came.
func statusText(status int, attempted bool) string {
	switch {
	case !attempted:
		return "-"
	case status == 0:
		return "err"
	}
	return strconv.Itoa(status)
}
