package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/evaluate"
)

// The states --state accepts.
var (
	customerStates = []string{string(cadence.OK), string(cadence.AtRisk), string(cadence.Slipped), string(cadence.Unknown),
		string(cadence.None)}
	alertStates = []string{string(cadence.AtRisk), string(cadence.Slipped), "failing", string(cadence.Resolved)}
)

// filterFlags are --owner, --state and --tier of `customers` and `alerts`:
// each repeatable or a comma list; a row passes when it matches one value
// of every flag given.
type filterFlags struct {
	owners, states, tiers []string
	valid                 []string // the states of this command
}

func (f *filterFlags) register(cmd *cobra.Command, g *globals, states []string) {
	f.valid = states
	cmd.Flags().StringSliceVar(&f.owners, "owner", nil, "only customers owned by these accounts (repeat or comma list)")
	cmd.Flags().StringSliceVar(&f.states, "state", nil, "only these states: "+strings.Join(states, ", ")+" (repeat or comma list)")
	cmd.Flags().StringSliceVar(&f.tiers, "tier", nil, "only customers of these tiers (repeat or comma list)")
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(states, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("owner", completeFromConfig(g, accountNames))
	_ = cmd.RegisterFlagCompletionFunc("tier", completeFromConfig(g, tierNames))
}

// check refuses values that can match nothing, listing those that can: a
// typo must not look like an empty result.
func (f *filterFlags) check(cfg *config.Config) error {
	if err := oneOf("state", f.states, f.valid); err != nil {
		return err
	}
	if err := oneOf("owner", f.owners, accountNames(cfg)); err != nil {
		return err
	}
	return oneOf("tier", f.tiers, tierNames(cfg))
}

func oneOf(flag string, values, valid []string) error {
	for _, v := range values {
		switch {
		case slices.Contains(valid, v):
		case len(valid) == 0:
			return usageError("--%s %q: the configuration has none", flag, v)
		default:
			return usageError("--%s %q: want one of %s", flag, v, strings.Join(valid, ", "))
		}
	}
	return nil
}

func (f *filterFlags) active() bool { return len(f.owners)+len(f.states)+len(f.tiers) > 0 }

// wants reports whether a row with these values passes.
func (f *filterFlags) wants(owner, state, tier string) bool {
	in := func(vs []string, v string) bool { return len(vs) == 0 || slices.Contains(vs, v) }
	return in(f.owners, owner) && in(f.states, state) && in(f.tiers, tier)
}

func (f *filterFlags) customers(cs []evaluate.CustomerView) []evaluate.CustomerView {
	if !f.active() {
		return cs
	}
	out := []evaluate.CustomerView{}
	for _, c := range cs {
		if f.wants(c.Owner, string(c.State), c.Tier) {
			out = append(out, c)
		}
	}
	return out
}

// alerts filters alerts by their state and their customer's owner and
// tier in cfg; a sync source's alert has neither, so --owner and --tier
// leave it out.
func (f *filterFlags) alerts(as []evaluate.AlertView, cfg *config.Config) []evaluate.AlertView {
	if !f.active() {
		return as
	}
	out := []evaluate.AlertView{}
	for _, a := range as {
		var owner, tier string
		if c, ok := cfg.Customer(a.CustomerID); ok {
			owner, tier = c.Owner, c.Tier
		} else if a.CustomerID == "" && (len(f.owners) > 0 || len(f.tiers) > 0) {
			continue
		}
		if f.wants(owner, a.State, tier) {
			out = append(out, a)
		}
	}
	return out
}

// wantsResolved: asking for resolved alerts implies --all.
func (f *filterFlags) wantsResolved() bool {
	return slices.Contains(f.states, string(cadence.Resolved))
}

func accountNames(cfg *config.Config) []string {
	var out []string
	for _, a := range cfg.Accounts {
		out = append(out, a.Name)
	}
	return out
}

// tierNames are the tiers customers are in, sorted.
func tierNames(cfg *config.Config) []string {
	var out []string
	for _, c := range cfg.Customers {
		if c.Tier != "" && !slices.Contains(out, c.Tier) {
			out = append(out, c.Tier)
		}
	}
	slices.Sort(out)
	return out
}
