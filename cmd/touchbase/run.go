package main

import (
	"context"
	"os/signal"
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
the same steps as the daemon's loops. Exit status 1 when any step failed
(the other steps still ran).`,
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
	log, level := newLogger(g.stderr, stderrIsJournal())
	defer log.Sync()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, daemon.Options{
		ConfigPath: g.config, Version: readBuildInfo().Version, Logger: log, Level: level, Build: planBuilder(nil),
	})
	if err != nil {
		return err
	}
	defer d.Close()
	return d.RunOnce(ctx)
}
