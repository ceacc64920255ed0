package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	var keep bool
	var dir string
	cmd := &cobra.Command{
		Use:   "demo [--keep] [--dir DIR]",
		Short: "A self-contained demo: embedded IMAP and CalDAV servers, a webhook sink and the daemon",
		Long: `Run Touchbase against a made-up consultancy's six months of mail and meetings,
served by embedded IMAP and CalDAV servers on loopback, with a local webhook
receiver that verifies every signature. It prints what was synced, each
customer's observed cadence and each webhook as it arrives, then what you just
saw. No network beyond 127.0.0.1, no configuration of your own.

--keep leaves the demo running so you can try the CLI against its socket;
Ctrl-C stops everything. Files go to a temporary folder, removed at the end,
or to --dir, which must be empty and is kept.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, keep, dir)
		}),
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep running after the story is told, until Ctrl-C")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the demo's config, store and logs (must be empty; kept)")
	return cmd
}

func runDemo(ctx context.Context, g *globals, keep bool, dir string) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C, a second one kills the process at once.
	context.AfterFunc(ctx, stop)
	dir, cleanup, err := demoDir(dir)
	if err != nil {
		return err
	}
	defer cleanup()
	return demo.Run(ctx, demo.RunOptions{Dir: dir, Keep: keep, Out: g.stdout, Build: planBuilder(nil),
		Version: readBuildInfo().Version, Recover: true})
}

// demoDir returns the folder to use and how to clean it up: a new
// temporary folder (removed) or dir (created when missing, refused when
// not empty, kept).
func demoDir(dir string) (string, func(), error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "touchbase-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("create demo folder: %w", err)
		}
		return tmp, func() { os.RemoveAll(tmp) }, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, usageError("--dir %s: %v", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, usageError("--dir %s: %v", dir, err)
	}
	if len(entries) > 0 {
		return "", nil, usageError("--dir %s is not empty: give an empty or new folder", dir)
	}
	return dir, func() {}, nil
}
