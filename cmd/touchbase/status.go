package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
)

func newStatusCmd(g *globals) *cobra.Command {
	var (
		asJSON bool
		socket string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Daemon health: each source's last sync, lag and errors; outbox depth; leases",
		Long: `Ask the running daemon (over listen.socket) for its health: each source's
last sync, lag, failures and last error, filtered interactions by reason,
and the webhook outbox depth. With cluster.enabled, also which daemon
holds which lease (each source's and the evaluation's) and until when, and
how many daemons are alive. Exit status 1 when no daemon is running.

The socket is listen.socket from the configuration; --socket names it
directly, which also works while the file on disk is broken (a rejected
reload leaves the daemon running on the previous configuration).`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return status(cmd.Context(), g, socket, asJSON) }),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the daemon's JSON (GET /v1/status)")
	cmd.Flags().StringVar(&socket, "socket", "", "the daemon's socket (default: listen.socket from the configuration)")
	return cmd
}

func status(ctx context.Context, g *globals, socket string, asJSON bool) error {
	if socket == "" {
		cfg, err := config.Load(g.config)
		if err != nil {
			return err
		}
		socket = cfg.Listen.Socket
	}
	body, err := apiGet(ctx, socket, "/v1/status")
	if err != nil {
		return err
	}
	if asJSON {
		_, err := g.stdout.Write(body)
		return err
	}
	var st daemon.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("read daemon status: %w", err)
	}
	return printStatus(g.stdout, &st)
}

// printStatus prints st as aligned text: a summary block, then one row per
// source.
func printStatus(w io.Writer, st *daemon.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	state := "running"
	if !st.Ready {
		state = "starting or stopping"
	}
	fmt.Fprintf(tw, "daemon\t%s, pid %d, version %s, up %s (since %s)\n", state, st.PID, st.Version,
		st.Now.Sub(st.StartedAt).Round(time.Second), stamp(st.StartedAt))
	c := st.Config
	fmt.Fprintf(tw, "config\t%s (loaded %s)\n", c.Path, stamp(c.LoadedAt))
	fmt.Fprintf(tw, "\tlog level %s, poll every %s, stale after %s\n", c.LogLevel, c.PollInterval, c.StaleAfter)
	fmt.Fprintf(tw, "\t%d accounts, %d customers, %d webhooks\n", c.Accounts, c.Customers, c.Webhooks)
	fmt.Fprintf(tw, "interactions\t%d counted, %s\n", st.Interactions.Counted, filtered(st.Interactions.Filtered))
	fmt.Fprintf(tw, "outbox\t%d pending, %d failed\n", st.Outbox.Pending, st.Outbox.Failed)
	if c := st.Cluster; c.Enabled {
		fmt.Fprintf(tw, "cluster\tthis daemon is %s; %d %s alive; leases of %s\n", c.Holder, len(c.Daemons),
			plural(int64(len(c.Daemons)), "daemon", "daemons"), c.LeaseDuration)
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tLAST SUCCESS\tLAG\tFAILURES\tSTALE\tLAST ERROR")
	for _, s := range st.Sources {
		lag := "-"
		if s.Lag != nil {
			lag = *s.Lag
		}
		stale := "no"
		if s.Stale {
			stale = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.Name, stampOrNever(s.LastSuccessAt), lag,
			s.ConsecutiveFailures, stale, shorten(s.LastError, 80))
	}
	if len(st.Sources) == 0 {
		fmt.Fprintln(tw, "(no sources configured)\t\t\t\t\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.Cluster.Enabled {
		return printLeases(w, st.Cluster)
	}
	return nil
}

// printLeases prints one row per lease: who holds it, until when and
// since when; or, for a free one, who held it last and since when it is
// free.
func printLeases(w io.Writer, c daemon.ClusterStatus) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEASE\tHOLDER\tUNTIL\tSINCE")
	for _, l := range c.Leases {
		switch {
		case l.Live:
			holder := l.Holder
			if l.This {
				holder += " (this daemon)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Name, holder, stampOrNever(l.ExpiresAt), stampOrNever(l.AcquiredAt))
		case l.ExpiresAt == nil:
			fmt.Fprintf(tw, "%s\t-\tnever taken\t-\n", l.Name)
		default:
			fmt.Fprintf(tw, "%s\t- (was %s)\tfree\t%s\n", l.Name, l.Holder, stamp(*l.ExpiresAt))
		}
	}
	return tw.Flush()
}

func filtered(counts map[string]int) string {
	if len(counts) == 0 {
		return "none filtered"
	}
	var parts []string
	for _, reason := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", reason, counts[reason]))
	}
	return "filtered: " + strings.Join(parts, ", ")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return stamp(*t)
}

// shorten keeps a table row on one line.
func shorten(s string, n int) string {
	if s == "" {
		return "-"
	}
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n-1]) + "…"
	}
	return s
}
