package main

import (
	"cmp"
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/store"
)

func newStoreStatsCmd(g *globals) *cobra.Command {
	var f dataFlags
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Each table's rows, size and oldest row kept",
		Long: `Read the store in data_dir and print, per table, its row count, its size on
disk with its indexes (where SQLite can tell) and the time of the oldest row
kept (interactions by their time, deliveries and events by creation, ...):
what retention keeps. Works beside a running daemon: reads never wait for
its writes.`,
		Args: cobra.NoArgs,
		RunE: dataRunE(g, &f, func(ctx context.Context, b *backend, _ []string) error {
			st, err := b.openStore(ctx, false)
			if err != nil {
				return err
			}
			stats, err := st.Stats(ctx)
			if err != nil {
				return err
			}
			if f.out.json() {
				return printJSON(g.stdout, nil, stats)
			}
			return renderStoreStats(newPrinter(g.stdout, &f.out, b.loc(), clock()), stats)
		}),
	}
	f.register(cmd, "print the figures as a JSON array, one object per table", true)
	return cmd
}

// renderStoreStats prints one row per table.
func renderStoreStats(p printer, stats []store.TableStats) error {
	t := newTable(col{name: "TABLE"}, col{name: "ROWS"}, col{name: "SIZE"}, col{name: "OLDEST", zone: true}, col{name: "BY", flex: true})
	for _, ts := range stats {
		size := "-"
		if ts.Bytes != nil {
			size = bytesText(*ts.Bytes)
		}
		t.add(ts.Table, fmt.Sprint(ts.Rows), size, p.tf.atAgo(ts.Oldest), cmp.Or(ts.OldestColumn, "-"))
	}
	return p.print(t)
}

// bytesText formats a size in binary units.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
