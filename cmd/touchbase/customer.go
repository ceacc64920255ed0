package main

import (
	"context"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/evaluate"
)

func newCustomerCmd(g *globals) *cobra.Command {
	var (
		f  dataFlags
		at string
	)
	cmd := &cobra.Command{
		Use:   "customer ID [--at TIME]",
		Short: "One customer: commitments with state and due time, observed frequency, people, timeline",
		Long: `One customer in detail: each commitment with its state, due time and what
would satisfy it; the observed frequency; the people at the customer who
were touched; the recent timeline and the planned meetings; its silences.
Times are shown in the customer's time zone.

An ID the configuration lacks is a usage error (exit status 2). --at works
as for ` + "`touchbase customers`" + `. Asks the running daemon over its socket;
without one, reads the store.`,
		Args: cobra.ExactArgs(1),
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, args []string) error {
			when, q, err := atQuery(b, at)
			if err != nil {
				return err
			}
			id := args[0]
			d, raw, err := ask(ctx, b, apiReq{path: "/v1/customers/" + url.PathEscape(id) + q, notFound: evaluate.ErrNoCustomer},
				func(ctx context.Context, r *evaluate.Runner) (evaluate.CustomerDetail, error) {
					return r.Customer(ctx, id, when)
				})
			if err != nil {
				return err
			}
			if f.asJSON {
				return printJSON(g.stdout, raw, d)
			}
			return evaluate.RenderCustomer(g.stdout, d)
		}),
	}
	f.register(cmd, "print the customer as a JSON object")
	cmd.Flags().StringVar(&at, "at", "", "evaluate as of TIME instead of now")
	return cmd
}
