package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/store"
)

func newStoreCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Inspect the store",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newStoreStatsCmd(g))
	return cmd
}

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
			st, err := b.store(ctx)
			if err != nil {
				return err
			}
			stats, err := st.Stats(ctx)
			if err != nil {
				return err
			}
			if f.asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(stats)
			}
			return printStoreStats(g.stdout, stats)
		}),
	}
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the figures as JSON")
	return cmd
}

// printStoreStats prints one aligned row per table.
func printStoreStats(w io.Writer, stats []store.TableStats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TABLE\tROWS\tSIZE\tOLDEST\t")
	for _, t := range stats {
		size, oldest := "-", "-"
		if t.Bytes != nil {
			size = bytesText(*t.Bytes)
		}
		if !t.Oldest.IsZero() {
			oldest = stamp(t.Oldest) + " (" + t.OldestColumn + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t\n", t.Table, t.Rows, size, oldest)
	}
	return tw.Flush()
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
