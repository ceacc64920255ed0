package evaluate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// The renderers print aligned tables for people; --json prints the views
// themselves. Times are shown in loc (the configuration's zone) except in
// a customer's detail, which uses the customer's zone.

const stampLayout = "2006-01-02 15:04"

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func stamp(t *time.Time, loc *time.Location) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(stampLayout)
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RenderCustomers prints `touchbase customers` as evaluated at now: a
// slipped customer's NEXT DUE says how long it is overdue as of now.
func RenderCustomers(w io.Writer, cs []CustomerView, loc *time.Location, now time.Time) error {
	tw := table(w)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tNEXT DUE\tLAST IN\tLAST OUT\t30D\t90D\tMEDIAN\tTREND")
	for _, c := range cs {
		state := string(c.State)
		if c.Silenced {
			state += " (silenced)"
		}
		due := stamp(c.NextDueAt, loc)
		if c.OverdueSince != nil {
			due = overdue(now.Sub(*c.OverdueSince))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", c.ID, c.Name, state, due,
			stamp(c.LastInboundAt, loc), stamp(c.LastOutboundAt, loc), c.Contacts30d, c.Contacts90d, days(c.MedianInterval),
			dash(string(c.Trend)))
	}
	return tw.Flush()
}

// RenderCustomer prints `touchbase customer ID`.
func RenderCustomer(w io.Writer, d CustomerDetail) error {
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		loc = time.UTC
	}
	tw := table(w)
	state := string(d.State)
	if d.Silenced {
		state += " (silenced)"
	}
	fmt.Fprintf(tw, "%s (%s)\tstate %s\towner %s\ttime zone %s\n", d.Name, d.ID, state, dash(d.Owner), d.Timezone)
	fmt.Fprintf(tw, "evaluated at %s\n\n", d.EvaluatedAt.In(loc).Format(stampLayout))
	fmt.Fprintln(tw, "COMMITMENT\tTYPE\tSTATE\tDUE\tSLIPS\tLAST\tEXPECTED")
	for _, c := range d.Commitments {
		state = string(c.State)
		if c.Silenced {
			state += " (silenced)"
		}
		var last *time.Time
		if c.Last != nil {
			last = &c.Last.At
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Type, state, stamp(c.DueAt, loc), stamp(c.SlipsAt, loc),
			stamp(last, loc), c.Expected)
	}
	o := d.Observed
	recip := "-"
	if o.Reciprocity != nil {
		recip = fmt.Sprintf("%.0f%% inbound", *o.Reciprocity*100)
	}
	fmt.Fprintf(tw, "\nobserved: %d contacts in 30 days (%d in, %d out, %d meetings), %d in 90 days; median interval %s;\n",
		o.Contacts30d.Total, o.Contacts30d.Inbound, o.Contacts30d.Outbound, o.Contacts30d.Meeting, o.Contacts90d.Total, days(o.MedianInterval))
	fmt.Fprintf(tw, "%.2f contact days a week (usually %.2f, trend %s); reciprocity %s\n", o.RatePerWeek, o.BaselinePerWk, dash(string(o.Trend)), recip)
	if len(d.People) > 0 {
		fmt.Fprintln(tw, "\nPERSON\tCONTACTS\tLAST")
		for _, p := range d.People {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", p.Address, p.Contacts, stamp(&p.LastAt, loc))
		}
	}
	if len(d.Timeline) > 0 {
		fmt.Fprintln(tw, "\nWHEN\tKIND\tDIRECTION\tSUBJECT\tPEOPLE")
		for _, e := range d.Timeline {
			when := e.At.In(loc).Format(stampLayout)
			if e.Planned {
				when += " (planned)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", when, e.Kind, dash(string(e.Direction)), e.Subject, strings.Join(e.People, ", "))
		}
	}
	for _, s := range d.Silences {
		fmt.Fprintf(tw, "\nsilenced %s until %s: %s\n", dash(s.Commitment), s.EndsAt.In(loc).Format(stampLayout), dash(s.Reason))
	}
	return tw.Flush()
}

// RenderAlerts prints `touchbase alerts`.
func RenderAlerts(w io.Writer, as []AlertView, loc *time.Location) error {
	tw := table(w)
	fmt.Fprintln(tw, "STATE\tCUSTOMER\tCOMMITMENT\tDUE\tOPENED\tNOTIFIED\tREPEATS\tABOUT\tID")
	for _, a := range as {
		state := a.State
		if a.Resolution != "" {
			state += " (" + a.Resolution + ")"
		}
		if a.Silenced {
			state += " (silenced)"
		}
		about := "-"
		if a.About != nil {
			about = a.About.Subject
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", state, dash(a.CustomerID), a.Commitment, stamp(a.DueAt, loc),
			stamp(&a.OpenedAt, loc), stamp(a.LastNotifiedAt, loc), a.Repeats, dash(about), a.ID)
	}
	return tw.Flush()
}

// RenderSuggestions prints `touchbase suggest`: each proposal as YAML to
// paste into the customer's commitments, with its evidence.
func RenderSuggestions(w io.Writer, ss []SuggestionView, loc *time.Location) error {
	if len(ss) == 0 {
		_, err := fmt.Fprintln(w, "No suggestions: nothing in the history recurs steadily that the configuration does not declare.")
		return err
	}
	for i, s := range ss {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "customer %s (%s):\n%s", s.CustomerID, s.CustomerName, s.Policy)
		for _, e := range s.Evidence {
			if _, err := fmt.Fprintf(w, "#   %s  %s\n", e.At.In(loc).Format("2006-01-02 Mon 15:04"), e.Subject); err != nil {
				return err
			}
		}
	}
	return nil
}

// RenderUnmatched prints `touchbase unmatched`.
func RenderUnmatched(w io.Writer, us []UnmatchedView, loc *time.Location) error {
	if len(us) == 0 {
		_, err := fmt.Fprintln(w, "No unmatched traffic: every counted-looking mail and meeting in the window touches a customer.")
		return err
	}
	tw := table(w)
	fmt.Fprintln(tw, "DOMAIN\tTOTAL\tIN\tOUT\tPEOPLE\tFIRST\tLAST\tADDRESSES")
	for _, u := range us {
		addrs := strings.Join(u.Addresses, ", ")
		if more := u.People - len(u.Addresses); more > 0 {
			addrs += fmt.Sprintf(" (+%d)", more)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", u.Domain, u.Interactions, u.Inbound, u.Outbound, u.People,
			stamp(&u.FirstAt, loc), stamp(&u.LastAt, loc), addrs)
	}
	return tw.Flush()
}

// RenderSilences prints `touchbase silence list`.
func RenderSilences(w io.Writer, ss []cadence.Silence, loc *time.Location) error {
	tw := table(w)
	fmt.Fprintln(tw, "ID\tCUSTOMER\tCOMMITMENT\tFROM\tUNTIL\tAUTHOR\tREASON")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.CustomerID, dash(s.Commitment), stamp(&s.StartsAt, loc),
			stamp(&s.EndsAt, loc), dash(s.Author), dash(s.Reason))
	}
	return tw.Flush()
}
