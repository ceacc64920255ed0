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
	out    outputFlags
}

// register adds --socket and the output flags (see outputFlags.register).
func (f *dataFlags) register(cmd *cobra.Command, jsonHelp string, headers bool) {
	cmd.Flags().StringVar(&f.socket, "socket", "", "the daemon's socket (default: listen.socket from the configuration)")
	f.out.register(cmd, jsonHelp, headers)
}

// dataRunE is runE for the data commands: it builds the backend, runs fn
// and maps its errors to exit statuses (dataError).
func dataRunE(g *globals, f *dataFlags, fn func(ctx context.Context, b *backend, args []string) error) func(*cobra.Command, []string) error {
	return runE(func(cmd *cobra.Command, args []string) error {
		if err := f.out.check(); err != nil {
			return err
		}
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
		f   dataFlags
		flt filterFlags
		at  string
	)
	cmd := &cobra.Command{
		Use:   "customers [--at TIME] [--owner NAME] [--state STATE] [--tier TIER]",
		Short: "One row per customer: last contact, observed cadence, worst commitment state, next due",
		Long: `One row per configured customer: its worst commitment state and next due
time, the last inbound and outbound contact (how long ago), the counted
interactions in the last 30 and 90 days and the trend; -o wide adds the
owner, the tier, the median interval between contact days and the times
of the last contacts. A slipped customer's NEXT DUE says how long it is
overdue ("overdue 9 d"), and its state reads "slipped (silenced)" when
silences cover every slipped commitment; --json has "overdue_since" and
"silenced".

--owner, --state and --tier keep the customers that match (each flag
repeatable or a comma list: --state slipped,at_risk); STATE is ok,
at_risk, slipped, unknown or none.

With --at, evaluate as of another moment: a forecast of what will have
slipped by then, or the past as the store knows it now.

` + timeHelp + `

` + tableHelp + `

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			if err := flt.check(b.cfg); err != nil {
				return err
			}
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
			if flt.active() {
				cs, raw = flt.customers(cs), nil
			}
			if f.out.json() {
				return printJSON(g.stdout, raw, cs)
			}
			if when.IsZero() {
				when = clock()
			}
			return renderCustomers(newPrinter(g.stdout, &f.out, b.loc(), when), cs)
		}),
	}
	f.register(cmd, "print a JSON array, one object per customer (SPEC field names)", true)
	flt.register(cmd, g, customerStates)
	cmd.Flags().StringVar(&at, "at", "", "evaluate as of TIME instead of now (now, tomorrow, -2w, 2026-12-24, RFC 3339, ...)")
	return cmd
}

// timeHelp says what a TIME flag reads (evaluate.ParseTime).
const timeHelp = `TIME is now, today, tomorrow or yesterday; a date (2026-12-24) or a
local time (2026-12-24 17:00) in the configured timezone (the machine's own
when the configuration names none); a length from now, ahead or back (+3d,
36h, -2w, -36h, 3bd); or RFC 3339 (2026-12-24T17:00:00+01:00). A day means
its end: --at tomorrow is "by the end of tomorrow".`

// tableHelp says how tables print.
const tableHelp = `Times are shown in the configured timezone (the machine's own when the
configuration names none), named once in the table's header, with ages
such as "3 d ago" and "in 2 d". The table fits 100 columns, cutting long
text with "…"; -o wide shows every column in full, -o json (or --json)
prints JSON with RFC 3339 times, --no-headers leaves out the header line.`

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
