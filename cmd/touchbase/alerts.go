package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/evaluate"
)

func newAlertsCmd(g *globals) *cobra.Command {
	var (
		f   dataFlags
		all bool
	)
	cmd := &cobra.Command{
		Use:   "alerts [--all]",
		Short: "Open (firing) alerts; --all includes resolved ones",
		Long: `The alerts that are firing — slipped first, then sync sources failing for
longer than sync.stale_after, then at risk, each by due time — or with
--all every alert, resolved ones included.

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			path := "/v1/alerts"
			if all {
				path += "?all=true"
			}
			as, raw, err := ask(ctx, b, apiReq{path: path},
				func(ctx context.Context, r *evaluate.Runner) ([]evaluate.AlertView, error) { return r.Alerts(ctx, all) })
			if err != nil {
				return err
			}
			if f.asJSON {
				return printJSON(g.stdout, raw, as)
			}
			return evaluate.RenderAlerts(g.stdout, as, b.loc())
		}),
	}
	f.register(cmd, "print a JSON array of alerts")
	cmd.Flags().BoolVar(&all, "all", false, "include resolved alerts")
	return cmd
}
