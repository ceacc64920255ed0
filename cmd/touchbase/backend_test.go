package main

import (
	"strings"
	"testing"
)

// Wrong arguments exit 2 with one line on stderr naming the argument, and
// print nothing on stdout; the ones the daemon checks (customer IDs,
// silence targets) do the same through the daemon.
func TestDataUsageErrors(t *testing.T) {
	tests := []struct {
		args   []string
		want   string
		daemon bool // also through the daemon
	}{
		{[]string{"customer", "nope"}, `customer "nope": no such customer`, true},
		{[]string{"customer", "nope", "--at", "2026-11-27"}, `customer "nope": no such customer`, true},
		{[]string{"customer"}, "accepts 1 arg(s), received 0", false},
		{[]string{"customers", "--at", "next tuesday"}, `--at "next tuesday": want now, today, tomorrow, yesterday, a length from now (+3d, -2w, -36h, 3bd), a date`, false},
		{[]string{"customers", "extra"}, `unknown command "extra"`, false},
		{[]string{"alerts", "--all=maybe"}, "invalid argument", false},
		{[]string{"suggest", "--bogus"}, "unknown flag: --bogus", false},
		{[]string{"unmatched", "--since", "soon"}, `--since "soon": want a length`, false},
		{[]string{"unmatched", "--since", "0"}, `--since "0": want a length`, false},
		{[]string{"silence"}, "silence needs a subcommand", false},
		{[]string{"silence", "add", "acme"}, "silence add needs --until TIME", false},
		{[]string{"silence", "add", "--until", "1d"}, "requires at least 1 arg(s)", false},
		{[]string{"silence", "add", "acme", "--until", "soon"}, `--until "soon": want now, today, tomorrow`, false},
		{[]string{"silence", "add", "acme", "--until", "1d", "--from", "later"}, `--from "later": want now, today, tomorrow`, false},
		{[]string{"silence", "add", "acme", "--until", "2026-11-01"}, `--until "2026-11-01": the silence would end`, false},
		{[]string{"silence", "add", "acme", "nope", "--until", "1d"}, `argument "nope": no customer with this ID`, true},
		{[]string{"silence", "add", "acme/monthly", "--until", "1d"}, `customer acme has no commitment "monthly" (it has: weekly, reply)`, true},
		{[]string{"silence", "remove"}, "accepts 1 arg(s), received 0", false},
		{[]string{"webhooks"}, "webhooks needs a subcommand", false},
		{[]string{"webhooks", "redeliver", "abc"}, `delivery ID "abc": want a number`, false},
		{[]string{"webhooks", "redeliver", "-3"}, "unknown shorthand flag", false},
		{[]string{"webhooks", "deliveries", "--state", "lost"}, `--state "lost": want pending, delivered or failed`, false},
		{[]string{"webhooks", "deliveries", "--limit", "0"}, "--limit 0: want 1 or more", false},
		{[]string{"webhooks", "test", "nope"}, `webhook "nope": no webhook of that name in`, false},
		{[]string{"alerts", "--at", "+-3d"}, `--at "+-3d": want now, today`, false},
		{[]string{"customer", "acme", "--at", "2026-02-30"}, `--at "2026-02-30": want now, today`, false},
		{[]string{"silence", "add", "acme", "--until", "yesterday"}, `--until "yesterday": the silence would end`, false},
		{[]string{"customers", "--state", "late"}, `--state "late": want one of ok, at_risk, slipped, unknown, none`, false},
		{[]string{"customers", "--state", "ok,slipped,resolved"}, `--state "resolved": want one of ok, at_risk`, false},
		{[]string{"alerts", "--state", "ok"}, `--state "ok": want one of at_risk, slipped, failing, resolved`, false},
		{[]string{"alerts", "--owner", "zoe"}, `--owner "zoe": want one of alice`, false},
		{[]string{"customers", "--tier", "gold"}, `--tier "gold": the configuration has none`, false},
		{[]string{"alerts", "--all", "--at", "tomorrow"}, "--at forecasts the alerts firing then; --all", false},
		{[]string{"alerts", "--state", "resolved", "--at", "tomorrow"}, "--at forecasts the alerts firing then; --all", false},
		{[]string{"customers", "-o", "yaml"}, `-o "yaml": want table, wide or json`, false},
		{[]string{"webhooks", "list", "-o", "csv"}, `-o "csv": want table, wide or json`, false},
	}
	f := newFixture(t, "http://127.0.0.1:9")
	check := func(t *testing.T, path string, args []string, want string) {
		t.Helper()
		code, out, errOut := f.run(path, args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "touchbase: ") || strings.Count(errOut, "\n") != 1 ||
			!strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line with %q", args, code, out, errOut, want)
		}
	}
	for _, tc := range tests {
		check(t, f.config, tc.args, tc.want)
	}
	f.startDaemon()
	for _, tc := range tests {
		if tc.daemon {
			check(t, f.cli, tc.args, tc.want)
		}
	}
	// Nothing was stored by the rejected silences.
	if code, out, _ := f.run(f.config, "silence", "list", "--all", "--json"); code != 0 || out != "[]\n" {
		t.Errorf("silences after rejected adds: exit %d, %s; want none", code, out)
	}
}

// A broken configuration is a usage error (2), naming the file.
func TestDataCommandsBadConfig(t *testing.T) {
	for _, args := range [][]string{{"customers"}, {"silence", "list"}, {"webhooks", "list"}} {
		code, _, errOut := runCLI(t, append(args, "--config", "testdata/broken.yaml")...)
		if code != 2 || !strings.HasPrefix(errOut, "testdata/broken.yaml:") {
			t.Errorf("%v with a broken config: exit %d, stderr %q; want 2 naming the file", args, code, errOut)
		}
	}
}
