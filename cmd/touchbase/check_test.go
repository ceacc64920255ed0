package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// `check --effective` prints each customer's commitments after its own,
// its tier's and the defaults are merged, with where each came from: as a
// table and in --json.
func TestCheckEffective(t *testing.T) {
	path := setupConfig(t, "effective.yaml")
	code, out, errOut := runCLI(t, "check", "--effective", "--config", path)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	_, table, _ := strings.Cut(out, "\n\n") // after the summary
	checkWidth(t, nil, table)
	golden(t, "check-effective.golden", table)

	code, out, errOut = runCLI(t, "check", "--effective", "--json", "--config", path)
	var r checkReport
	if err := json.Unmarshal([]byte(out), &r); code != 0 || errOut != "" || err != nil || !r.OK || len(r.Errors) != 0 {
		t.Fatalf("--json: exit %d, %v, stderr %q; want 0 and ok:\n%s", code, err, errOut, out)
	}
	b, _ := json.MarshalIndent(r.Effective, "", "  ")
	golden(t, "check-effective.json.golden", string(b)+"\n")
}

// `check --json`: errors and warnings as objects with key and message, the
// same exit statuses, and one line on stderr.
func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		code     int
		errors   []checkProblem
		warnings []checkProblem
	}{
		{name: "broken", config: "testdata/broken.yaml", code: 2, errors: []checkProblem{
			{File: "testdata/broken.yaml", Line: 5, Key: "listen.bogus", Message: "unknown key"},
			{File: "testdata/broken.yaml", Line: 7, Key: "sync.poll_interval"},
			{File: "testdata/broken.yaml", Line: 8, Key: "timezone"},
			{File: "testdata/broken.yaml", Line: 12, Key: "customers[0].commitments[0]"},
		}},
		{name: "empty", config: "testdata/empty.yaml", code: 2, errors: []checkProblem{
			{File: "testdata/empty.yaml", Message: "empty configuration"},
		}},
		{name: "warnings", config: "../../config/testdata/warn/nested_domains.yaml", warnings: []checkProblem{
			{Key: "customers[0].domains[0]", Message: `domain "eu.acme.com" lies under "acme.com" of customer "acme"`},
			{Key: "customers[1].domains[2]", Message: `domain "mail.eu.acme.com" lies under "eu.acme.com"`},
			{Key: "customers[3].domains[0]", Message: `domain "github.io" is a hosting suffix`},
		}},
		{name: "good", config: "../../configs/touchbase.example.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "check", "--json", "--config", tc.config)
			var r checkReport
			if err := json.Unmarshal([]byte(out), &r); err != nil || code != tc.code {
				t.Fatalf("exit %d (want %d), %v, stderr %q:\n%s", code, tc.code, err, errOut, out)
			}
			if r.OK != (tc.code == 0) || len(r.Errors) != len(tc.errors) || len(r.Warnings) != len(tc.warnings) {
				t.Fatalf("ok %v, %d errors, %d warnings; want %d and %d:\n%s", r.OK, len(r.Errors), len(r.Warnings),
					len(tc.errors), len(tc.warnings), out)
			}
			for i, want := range tc.errors {
				got := r.Errors[i]
				if got.File != want.File || got.Line != want.Line || got.Key != want.Key || !strings.Contains(got.Message, want.Message) {
					t.Errorf("error %d: %+v, want %+v", i, got, want)
				}
			}
			for i, want := range tc.warnings {
				if got := r.Warnings[i]; got.Key != want.Key || !strings.Contains(got.Message, want.Message) {
					t.Errorf("warning %d: %+v, want %+v", i, got, want)
				}
			}
			if wantErr := tc.code != 0; (strings.Count(errOut, "\n") == 1) != wantErr || (!wantErr && errOut != "") {
				t.Errorf("stderr %q; want one line only when the exit status is not 0", errOut)
			}
		})
	}
}
