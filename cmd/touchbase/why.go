package main

import (
	"cmp"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
)

const whyLayout = "2006-01-02 15:04"

// renderWhy prints `touchbase customer ID --why`, times in the customer's
// zone.
func renderWhy(w io.Writer, d evaluate.CustomerDetail) error {
	loc, err := time.LoadLocation(d.Timezone)
	if err != nil {
		loc = time.UTC
	}
	at := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "-"
		}
		return t.In(loc).Format(whyLayout)
	}
	fmt.Fprintf(w, "%s (%s): %s; owner %s; times in %s; evaluated at %s\n", d.Name, d.ID, d.State, cmp.Or(d.Owner, "-"),
		d.Timezone, at(&d.EvaluatedAt))
	for _, c := range d.Commitments {
		state := string(c.State)
		if c.Silenced {
			state += " (silenced)"
		}
		fmt.Fprintf(w, "\n%s (%s): %s\n", c.Name, c.Type, state)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		r := c.Reason
		fmt.Fprintf(tw, "  rule\t%s\n", r.Rule)
		due := at(r.DueAt)
		if r.SlipsAt != nil {
			due += ", slips " + at(r.SlipsAt)
		}
		if c.Met {
			due += " (already done)"
		}
		fmt.Fprintf(tw, "  due\t%s\n", due)
		fmt.Fprintf(tw, "  last satisfied by\t%s\n", refLine(r.LastSatisfying, at))
		if c.About != nil {
			fmt.Fprintf(tw, "  about\t%s\n", refLine(c.About, at))
		}
		if c.State != cadence.OK {
			fmt.Fprintf(tw, "  would satisfy it\t%s\n", c.Expected)
		}
		for _, s := range r.StaleSources {
			since := "never synced"
			if s.LastSuccessAt != nil {
				since = "last synced " + at(s.LastSuccessAt)
			}
			fmt.Fprintf(tw, "  unknown: stale source\t%s, %s\n", s.Source, since)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if d.WhySince == nil {
		return nil
	}
	if len(d.NotCounted) == 0 {
		_, err := fmt.Fprintf(w, "\nEverything since %s counted.\n", at(d.WhySince))
		return err
	}
	fmt.Fprintf(w, "\nDid not count since %s:\n", at(d.WhySince))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tKIND\tDIRECTION\tREASON\tFROM\tSUBJECT")
	for _, n := range d.NotCounted {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", at(&n.At), n.Kind, cmp.Or(string(n.Direction), "-"), n.Reason, cmp.Or(n.Sender, "-"), n.Subject)
	}
	return tw.Flush()
}

// refLine describes an interaction in one line.
func refLine(r *cadence.Ref, at func(*time.Time) string) string {
	if r == nil {
		return "nothing in the history kept"
	}
	what := string(r.Kind)
	if r.Direction != "" {
		what = string(r.Direction) + " " + what
	}
	return fmt.Sprintf("%s %s %q", at(&r.At), what, r.Subject)
}
