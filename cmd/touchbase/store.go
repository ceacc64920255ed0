package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

func newStoreCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Work on the store itself: its figures, a copy into PostgreSQL",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newStoreStatsCmd(g), newStoreCopyCmd(g))
	return cmd
}

func newStoreCopyCmd(g *globals) *cobra.Command {
	var (
		to, dsnFile string
		replace     bool
	)
	cmd := &cobra.Command{
		Use:   "copy --to postgres",
		Short: "Copy the SQLite store in data_dir into a PostgreSQL database",
		Long: `Copy every row of the SQLite store in data_dir (touchbase.db) into the
PostgreSQL database whose DSN is in postgres.dsn_file (or --dsn-file),
creating its schema first. The copy is one transaction: all of it lands
or nothing does. Row counts are compared table by table before it
commits, and printed.

A target that holds rows already is refused; --replace empties it first.
Stop the daemon before copying: what it writes after the copy started
would not be copied (a daemon answering on listen.socket is refused).
Then set "store: postgres" in the configuration and start the daemon.
The SQLite file is left as it was.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if to != config.StorePostgres {
				return usageError("--to %q: the store can be copied to postgres only", to)
			}
			return storeCopy(cmd.Context(), g, dsnFile, replace)
		}),
	}
	cmd.Flags().StringVar(&to, "to", "", "the target backend: postgres")
	cmd.Flags().StringVar(&dsnFile, "dsn-file", "", "a file holding the target's DSN (default: postgres.dsn_file)")
	cmd.Flags().BoolVar(&replace, "replace", false, "empty a target that holds rows already")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func storeCopy(ctx context.Context, g *globals, dsnFile string, replace bool) error {
	b, err := newBackend(g, "")
	if err != nil {
		return err
	}
	defer b.close()
	cfg := b.cfg
	dsnSource := config.Secret{File: dsnFile}
	switch {
	case dsnFile != "":
		if _, err := os.Stat(dsnFile); err != nil {
			return usageError("--dsn-file: %v", err)
		}
	case cfg.Postgres.DSNFile != "":
		dsnFile, dsnSource = cfg.Postgres.DSNFile, cfg.Postgres.DSN
	default:
		return usageError("%s: postgres.dsn_file: not set: name the target database there, or pass --dsn-file", cfg.Path)
	}
	if _, err := b.call(ctx, apiReq{path: "/v1/status"}); !errors.Is(err, errNoDaemon) {
		return fmt.Errorf("a daemon answers on %s: stop it first, so that nothing it writes after the copy starts is lost", b.socket)
	}
	path := filepath.Join(cfg.DataDir, store.FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no SQLite store to copy at %s: %w", path, err)
	}
	dsn, err := dsnSource.Value(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", dsnFile, err)
	}
	src, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		return fmt.Errorf("%s: %w", dsnFile, err)
	}
	defer dst.Close()
	report, err := src.CopyTo(ctx, dst, store.CopyOptions{Replace: replace, Progress: func(table string, n int64) {
		fmt.Fprintf(g.stderr, "copied %s: %d rows\n", table, n)
	}})
	if errors.Is(err, store.ErrTargetNotEmpty) {
		return fmt.Errorf("%w; pass --replace to empty it first", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "Copied %s into the postgres database of %s in %s; row counts verified.\n\n",
		path, dsnFile, report.Duration.Round(time.Millisecond))
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, t := range report.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", t.Table, t.Rows)
	}
	tw.Flush()
	if cfg.Store != config.StorePostgres || cfg.Postgres.DSNFile != dsnFile {
		fmt.Fprintf(g.stdout, "\nNext: set \"store: postgres\" and postgres.dsn_file: %s in %s, then start the daemon.\n", dsnFile, cfg.Path)
	}
	return nil
}
