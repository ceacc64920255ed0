package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
)

func newSilenceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Mute a customer or commitment until a time, with a reason",
		Long: `Silences mute alerts: a silenced commitment is still evaluated and shown,
but opens no alert and sends no webhook while the silence is in force.

Through the running daemon when one answers on its socket, else directly
in the store: read-only for list, and add and remove then need the store's
owner (the service user, or root).`,
		Args: cobra.NoArgs,
		// A group: without a subcommand, say which exist (exit 2).
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("silence needs a subcommand: add, list or remove")
		},
	}
	cmd.AddCommand(newSilenceAddCmd(g), newSilenceListCmd(g), newSilenceRemoveCmd(g))
	return cmd
}

func newSilenceAddCmd(g *globals) *cobra.Command {
	var (
		f                           dataFlags
		until, from, reason, author string
	)
	cmd := &cobra.Command{
		Use:   "add ID... --until TIME [--reason TEXT] [--from TIME]",
		Short: "Mute customers (ID) or single commitments (ID/COMMITMENT) until a time",
		Long: `Mute each target until --until: a customer ID ("acme") mutes all its
commitments, "acme/weekly" one commitment. Every target is checked against
the configuration before any silence is stored; an unknown one is a usage
error (exit status 2). The silence starts now, or at --from. It records
--author (default: $USER) as who added it.

` + timeHelp + ` For --from, a day means its start.

Prints the silences created, with their IDs for ` + "`silence remove`" + `.`,
		Args: cobra.MinimumNArgs(1),
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, args []string) error {
			req, err := silenceRequest(b, args, from, until, reason)
			req.Author = author
			if err != nil {
				return err
			}
			ss, raw, err := ask(ctx, b, apiReq{method: http.MethodPost, path: "/v1/silences", body: req},
				func(ctx context.Context, r *evaluate.Runner) ([]cadence.Silence, error) {
					return r.AddSilences(ctx, req.Targets, req.StartsAt, req.EndsAt, req.Reason, req.Author)
				})
			if err != nil {
				return err
			}
			if f.out.json() {
				return printJSON(g.stdout, raw, ss)
			}
			return renderSilences(newPrinter(g.stdout, &f.out, b.loc(), clock()), ss)
		}),
	}
	f.register(cmd, "print the silences created as a JSON array", true)
	cmd.ValidArgsFunction = completeSilenceTargets(g)
	cmd.Flags().StringVar(&until, "until", "", "end of the silence (required)")
	cmd.Flags().StringVar(&from, "from", "", "start of the silence (default: now)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, shown with the silence")
	cmd.Flags().StringVar(&author, "author", os.Getenv("USER"), "who adds the silence, recorded with it")
	return cmd
}

// silenceRequest checks the times of `silence add`: the silence must end
// after it starts, and in the future (one that already ended mutes
// nothing, which is surely a typo).
func silenceRequest(b *backend, targets []string, from, until, reason string) (evaluate.SilenceRequest, error) {
	req := evaluate.SilenceRequest{Targets: targets, Reason: reason}
	if until == "" {
		return req, usageError("silence add needs --until TIME")
	}
	var err error
	if req.EndsAt, err = b.parseTime("until", until); err != nil {
		return req, err
	}
	starts := clock()
	if from != "" {
		if req.StartsAt, err = b.parseStart("from", from); err != nil {
			return req, err
		}
		starts = req.StartsAt
	}
	if !req.EndsAt.After(starts) {
		return req, usageError("--until %q: the silence would end (%s) before it starts (%s)", until,
			req.EndsAt.In(b.loc()).Format(time.RFC3339), starts.In(b.loc()).Format(time.RFC3339))
	}
	return req, nil
}

func newSilenceListCmd(g *globals) *cobra.Command {
	var (
		f   dataFlags
		all bool
	)
	cmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "Silences in force or yet to start; --all includes ended ones",
		Args:  cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			path := "/v1/silences"
			if all {
				path += "?all=true"
			}
			ss, raw, err := ask(ctx, b, apiReq{path: path},
				func(ctx context.Context, r *evaluate.Runner) ([]cadence.Silence, error) { return r.Silences(ctx, all) })
			if err != nil {
				return err
			}
			if f.out.json() {
				return printJSON(g.stdout, raw, ss)
			}
			return renderSilences(newPrinter(g.stdout, &f.out, b.loc(), clock()), ss)
		}),
	}
	f.register(cmd, "print a JSON array of silences", true)
	cmd.Flags().BoolVar(&all, "all", false, "include silences that ended")
	return cmd
}

func newSilenceRemoveCmd(g *globals) *cobra.Command {
	var f dataFlags
	cmd := &cobra.Command{
		Use:   "remove SILENCE_ID",
		Short: "Expire a silence now (its alerts fire again at the next evaluation)",
		Long: `Expire a silence by its ID (see ` + "`silence list`" + `): it ends now, and stays
in ` + "`silence list --all`" + ` as a record. An ID that does not exist, or whose
silence has already ended, is a runtime failure (exit status 1).`,
		Args: cobra.ExactArgs(1),
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, args []string) error {
			id := args[0]
			_, _, err := ask(ctx, b, apiReq{method: http.MethodDelete, path: "/v1/silences/" + url.PathEscape(id), notFound: store.ErrNoSilence},
				func(ctx context.Context, r *evaluate.Runner) (struct{}, error) {
					return struct{}{}, r.RemoveSilence(ctx, id)
				})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "silence %s expired\n", id)
			return err
		}),
	}
	f.register(cmd, "", false)
	cmd.ValidArgsFunction = completeSilenceIDs(g)
	return cmd
}
