package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
)

// checkTimeout bounds one source's connection check (a password_command
// alone may take 30 s).
const checkTimeout = time.Minute

type checkFlags struct {
	connect, effective bool
	out                outputFlags
}

func newCheckCmd(g *globals) *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check [--connect] [--effective] [--json]",
		Short: "Validate the configuration (and with --connect, log in to every source)",
		Long: `Validate the configuration and print a summary of it. Every problem is
printed, one per line, naming the file, line and key; the exit status is 2
when there is any; an empty file is one ("empty configuration"). Warnings
(doubtful values the daemon accepts, like a customer domain below another
customer's, or a password_file, secret_file or token_file that group or
others can read) are printed to stderr as "warning: KEY: MESSAGE" and
leave the exit status 0. With --connect, also log in to every source and
report each one, and connect to a postgres store; exit status 1 when a
source or the store cannot be reached.

--effective prints each customer's commitments as the daemon evaluates
them, after its own, its tier's and the defaults are merged: where each
came from (own, tier NAME, defaults) and its rule in words.

--json prints one object instead: "ok", "errors" and "warnings" (each with
"key" and "message"; errors also "file" and "line" when known), with
--effective "effective" (per customer, each commitment with its settings)
and with --connect "sources" ("name", "ok", "error"). The exit status is
the same; stderr then has one line saying why it is not 0.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return check(cmd.Context(), g, &f) }),
	}
	cmd.Flags().BoolVar(&f.connect, "connect", false, "also connect and log in to every source (and to a postgres store)")
	cmd.Flags().BoolVar(&f.effective, "effective", false, "print each customer's commitments after tiers and defaults are merged")
	f.out.register(cmd, "print the problems, warnings and (with --effective, --connect) the rest as one JSON object", false)
	return cmd
}

func check(ctx context.Context, g *globals, f *checkFlags) error {
	if err := f.out.check(); err != nil {
		return err
	}
	cfg, err := daemon.LoadConfig(g.config)
	if f.out.json() {
		return checkJSON(ctx, g, f, cfg, err)
	}
	if err != nil {
		return err
	}
	// Warnings go to stderr beside the summary and do not change the exit
	// status: the daemon would run with this configuration.
	for _, w := range cfg.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	fmt.Fprint(g.stdout, cfg.Summary())
	p := newPrinter(g.stdout, &f.out, displayZone(cfg), clock())
	if f.effective {
		fmt.Fprintln(g.stdout)
		if err := renderEffective(p, effective(cfg)); err != nil {
			return err
		}
	}
	if !f.connect {
		return nil
	}
	results, err := connect(ctx, g, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdout)
	return errors.Join(renderConnect(p, results), connectError(results))
}

// checkReport is `check --json`.
type checkReport struct {
	Config    string          `json:"config"`
	OK        bool            `json:"ok"`
	Errors    []checkProblem  `json:"errors"`
	Warnings  []checkProblem  `json:"warnings"`
	Effective []effectiveView `json:"effective,omitempty"`
	Sources   []sourceCheck   `json:"sources,omitempty"`
}

// checkProblem is one error or warning; File and Line are known for
// errors found in the file.
type checkProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key"`
	Message string `json:"message"`
}

func checkJSON(ctx context.Context, g *globals, f *checkFlags, cfg *config.Config, loadErr error) error {
	r := checkReport{Config: g.config, OK: loadErr == nil, Errors: []checkProblem{}, Warnings: []checkProblem{}}
	var errs config.Errors
	switch {
	case errors.As(loadErr, &errs):
		for _, e := range errs {
			r.Errors = append(r.Errors, checkProblem{File: e.File, Line: e.Line, Key: e.Key, Message: e.Msg})
		}
	case loadErr != nil:
		r.Errors = append(r.Errors, checkProblem{Message: loadErr.Error()})
	}
	var connErr error
	if cfg != nil {
		r.Config = cfg.Path
		for _, w := range cfg.Warnings {
			r.Warnings = append(r.Warnings, checkProblem{Key: w.Key, Message: w.Msg})
		}
		if f.effective {
			r.Effective = effective(cfg)
		}
		if f.connect {
			var err error
			if r.Sources, err = connect(ctx, g, cfg); err != nil {
				return err
			}
			connErr = connectError(r.Sources)
			r.OK = connErr == nil
		}
	}
	if err := printJSON(g.stdout, nil, r); err != nil {
		return err
	}
	if loadErr != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: %d problems (see the JSON on stdout)", g.config, len(r.Errors))}
	}
	return connErr
}

// effectiveView is one customer's commitments as evaluated.
type effectiveView struct {
	Customer    string                `json:"customer"`
	Name        string                `json:"name"`
	Tier        string                `json:"tier,omitempty"`
	Timezone    string                `json:"timezone"`
	Commitments []effectiveCommitment `json:"commitments"`
}

// effectiveCommitment is a commitment with every setting resolved, spans
// in the configuration's syntax; From is where it came from.
type effectiveCommitment struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	From        string `json:"from"` // own, tier NAME, defaults
	Rule        string `json:"rule"`
	Kind        string `json:"kind,omitempty"`
	Direction   string `json:"direction,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Every       string `json:"every,omitempty"`
	Per         string `json:"per,omitempty"`
	Min         int    `json:"min,omitempty"`
	Grace       string `json:"grace,omitempty"`
	Within      string `json:"within,omitempty"`
	Before      string `json:"before,omitempty"`
	MinContacts int    `json:"min_contacts,omitempty"`
	Window      string `json:"window,omitempty"`
}

func effective(cfg *config.Config) []effectiveView {
	out := []effectiveView{}
	span := func(s cadence.Span) string {
		if s.IsZero() {
			return ""
		}
		return s.String()
	}
	for _, c := range cfg.Customers {
		v := effectiveView{Customer: c.ID, Name: c.Name, Tier: c.Tier, Timezone: c.Location.String(),
			Commitments: []effectiveCommitment{}}
		for i, cm := range c.Commitments {
			e := effectiveCommitment{Name: cm.Name, Type: string(cm.Type), Rule: cadence.Rule(cm), Kind: string(cm.Kind),
				Direction: string(cm.Direction), Every: span(cm.Every), Per: string(cm.Per), Grace: span(cm.Grace),
				Within: span(cm.Within), Before: span(cm.Before), MinContacts: cm.MinContacts, Window: span(cm.Window)}
			if cm.Type == cadence.CadenceType {
				e.Min = max(cm.Min, 1)
			}
			if cm.Subject != nil {
				e.Subject = cm.Subject.String()
			}
			if origins := cfg.Origins[c.ID]; i < len(origins) {
				e.From = origins[i]
			}
			v.Commitments = append(v.Commitments, e)
		}
		out = append(out, v)
	}
	return out
}

// renderEffective prints `check --effective`: one row per commitment.
func renderEffective(p printer, vs []effectiveView) error {
	t := newTable(col{name: "CUSTOMER"}, col{name: "TIER", wide: true}, col{name: "COMMITMENT"}, col{name: "TYPE"}, col{name: "FROM"},
		col{name: "RULE", flex: true})
	for _, v := range vs {
		if len(v.Commitments) == 0 {
			t.add(v.Customer, v.Tier, "(none)", "", "", "")
		}
		for _, c := range v.Commitments {
			t.add(v.Customer, v.Tier, c.Name, c.Type, c.From, c.Rule)
		}
	}
	return p.print(t)
}

// sourceCheck is one source's connection check.
type sourceCheck struct {
	Name    string `json:"name"`
	Checked bool   `json:"checked"` // false: the source has no connection check
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// connect builds the sources of cfg and checks them.
func connect(ctx context.Context, g *globals, cfg *config.Config) ([]sourceCheck, error) {
	log, _ := newLogger(g.stderr, stderrIsJournal(), isTerminal(g.stderr))
	// No store: checking a source only logs in, and the store may belong
	// to the daemon's user.
	plan, err := planBuilder(nil)(cfg, nil, log)
	if err != nil {
		return nil, err
	}
	return append(checkSources(ctx, plan.Sources), checkStore(ctx, cfg)...), nil
}

// checkStore connects to a Postgres store, as one more row named
// "store:postgres"; a SQLite file needs no connection.
func checkStore(ctx context.Context, cfg *config.Config) []sourceCheck {
	if cfg.Store != config.StorePostgres {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	r := sourceCheck{Name: "store:postgres", Checked: true}
	if _, err := daemon.StoreExists(ctx, cfg); err != nil {
		r.Error = err.Error()
	} else {
		r.OK = true
	}
	return []sourceCheck{r}
}

// checkSources checks every source that implements daemon.Checker,
// concurrently, and returns the results in plan order.
func checkSources(ctx context.Context, sources []daemon.Source) []sourceCheck {
	results := make([]sourceCheck, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		results[i].Name = src.Name()
		c, ok := src.(daemon.Checker)
		if !ok {
			continue
		}
		results[i].Checked = true
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			if err := c.Check(ctx); err != nil {
				results[i].Error = err.Error()
				return
			}
			results[i].OK = true
		})
	}
	wg.Wait()
	return results
}

// connectError says how many sources failed their check; nil when none.
// A source without a check did not fail.
func connectError(results []sourceCheck) error {
	failed := 0
	for _, r := range results {
		if r.Checked && !r.OK {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d sources failed the connection check", failed, len(results))
	}
	return nil
}

// renderConnect prints the connection checks, one row per source.
func renderConnect(p printer, results []sourceCheck) error {
	t := newTable(col{name: "SOURCE"}, col{name: "CONNECTION", flex: true})
	for _, r := range results {
		res := "ok"
		switch {
		case !r.Checked:
			res = "not checked (no connection check for this source)"
		case !r.OK:
			res = "FAILED: " + r.Error
		}
		t.add(r.Name, res)
	}
	if len(results) == 0 {
		t.add("(none)", "")
	}
	return p.print(t)
}
