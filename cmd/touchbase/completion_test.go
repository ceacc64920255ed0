package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Shell completion through cobra's hidden __complete command, as the
// scripts of `touchbase completion bash|zsh|fish` call it: customer IDs,
// commitments, webhook names and flag values from the configuration, and
// silence IDs from the running daemon (see below for the store). It
// creates nothing.
func TestCompletion(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	complete := func(path string, args ...string) []string {
		t.Helper()
		code, out, _ := runCLI(t, append([]string{"__complete", "--config", path}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) == 0 || lines[len(lines)-1] != ":4" { // ShellCompDirectiveNoFileComp
			t.Fatalf("__complete %v: exit %d, output %q; want suggestions and :4 (no file names)", args, code, out)
		}
		return lines[:len(lines)-1]
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"customer", ""}, []string{"acme\tACME Corp", "globex\tGlobex", "initech\tInitech"}},
		{[]string{"customer", "acme", ""}, nil},
		{[]string{"silence", "add", "g"}, []string{"globex\tGlobex"}},
		{[]string{"silence", "add", "acme/"}, []string{"acme/weekly\tcadence", "acme/reply\treply"}},
		{[]string{"silence", "add", "acme", ""}, []string{"globex\tGlobex", "initech\tInitech"}},
		{[]string{"webhooks", "test", ""}, []string{"ops\tstandard", "chat\tslack"}},
		{[]string{"webhooks", "deliveries", "--endpoint", ""}, []string{"ops\tstandard", "chat\tslack"}},
		{[]string{"customers", "--state", ""}, customerStates},
		{[]string{"alerts", "--state", ""}, alertStates},
		{[]string{"alerts", "--owner", ""}, []string{"alice"}},
		{[]string{"customers", "-o", ""}, []string{"table", "wide", "json"}},
		{[]string{"silence", "remove", ""}, nil}, // no daemon
	}
	before := snapshot(t, f.dir)
	for _, tc := range tests {
		if got := complete(f.config, tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("__complete %q = %q, want %q", tc.args, got, tc.want)
		}
	}
	if after := snapshot(t, f.dir); after != before {
		t.Errorf("completion changed the fixture's files:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// With a daemon, silence IDs come from it; the CLI configuration has
	// no store, so only the daemon can have answered.
	f.startDaemon()
	if code, _, errOut := f.run(f.config, "silence", "add", "acme/weekly", "--until", "2026-12-01"); code != 0 {
		t.Fatalf("silence add: exit %d, %s", code, errOut)
	}
	got := complete(f.cli, "silence", "remove", "")
	if len(got) != 1 || !silenceID.MatchString(got[0]) || !strings.HasSuffix(got[0], "\tacme/weekly until 2026-12-01 23:59") {
		t.Errorf("silence remove completions %q; want the one silence, described", got)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "nodata")); !os.IsNotExist(err) {
		t.Errorf("completion created the CLI configuration's data_dir: %v", err)
	}
}

// `completion bash|zsh|fish` print scripts that call back __complete.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := runCLI(t, "completion", shell)
		if code != 0 || errOut != "" || !strings.Contains(out, "__complete") || !strings.Contains(out, "touchbase") {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes; want a script calling touchbase __complete", shell, code, errOut, len(out))
		}
	}
}

// snapshot lists the files under dir with their sizes and modification
// times, to show that something wrote nothing.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", path, info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCompletionReadsSilencesWithoutADaemon: with no daemon, silence IDs
// come from the store, read without writing it.
func TestCompletionReadsSilencesWithoutADaemon(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	if code, _, errOut := f.run(f.config, "silence", "add", "globex", "--until", "2026-12-01"); code != 0 {
		t.Fatalf("silence add: exit %d, %s", code, errOut)
	}
	before := snapshot(t, f.dir)
	code, out, _ := runCLI(t, "__complete", "--config", f.config, "silence", "remove", "")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !silenceID.MatchString(lines[0]) || !strings.HasSuffix(lines[0], "\tglobex until 2026-12-01 23:59") {
		t.Errorf("silence remove completions without a daemon: exit %d, %q; want the one silence, described", code, out)
	}
	if after := snapshot(t, f.dir); after != before {
		t.Errorf("completion changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
