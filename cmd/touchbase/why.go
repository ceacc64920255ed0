package main

import (
	"cmp"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
)

// renderWhy prints `touchbase customer ID --why`, times in the customer's
// zone, named in the first line.
func renderWhy(p printer, d evaluate.CustomerDetail) error {
	w := p.w
	tf := times{loc: customerZone(d), now: d.EvaluatedAt}
	at := func(t *time.Time) string { return tf.at(deref(t)) }
	fmt.Fprintf(w, "%s (%s): %s; owner %s; times in %s; evaluated at %s\n", d.Name, d.ID, d.State, cmp.Or(d.Owner, "-"),
		zoneName(tf.loc), at(&d.EvaluatedAt))
	for _, c := range d.Commitments {
		state := string(c.State)
		if c.Silenced {
			state += " (silenced)"
		}
		fmt.Fprintf(w, "\n%s (%s): %s\n", c.Name, c.Type, state)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		r := c.Reason
		fmt.Fprintf(tw, "  rule\t%s\n", r.Rule)
		due := tf.atAgo(deref(r.DueAt))
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
	t := newTable(col{name: "WHEN"}, col{name: "KIND"}, col{name: "DIRECTION"}, col{name: "REASON"}, col{name: "FROM", flex: true},
		col{name: "SUBJECT", flex: true})
	for _, n := range d.NotCounted {
		t.add(at(&n.At), string(n.Kind), string(n.Direction), string(n.Reason), n.Sender, n.Subject)
	}
	return t.write(w, tableOpts{wide: p.out.wide()})
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
