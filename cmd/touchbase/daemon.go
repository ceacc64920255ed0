package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/daemon"
)

// hardStop is how long SIGTERM may take before the process exits anyway
// (SPEC: within 10 s; systemd's TimeoutStopSec=15 kills later still).
const hardStop = 9500 * time.Millisecond

func newDaemonCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "daemon",
		Short: "Run the daemon in the foreground (systemd Type=notify)",
		Long: `Run the daemon in the foreground: sync every source, evaluate commitments,
deliver webhooks and serve the API on listen.socket. SIGHUP reloads the
configuration (an invalid one is rejected and the running one kept);
SIGTERM or SIGINT stops within 10 seconds.

With cluster.enabled, several daemons share one configuration and one
store: each source, and the evaluation, is worked on only by the daemon
holding its lease (see touchbase status); a stopping daemon releases its
leases, a dead one's expire after cluster.lease_duration.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return runDaemon(cmd.Context(), g) }),
	}
}

func runDaemon(ctx context.Context, g *globals) error {
	log, level := newLogger(g.stderr, stderrIsJournal(), isTerminal(g.stderr))
	defer log.Sync()
	// Subscribe before anything slow, so an early SIGHUP or SIGTERM is
	// queued instead of killing the process with the default action.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d, err := daemon.New(ctx, daemon.Options{
		ConfigPath: g.config, Version: readBuildInfo().Version,
		Logger: log, Level: level, Registry: reg, Build: planBuilder(reg),
	})
	if err != nil {
		return ownerAdvice(err)
	}
	defer d.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	reloads := make(chan struct{}, 1)
	go reloader(ctx, d, reloads)
	for {
		select {
		case err := <-runErr:
			return err
		case s := <-sigs:
			if s == syscall.SIGHUP {
				select {
				case reloads <- struct{}{}:
				default: // a reload is already queued; it will read the newest file
				}
				continue
			}
			log.Info("shutting down", zap.String("signal", s.String()))
			cancel()
			// Whatever blocks (a stuck sync, a store that does not close),
			// the process ends in time.
			time.AfterFunc(hardStop, func() {
				log.Error("shutdown took too long, exiting", zap.Duration("timeout", hardStop))
				log.Sync()
				os.Exit(exitRuntime)
			})
			if err := <-runErr; err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			return nil
		}
	}
}

// reloader runs the reloads SIGHUP asks for, one at a time, so the signal
// loop stays responsive to SIGTERM during a slow reload. Reload logs its
// outcome itself.
func reloader(ctx context.Context, d *daemon.Daemon, reloads <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reloads:
			_ = d.Reload(ctx)
		}
	}
}
