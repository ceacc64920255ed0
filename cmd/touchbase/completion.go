package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
)

// Shell completion: cobra's `touchbase completion bash|zsh|fish|powershell`
// prints the script; the script calls `touchbase __complete ...`, which
// calls these functions. They read the configuration and, for silence IDs,
// ask the running daemon; they never open the store, write nothing, and
// give up quietly (no suggestions) on any error: a shell is waiting.

// completeTimeout bounds asking the daemon for silence IDs.
const completeTimeout = time.Second

type completeFunc = cobra.CompletionFunc

// loadForCompletion loads the configuration named by --config (cobra has
// parsed the flags by then), or nil when it cannot be read.
func loadForCompletion(g *globals) *config.Config {
	cfg, err := config.Load(g.config)
	if err != nil {
		return nil
	}
	return cfg
}

// completeFromConfig completes a flag's value from the configuration.
func completeFromConfig(g *globals, values func(*config.Config) []string) completeFunc {
	return func(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg := loadForCompletion(g)
		if cfg == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return values(cfg), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeCustomers completes one customer ID, described by its name.
func completeCustomers(g *globals) completeFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg := loadForCompletion(g)
		if cfg == nil || len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, c := range cfg.Customers {
			out = append(out, cobra.CompletionWithDesc(c.ID, c.Name))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeSilenceTargets completes `silence add` targets: customer IDs
// and, once a customer and "/" are typed, that customer's commitments.
func completeSilenceTargets(g *globals) completeFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg := loadForCompletion(g)
		if cfg == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		id, _, commitment := strings.Cut(toComplete, "/")
		for _, c := range cfg.Customers {
			switch {
			case slices.Contains(args, c.ID):
			case !commitment && strings.HasPrefix(c.ID, id):
				out = append(out, cobra.CompletionWithDesc(c.ID, c.Name))
			case commitment && c.ID == id:
				for _, cm := range c.Commitments {
					out = append(out, cobra.CompletionWithDesc(c.ID+"/"+cm.Name, string(cm.Type)))
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeWebhooks completes one webhook name, described by its format.
func completeWebhooks(g *globals) completeFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg := loadForCompletion(g)
		if cfg == nil || len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, h := range cfg.Webhooks {
			out = append(out, cobra.CompletionWithDesc(h.Name, cmp.Or(h.Format, config.FormatStandard)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeSilenceIDs completes the ID of a silence in force, asking the
// running daemon or, without one, reading the store read-only.
func completeSilenceIDs(g *globals) completeFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg := loadForCompletion(g)
		if cfg == nil || len(args) > 0 || cfg.Listen.Socket == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		socket := cfg.Listen.Socket
		if f := cmd.Flags().Lookup("socket"); f != nil && f.Value.String() != "" {
			socket = f.Value.String()
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completeTimeout)
		defer cancel()
		b := &backend{cfg: cfg, socket: socket}
		defer func() {
			if b.st != nil {
				b.st.Close()
			}
		}()
		ss, err := silencesForCompletion(ctx, b)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, s := range ss {
			target := s.CustomerID
			if s.Commitment != "" {
				target += "/" + s.Commitment
			}
			out = append(out, cobra.CompletionWithDesc(s.ID, target+" until "+s.EndsAt.In(displayZone(cfg)).Format(stampLayout)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// silencesForCompletion lists the silences in force: the daemon's, or
// without a daemon the store's, opened read-only (no migration, no write).
func silencesForCompletion(ctx context.Context, b *backend) ([]cadence.Silence, error) {
	raw, err := b.call(ctx, apiReq{path: "/v1/silences"})
	if err == nil {
		var ss []cadence.Silence
		return ss, json.Unmarshal(raw, &ss)
	}
	if !errors.Is(err, errNoDaemon) {
		return nil, err
	}
	st, err := b.openStore(ctx, false)
	if err != nil {
		return nil, err
	}
	return st.Silences(ctx, clock(), false)
}
