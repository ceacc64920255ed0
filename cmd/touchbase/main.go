// Command touchbase is Touchbase's daemon and CLI (SPEC "Binary and
// commands"). It only parses arguments, turns signals into context
// cancellation and reloads, and prints; the work is done by package daemon
// and the components it wires.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
)

// Exit statuses (SPEC): 0 ok, 1 runtime failure, 2 usage or config error.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// defaultConfig is used when neither --config nor TOUCHBASE_CONFIG is set.
const defaultConfig = "/etc/touchbase/touchbase.yaml"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// globals are the settings every command shares.
type globals struct {
	config string
	stdout io.Writer
	stderr io.Writer
}

// run executes the command line args and returns the exit status. Errors
// are printed to stderr, one problem per line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	printError(stderr, err)
	return exitCode(err)
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "touchbase",
		Short: "Keep in touch with every customer: cadence tracking from mail and calendars",
		Long: `Keep in touch with every customer: cadence tracking from mail and calendars.

Tables show times in the configured timezone (the machine's own when the
configuration names none), with ages such as "3 d ago"; they fit 100
columns, and -o wide shows every column in full. --json (or -o json)
prints JSON with RFC 3339 times. Exit status: 0 ok, 1 runtime failure, 2
usage or configuration error.

Shell completion: "touchbase completion bash|zsh|fish" prints a script
that completes commands, flags, customer IDs, commitments, webhook names
and, from a running daemon, silence IDs. For bash:
  source <(touchbase completion bash)`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	def := defaultConfig
	if env := os.Getenv("TOUCHBASE_CONFIG"); env != "" {
		def = env
	}
	root.PersistentFlags().StringVar(&g.config, "config", def, "configuration file (env TOUCHBASE_CONFIG)")
	root.AddCommand(newDaemonCmd(g), newRunCmd(g), newCheckCmd(g), newStatusCmd(g), newVersionCmd(g))
	root.AddCommand(newDemoCmd(g), newStoreCmd(g))
	root.AddCommand(newCustomersCmd(g), newCustomerCmd(g), newAlertsCmd(g), newSilenceCmd(g), newWebhooksCmd(g), newSuggestCmd(g),
		newUnmatchedCmd(g), newAuthCmd(g))
	for _, c := range extraCommands {
		root.AddCommand(c(g))
	}
	root.AddCommand(newStoreCmd(g))
	return root
}

// extraCommands are added by files built with tags only (man.go, -tags
// mangen).
var extraCommands []func(*globals) *cobra.Command

// exitError carries a command's exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// runE adapts a command body: configuration errors exit 2, every other
// error it returns is a runtime failure (1). Errors cobra itself returns
// (unknown command or flag, wrong arguments) never pass here and exit 2.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := fn(cmd, args)
		var ee *exitError
		switch {
		case err == nil || errors.As(err, &ee):
			return err
		case isConfigError(err):
			return &exitError{code: exitUsage, err: err}
		}
		return &exitError{code: exitRuntime, err: err}
	}
}

func isConfigError(err error) bool {
	var ce *daemon.ConfigError
	var errs config.Errors
	return errors.As(err, &ce) || errors.As(err, &errs)
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}

// printError prints err to w. Configuration problems already name their
// file, line and key (`file:line: key: msg`) and are printed one per line
// as they are; other errors get the program's name in front.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		if isConfigError(err) {
			fmt.Fprintln(w, line)
		} else {
			fmt.Fprintln(w, "touchbase: "+line)
		}
	}
}
