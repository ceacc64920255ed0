package main

import (
	"context"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/evaluate"
)

func newCustomerCmd(g *globals) *cobra.Command {
	var (
		f   dataFlags
		at  string
		why bool
	)
	cmd := &cobra.Command{
		Use:   "customer ID [--at TIME] [--why]",
		Short: "One customer: commitments with state and due time, observed frequency, people, timeline",
		Long: `One customer in detail: each commitment with its state, due time and what
would satisfy it; the observed frequency; the people at the customer who
were touched; the recent timeline and the planned meetings; its silences.
Times are shown in the customer's time zone, named in the first line, with
ages such as "3 d ago"; -o wide adds when each commitment slips (after its
grace) and shows the full times of the last contacts.

--why explains every state instead: for each commitment the rule, the due
time, the interaction that last satisfied it and, for unknown, the stale
sources behind it (and since when they have not synced); then the
customer's mail and meetings that did not count, each with its reason
(list, bulk, automated, auto_reply, bounce, excluded, cancelled,
declined), over the longest of the customer's commitment spans (30 days
at least) before the evaluation time. --json includes the same.

An ID the configuration lacks is a usage error (exit status 2). --at
evaluates as of another moment, as for ` + "`touchbase customers`" + `.

` + timeHelp + `

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.ExactArgs(1),
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, args []string) error {
			when, q, err := atQuery(b, at)
			if err != nil {
				return err
			}
			id := args[0]
			get := (*evaluate.Runner).Customer
			if why {
				get = (*evaluate.Runner).Why
				q = addQuery(q, "why", "true")
			}
			d, raw, err := ask(ctx, b, apiReq{path: "/v1/customers/" + url.PathEscape(id) + q, notFound: evaluate.ErrNoCustomer},
				func(ctx context.Context, r *evaluate.Runner) (evaluate.CustomerDetail, error) {
					return get(r, ctx, id, when)
				})
			if err != nil {
				return err
			}
			p := newPrinter(g.stdout, &f.out, b.loc(), d.EvaluatedAt)
			switch {
			case f.out.json():
				return printJSON(g.stdout, raw, d)
			case why:
				return renderWhy(p, d)
			}
			return renderCustomer(p, d)
		}),
	}
	f.register(cmd, "print the customer as a JSON object", false)
	cmd.ValidArgsFunction = completeCustomers(g)
	cmd.Flags().StringVar(&at, "at", "", "evaluate as of TIME instead of now (now, tomorrow, -2w, 2026-12-24, RFC 3339, ...)")
	cmd.Flags().BoolVar(&why, "why", false, "explain every state and list the mail and meetings that did not count")
	return cmd
}

// addQuery appends key=value to a query string that is empty or starts
// with "?".
func addQuery(q, key, value string) string {
	sep := "?"
	if q != "" {
		sep = "&"
	}
	return q + sep + url.Values{key: {value}}.Encode()
}
