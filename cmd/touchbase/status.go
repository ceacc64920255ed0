package main

import (
	"context"
	"encoding/json"
	"fmt"
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
		out    outputFlags
		socket string
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Daemon health: each source's last sync, lag and errors; outbox depth; leases",
		Long: `Ask the running daemon (over listen.socket) for its health: each source's
last sync, lag, failures and last error, a reload it rejected (when, and
the first problem), filtered interactions by reason, and the webhook
outbox depth. -o wide adds when each source started failing. With
cluster.enabled, also which daemon holds which lease (each source's and
the evaluation's) and until when, and how many daemons are alive.

Exit status:
  0  the daemon runs, every source synced within sync.stale_after and is
     not failing, and its last reload (if any) was accepted
  1  a source is failing or stale (or never synced yet), the last reload
     was rejected (the daemon runs an older configuration than the file),
     or no daemon answers
  2  usage or configuration error
The status is printed in every case a daemon answers; stderr then has one
line saying why the exit status is 1.

The socket is listen.socket from the configuration; --socket names it
directly, which also works while the file on disk is broken (a rejected
reload leaves the daemon running on the previous configuration).`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return status(cmd.Context(), g, socket, &out) }),
	}
	out.register(cmd, "print the daemon's JSON (GET /v1/status)", false)
	cmd.Flags().StringVar(&socket, "socket", "", "the daemon's socket (default: listen.socket from the configuration)")
	return cmd
}

func status(ctx context.Context, g *globals, socket string, out *outputFlags) error {
	if err := out.check(); err != nil {
		return err
	}
	// The configuration names the socket and the display zone; with
	// --socket a broken file only costs the zone.
	cfg, err := config.Load(g.config)
	if socket == "" {
		if err != nil {
			return err
		}
		socket = cfg.Listen.Socket
	}
	body, err := apiGet(ctx, socket, "/v1/status")
	if err != nil {
		return err
	}
	var st daemon.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("read daemon status: %w", err)
	}
	if out.json() {
		_, err = g.stdout.Write(body)
	} else {
		err = printStatus(newPrinter(g.stdout, out, displayZone(cfg), st.Now), &st)
	}
	if err != nil {
		return err
	}
	return unhealthy(&st)
}

// unhealthy is the exit status 1 of a daemon that answers: its failing or
// stale sources and a rejected reload, in one line; nil when healthy.
func unhealthy(st *daemon.Status) error {
	var bad []string
	for _, s := range st.Sources {
		if s.Stale || s.FailingSince != nil {
			bad = append(bad, s.Name)
		}
	}
	var why []string
	if len(bad) > 0 {
		why = append(why, fmt.Sprintf("%d of %d sources failing or stale: %s", len(bad), len(st.Sources), strings.Join(bad, ", ")))
	}
	if st.Config.RejectedReload != nil {
		why = append(why, "the last reload was rejected")
	}
	if len(why) == 0 {
		return nil
	}
	return &exitError{code: exitRuntime, err: fmt.Errorf("%s", strings.Join(why, "; "))}
}

// printStatus prints st: a summary block, then one row per source.
func printStatus(p printer, st *daemon.Status) error {
	w, tf := p.w, p.tf
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	state := "running"
	if !st.Ready {
		state = "starting or stopping"
	}
	fmt.Fprintf(tw, "daemon\t%s, pid %d, version %s, up %s\n", state, st.PID, st.Version, span(st.Now.Sub(st.StartedAt)))
	c := st.Config
	fmt.Fprintf(tw, "config\t%s (loaded %s)\n", c.Path, tf.ago(c.LoadedAt))
	if r := c.RejectedReload; r != nil {
		more := ""
		if r.Problems > 1 {
			more = fmt.Sprintf(" (and %d more in the daemon's log)", r.Problems-1)
		}
		fmt.Fprintf(tw, "\tRELOAD REJECTED %s (%s); the previous configuration still runs:\n", tf.at(r.At), tf.ago(r.At))
		fmt.Fprintf(tw, "\t%s\n", cut(r.Error+more, p.width()-len("config        ")))
	}
	fmt.Fprintf(tw, "\tlog level %s, poll every %s, stale after %s\n", c.LogLevel, c.PollInterval, c.StaleAfter)
	fmt.Fprintf(tw, "\t%d accounts, %d customers, %d webhooks\n", c.Accounts, c.Customers, c.Webhooks)
	fmt.Fprintf(tw, "interactions\t%d counted, %s\n", st.Interactions.Counted, filtered(st.Interactions.Filtered))
	fmt.Fprintf(tw, "outbox\t%d pending, %d failed\n", st.Outbox.Pending, st.Outbox.Failed)
	if c := st.Cluster; c.Enabled {
		fmt.Fprintf(tw, "cluster\tthis daemon is %s; %d %s alive; leases of %s\n", c.Holder, len(c.Daemons),
			plural(int64(len(c.Daemons)), "daemon", "daemons"), c.LeaseDuration)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t := newTable(col{name: "SOURCE"}, col{name: "LAST SUCCESS", zone: true}, col{name: "LAG"}, col{name: "FAILURES"},
		col{name: "FAILING SINCE", wide: true}, col{name: "STALE"}, col{name: "LAST ERROR", flex: true})
	for _, s := range st.Sources {
		last, lag := "never", ""
		if s.LastSuccessAt != nil {
			last, lag = tf.at(*s.LastSuccessAt), span(max(st.Now.Sub(*s.LastSuccessAt), 0))
		}
		stale := "no"
		if s.Stale {
			stale = "yes"
		}
		t.add(s.Name, last, lag, fmt.Sprint(s.ConsecutiveFailures), tf.atAgo(deref(s.FailingSince)), stale, s.LastError)
	}
	if len(st.Sources) == 0 {
		t.add("(no sources configured)", "", "", "", "", "", "")
	}
	if err := p.print(t); err != nil {
		return err
	}
	if st.Cluster.Enabled {
		fmt.Fprintln(w)
		return p.print(leaseTable(st.Cluster, tf))
	}
	return nil
}

// leaseTable has one row per lease: who holds it, until when and since
// when; or, for a free one, who held it last and since when it is free.
func leaseTable(c daemon.ClusterStatus, tf times) *table {
	t := newTable(col{name: "LEASE"}, col{name: "HOLDER", flex: true}, col{name: "UNTIL", zone: true}, col{name: "SINCE"})
	for _, l := range c.Leases {
		switch {
		case l.Live:
			holder := l.Holder
			if l.This {
				holder += " (this daemon)"
			}
			t.add(l.Name, holder, leaseStamp(tf, l.ExpiresAt), tf.at(deref(l.AcquiredAt)))
		case l.ExpiresAt == nil:
			t.add(l.Name, "-", "never taken", "-")
		default:
			t.add(l.Name, "- (was "+l.Holder+")", "free", leaseStamp(tf, l.ExpiresAt))
		}
	}
	return t
}

// leaseStamp shows a lease's expiry to the second: leases last seconds.
func leaseStamp(tf times, t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.In(tf.loc).Format(stampLayout + ":05")
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
