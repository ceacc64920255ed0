package main

import (
	"context"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/daemon"
)

func newRunCmd(g *globals) *cobra.Command {
	var once bool
	cmd := &cobra.Command{
		Use:   "run --once",
		Short: "One full pass: sync every source, evaluate, deliver webhooks, then exit",
		Long: `One full pass — sync every source once, evaluate every commitment, deliver
the webhooks that are due — then exit: for cron, scripts and tests. It runs
the same steps as the daemon's loops. It prints a summary of the pass on
stdout (sources synced and failed, mails and meetings stored, alerts opened
and resolved, webhook deliveries sent and failed); logs go to stderr, as JSON
lines or, on a terminal, as readable lines. Exit status 1 when any step
failed — a source, the evaluation, or a webhook delivery the receiver
refused or that reached no receiver (named on stderr) — the other steps
still ran. With cluster.enabled it takes each source's lease (and the
evaluation's) for the pass and skips, without failing, what a running
daemon holds: that daemon does the work.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if !once {
				return usageError("run needs --once (to keep running, use `touchbase daemon`)")
			}
			return runOnce(cmd.Context(), g)
		}),
	}
	cmd.Flags().BoolVar(&once, "once", false, "run one pass and exit (required)")
	return cmd
}

func runOnce(ctx context.Context, g *globals) error {
	log, level := newLogger(g.stderr, stderrIsJournal(), isTerminal(g.stderr))
	defer log.Sync()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, daemon.Options{
		ConfigPath: g.config, Version: readBuildInfo().Version, Logger: log, Level: level, Build: planBuilder(nil),
	})
	if err != nil {
		return ownerAdvice(err)
	}
	defer d.Close()
	res, err := d.RunOnce(ctx)
	fmt.Fprintln(g.stdout, passSummary(res))
	return err
}

// passSummary is one paragraph saying what a pass did, for the cron mail
// or the person who ran it; the details are in the logs.
func passSummary(res daemon.PassResult) string {
	var mails, meetings int64
	for name, stats := range res.Stats {
		switch {
		case strings.HasPrefix(name, "imap:"):
			mails += stats["stored"]
		case strings.HasPrefix(name, "caldav:"):
			meetings += stats["stored"]
		}
	}
	failed := ""
	if len(res.Failed) > 0 {
		failed = " (" + strings.Join(res.Failed, ", ") + ")"
	}
	if len(res.Skipped) > 0 {
		failed += fmt.Sprintf(", %d skipped: another daemon holds %s", len(res.Skipped), strings.Join(res.Skipped, ", "))
	}
	dl := res.Deliveries
	refused := ""
	if len(dl.FailedEndpoints) > 0 {
		refused = " (" + strings.Join(dl.FailedEndpoints, ", ") + ")"
	}
	return fmt.Sprintf("Sources: %d synced, %d failed%s. Stored %d %s and %d %s. Alerts: %d opened, %d resolved. Webhook deliveries: %d sent, %d failed%s.",
		len(res.Synced), len(res.Failed), failed, mails, plural(mails, "mail", "mails"), meetings, plural(meetings, "meeting", "meetings"),
		res.Alerts.Opened, res.Alerts.Resolved, dl.Sent, dl.Failed, refused)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
