package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
)

// checkTimeout bounds one source's connection check (a password_command
// alone may take 30 s).
const checkTimeout = time.Minute

func newCheckCmd(g *globals) *cobra.Command {
	var connect bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration (and with --connect, log in to every source)",
		Long: `Validate the configuration and print a summary of it. Every problem is
printed, one per line, naming the file, line and key; the exit status is 2
when there is any; an empty file is one ("empty configuration"). Warnings
(doubtful values the daemon accepts, like a customer domain below another
customer's, or a password_file, secret_file or token_file that group or
others can read) are printed to stderr as
"warning: KEY: MESSAGE" and leave the exit status 0. With --connect, also log in to every source and report
each one, and connect to a postgres store; exit status 1 when a source or
the store cannot be reached.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return check(cmd.Context(), g, connect) }),
	}
	cmd.Flags().BoolVar(&connect, "connect", false, "also connect and log in to every source (and to a postgres store)")
	return cmd
}

func check(ctx context.Context, g *globals, connect bool) error {
	cfg, err := daemon.LoadConfig(g.config)
	if err != nil {
		return err
	}
	// Warnings go to stderr beside the summary and do not change the exit
	// status: the daemon would run with this configuration.
	for _, w := range cfg.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	fmt.Fprint(g.stdout, cfg.Summary())
	if !connect {
		return nil
	}
	log, _ := newLogger(g.stderr, stderrIsJournal(), isTerminal(g.stderr))
	// No store: checking a source only logs in, and the store may belong
	// to the daemon's user.
	plan, err := planBuilder(nil)(cfg, nil, log)
	if err != nil {
		return err
	}
	return errors.Join(checkSources(ctx, g.stdout, plan.Sources), checkStore(ctx, g.stdout, cfg))
}

// checkStore connects to a Postgres store and says whether it holds the
// schema yet (the daemon makes it). A SQLite file needs no connection.
func checkStore(ctx context.Context, w io.Writer, cfg *config.Config) error {
	if cfg.Store != config.StorePostgres {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	ok, err := daemon.StoreExists(ctx, cfg)
	switch {
	case err != nil:
		fmt.Fprintf(w, "\nstore: postgres FAILED: %v\n", err)
		return fmt.Errorf("the postgres store cannot be reached")
	case ok:
		fmt.Fprintln(w, "\nstore: postgres ok")
	default:
		fmt.Fprintln(w, "\nstore: postgres ok (empty: the daemon makes the schema when it starts)")
	}
	return nil
}

// checkSources checks every source that implements daemon.Checker,
// concurrently, and prints one line per source in plan order.
func checkSources(ctx context.Context, w io.Writer, sources []daemon.Source) error {
	results := make([]string, len(sources))
	failed := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, src := range sources {
		c, ok := src.(daemon.Checker)
		if !ok {
			results[i] = "not checked (no connection check for this source)"
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			res := "ok"
			if err := c.Check(ctx); err != nil {
				res = "FAILED: " + err.Error()
				mu.Lock()
				failed++
				mu.Unlock()
			}
			results[i] = res
		})
	}
	wg.Wait()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSOURCE\tCONNECTION")
	for i, src := range sources {
		fmt.Fprintf(tw, "%s\t%s\n", src.Name(), results[i])
	}
	if len(sources) == 0 {
		fmt.Fprintln(tw, "(none)\t")
	}
	tw.Flush()
	if failed > 0 {
		return fmt.Errorf("%d of %d sources failed the connection check", failed, len(sources))
	}
	return nil
}
