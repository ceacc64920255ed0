package main

import (
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/evaluate"
)

func newAlertsCmd(g *globals) *cobra.Command {
	var (
		f             dataFlags
		flt           filterFlags
		all, silenced bool
		at            string
	)
	cmd := &cobra.Command{
		Use:   "alerts [--all] [--silenced] [--at TIME] [--owner NAME] [--state STATE] [--tier TIER]",
		Short: "Open (firing) alerts; --all includes resolved ones, --at forecasts",
		Long: `The alerts that are firing — slipped first, then sync sources failing for
longer than sync.stale_after, then at risk, each by due time — or with
--all every alert, resolved ones included. -o wide adds the commitment
type, the last notification, the repeats and the alert ID.

Alerts a silence in force covers send no webhook and are hidden, as amtool
hides them; --silenced shows them, marked "(silenced)", and --json gives
"silenced": true with the "silence_id".

--at forecasts: the alerts that would be firing at TIME, evaluated over
what the store holds now (no new mail arrives in a forecast), with the
silences in force then. Alerts not open now are marked "(forecast)" and
OPENED says when they would open; --json gives "forecast": true.

` + timeHelp + `

--owner, --state and --tier keep the alerts that match (each flag
repeatable or a comma list); the owner and tier are the customer's, so
they leave out failing sources. STATE is at_risk, slipped, failing or
resolved (which implies --all).

` + tableHelp + `

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			if err := flt.check(b.cfg); err != nil {
				return err
			}
			all = all || flt.wantsResolved()
			if all && at != "" {
				return usageError("--at forecasts the alerts firing then; --all (or --state resolved) lists the stored ones: use one")
			}
			when, q, err := atQuery(b, at)
			if err != nil {
				return err
			}
			path := "/v1/alerts" + q
			if all {
				path += "?all=true"
			}
			as, _, err := ask(ctx, b, apiReq{path: path},
				func(ctx context.Context, r *evaluate.Runner) ([]evaluate.AlertView, error) {
					if !when.IsZero() {
						return r.Forecast(ctx, when)
					}
					return r.Alerts(ctx, all)
				})
			if err != nil {
				return err
			}
			if !silenced {
				// The daemon and the store return every alert marked, so
				// both paths hide the same ones here.
				as = slices.DeleteFunc(as, func(a evaluate.AlertView) bool { return a.Silenced })
			}
			as = flt.alerts(as, b.cfg)
			if f.out.json() {
				return printJSON(g.stdout, nil, as)
			}
			if when.IsZero() {
				when = clock()
			}
			return renderAlerts(newPrinter(g.stdout, &f.out, b.loc(), when), as)
		}),
	}
	f.register(cmd, "print a JSON array of alerts", true)
	flt.register(cmd, g, alertStates)
	cmd.Flags().BoolVar(&all, "all", false, "include resolved alerts")
	cmd.Flags().BoolVar(&silenced, "silenced", false, "include alerts a silence covers, marked (silenced)")
	cmd.Flags().StringVar(&at, "at", "", "forecast: the alerts that would be firing at TIME (tomorrow, +3d, 2026-12-24, ...)")
	return cmd
}
