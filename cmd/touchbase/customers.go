package main

import (
	"context"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/evaluate"
)

// dataFlags are the flags of the commands that ask the daemon or read the
// store.
type dataFlags struct {
	socket string
	asJSON bool
}

func (f *dataFlags) register(cmd *cobra.Command, jsonHelp string) {
	cmd.Flags().StringVar(&f.socket, "socket", "", "the daemon's socket (default: listen.socket from the configuration)")
	if jsonHelp != "" {
		cmd.Flags().BoolVar(&f.asJSON, "json", false, jsonHelp)
	}
}

// dataRunE is runE for the data commands: it builds the backend, runs fn
// and maps its errors to exit statuses (dataError).
func dataRunE(g *globals, f *dataFlags, fn func(ctx context.Context, b *backend, args []string) error) func(*cobra.Command, []string) error {
	return runE(func(cmd *cobra.Command, args []string) error {
		b, err := newBackend(g, f.socket)
		if err != nil {
			return err
		}
		defer b.close()
		return dataError(fn(cmd.Context(), b, args))
	})
}

func newCustomersCmd(g *globals) *cobra.Command {
	var (
		f  dataFlags
		at string
	)
	cmd := &cobra.Command{
		Use:   "customers [--at TIME]",
		Short: "One row per customer: last contact, observed cadence, worst commitment state, next due",
		Long: `One row per configured customer: its worst commitment state and next due
time, the last inbound and outbound contact, the counted interactions in the
last 30 and 90 days, the median interval between contact days and the trend.
A slipped customer's NEXT DUE says how long it is overdue ("overdue 9 d"),
and its state reads "slipped (silenced)" when silences cover every slipped
commitment; --json has "overdue_since" and "silenced".

With --at, evaluate as of another moment: a forecast of what will have
slipped by then. TIME is RFC 3339, a date (its end, in the configured time
zone), a local "2006-01-02 15:04", or a length from now (36h, 2d, 1w, 3bd).

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			when, q, err := atQuery(b, at)
			if err != nil {
				return err
			}
			cs, raw, err := ask(ctx, b, apiReq{path: "/v1/customers" + q},
				func(ctx context.Context, r *evaluate.Runner) ([]evaluate.CustomerView, error) {
					return r.Customers(ctx, when)
				})
			if err != nil {
				return err
			}
			if f.asJSON {
				return printJSON(g.stdout, raw, cs)
			}
			if when.IsZero() {
				when = clock()
			}
			return evaluate.RenderCustomers(g.stdout, cs, b.loc(), when)
		}),
	}
	f.register(cmd, "print a JSON array, one object per customer (SPEC field names)")
	cmd.Flags().StringVar(&at, "at", "", "evaluate as of TIME instead of now")
	return cmd
}

// atQuery parses --at (empty: now) and returns it with the query string
// that passes it to the daemon.
func atQuery(b *backend, at string) (time.Time, string, error) {
	if at == "" {
		return time.Time{}, "", nil
	}
	t, err := b.parseTime("at", at)
	if err != nil {
		return t, "", err
	}
	return t, "?" + url.Values{"at": {t.Format(time.RFC3339Nano)}}.Encode(), nil
}
