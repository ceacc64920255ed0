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
		all, silenced bool
	)
	cmd := &cobra.Command{
		Use:   "alerts [--all] [--silenced]",
		Short: "Open (firing) alerts; --all includes resolved ones, --silenced silenced ones",
		Long: `The alerts that are firing — slipped first, then sync sources failing for
longer than sync.stale_after, then at risk, each by due time — or with
--all every alert, resolved ones included.

Alerts a silence in force covers send no webhook and are hidden, as amtool
hides them; --silenced shows them, marked "(silenced)", and --json gives
"silenced": true with the "silence_id".

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			path := "/v1/alerts"
			if all {
				path += "?all=true"
			}
			as, _, err := ask(ctx, b, apiReq{path: path},
				func(ctx context.Context, r *evaluate.Runner) ([]evaluate.AlertView, error) { return r.Alerts(ctx, all) })
			if err != nil {
				return err
			}
			if !silenced {
				// The daemon and the store return every alert marked, so
				// both paths hide the same ones here.
				as = slices.DeleteFunc(as, func(a evaluate.AlertView) bool { return a.Silenced })
			}
			if f.asJSON {
				return printJSON(g.stdout, nil, as)
			}
			return evaluate.RenderAlerts(g.stdout, as, b.loc())
		}),
	}
	f.register(cmd, "print a JSON array of alerts")
	cmd.Flags().BoolVar(&all, "all", false, "include resolved alerts")
	cmd.Flags().BoolVar(&silenced, "silenced", false, "include alerts a silence covers, marked (silenced)")
	return cmd
}
