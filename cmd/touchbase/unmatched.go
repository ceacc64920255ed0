package main

import (
	"context"
	"errors"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
)

func newUnmatchedCmd(g *globals) *cobra.Command {
	var (
		f     dataFlags
		since string
	)
	cmd := &cobra.Command{
		Use:   "unmatched [--since DUR]",
		Short: "External domains with counted-looking traffic that match no customer, with counts in and out",
		Long: `External domains the team had counted-looking traffic with that no
customer matches: the prospects and renamed customer domains the
configuration is missing.

Looks at the mail and meetings of the last DUR (default 30d; Go syntax such
as 72h, or N followed by d, w or mo) up to now, planned meetings left out.
An interaction is looked at when no source filter removed it (list, bulk,
automated, auto-reply, bounce, cancelled, declined), it touches no customer,
has no excluded address and is not among the team alone. Its addresses
that are not the team's (nor a meeting attendee who declined) are grouped
by registrable domain (sub.example.co.uk is example.co.uk); someone on a
free-mail provider (gmail.com, ...) is listed by full address, as a person
rather than an organisation.

Per row: TOTAL interactions it was on, IN those one of its people sent, OUT
those the team sent (a row copied on someone else's mail counts in neither),
the distinct people and a few of their addresses, and when it was first and
last seen. Most interactions first.

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			span, q, err := sinceQuery(since)
			if err != nil {
				return err
			}
			us, raw, err := ask(ctx, b, apiReq{path: "/v1/unmatched" + q},
				func(ctx context.Context, r *evaluate.Runner) ([]evaluate.UnmatchedView, error) {
					return r.Unmatched(ctx, span)
				})
			if err != nil {
				return err
			}
			if f.out.json() {
				return printJSON(g.stdout, raw, us)
			}
			return renderUnmatched(newPrinter(g.stdout, &f.out, b.loc(), clock()), us)
		}),
	}
	f.register(cmd, "print a JSON array, one object per domain", true)
	cmd.Flags().StringVar(&since, "since", "", "look back `DUR` (default 30d)")
	return cmd
}

// sinceQuery parses --since (empty: the default) and returns it with the
// query string that passes it to the daemon. It is checked here too, so a
// bad value is the same usage error with or without a daemon.
func sinceQuery(since string) (cadence.Span, string, error) {
	span, err := evaluate.ParseSince(since)
	var arg *evaluate.ArgError
	if errors.As(err, &arg) {
		return span, "", usageError("--since %q: %s", since, arg.Msg)
	} else if err != nil {
		return span, "", err
	}
	return span, "?" + url.Values{"since": {span.String()}}.Encode(), nil
}
