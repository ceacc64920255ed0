package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/evaluate"
)

func newSuggestCmd(g *globals) *cobra.Command {
	var f dataFlags
	cmd := &cobra.Command{
		Use:   "suggest",
		Short: "Commitments inferred from history that the configuration does not declare yet",
		Long: `Commitments inferred from the history that the configuration does not
declare yet: each as YAML to paste into the customer's commitments, with
the interactions it was inferred from.

Asks the running daemon over its socket; without one, reads the store.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			ss, raw, err := ask(ctx, b, apiReq{path: "/v1/suggestions"},
				func(ctx context.Context, r *evaluate.Runner) ([]evaluate.SuggestionView, error) {
					return r.Suggest(ctx, time.Time{})
				})
			if err != nil {
				return err
			}
			if f.out.json() {
				return printJSON(g.stdout, raw, ss)
			}
			return renderSuggestions(newPrinter(g.stdout, &f.out, b.loc(), clock()), ss)
		}),
	}
	f.register(cmd, "print a JSON array of suggestions", false)
	return cmd
}
