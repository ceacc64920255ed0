package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/webhooks"
)

// The webhook commands work on the store directly, daemon or not: the
// outbox is the contract between them. A running daemon sends a delivery
// made pending by redeliver on its next pass; a test delivery is claimed
// by the CLI while it sends it, so the daemon never sends it twice. Only
// `webhooks test` works before a store exists: it then sends directly.

func newWebhooksCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Webhook endpoints, delivery log, test and replay",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("webhooks needs a subcommand: list, test, deliveries, redeliver or secret")
		},
	}
	cmd.AddCommand(newWebhooksListCmd(g), newWebhooksTestCmd(g), newWebhooksDeliveriesCmd(g), newWebhooksRedeliverCmd(g),
		newWebhooksSecretCmd(g))
	return cmd
}

func newWebhooksSecretCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "secret",
		Short: "Print a new random Standard Webhooks secret (whsec_…)",
		Long: `Print a new random Standard Webhooks secret: "whsec_" and the base64 of 32
random bytes. Save it in the endpoint's secret_file (readable by the daemon
only) and give it to the receiver, which verifies webhook-signature with it:

  touchbase webhooks secret > /etc/touchbase/secrets/ops.whsec

To rotate, put the new one in secret_file_next first. It needs no
configuration.`,
		Args: cobra.NoArgs,
		RunE: runE(func(*cobra.Command, []string) error {
			secret, err := webhooks.NewSecret()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(g.stdout, secret)
			return err
		}),
	}
}

// webhooksRunE is runE for the webhook commands: it opens the store and
// builds a Dispatcher for the configured endpoints.
func webhooksRunE(g *globals, fn func(ctx context.Context, b *backend, d *webhooks.Dispatcher, args []string) error) func(*cobra.Command, []string) error {
	return runE(func(cmd *cobra.Command, args []string) error {
		b, err := newBackend(g, "")
		if err != nil {
			return err
		}
		defer b.close()
		ctx := cmd.Context()
		st, err := b.store(ctx)
		if err != nil {
			return err
		}
		d, err := newDispatcher(b, st)
		if err != nil {
			return err
		}
		return fn(ctx, b, d, args)
	})
}

// newDispatcher builds the Dispatcher of the configured endpoints over st;
// a configuration it refuses is a usage error.
func newDispatcher(b *backend, st *store.Store) (*webhooks.Dispatcher, error) {
	d, err := webhooks.New(b.cfg.Webhooks, st, b.log, nil, webhooks.WithClock(clock))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", b.cfg.Path, err)}
	}
	return d, nil
}

func newWebhooksListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Configured endpoints with their health and queue",
		Long: `The configured endpoints, in configuration order, with their health (ok,
failing, idle, disabled after a 410 Gone), pending and failed deliveries and
the last attempt; then endpoints that only have deliveries left from an
earlier configuration. Hosts only: a URL's path may hold a token.`,
		Args: cobra.NoArgs,
		RunE: webhooksRunE(g, func(ctx context.Context, _ *backend, d *webhooks.Dispatcher, _ []string) error {
			eps, err := d.List(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, nil, orEmpty(eps))
			}
			return webhooks.WriteEndpoints(g.stdout, eps)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of endpoints")
	return cmd
}

func newWebhooksTestCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test NAME",
		Short: "Send a webhook.test event to an endpoint now and print its answer",
		Long: `Send a new webhook.test event to the endpoint NAME at once, even when it is
disabled, and print the receiver's HTTP status. Exit status 1 when the
receiver answers other than 2xx or cannot be reached; a 2xx re-enables a
disabled endpoint. The delivery is logged (see deliveries) and not retried.

Before any store exists (no daemon has run yet), the signed event is sent
straight to the receiver and the status and latency are printed; nothing
is logged.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			b, err := newBackend(g, "")
			if err != nil {
				return err
			}
			defer b.close()
			name := args[0]
			if !slices.ContainsFunc(b.cfg.Webhooks, func(h config.Webhook) bool { return h.Name == name }) {
				return usageError("webhook %q: no webhook of that name in %s (configured: %s)", name, b.cfg.Path, webhookNames(b))
			}
			ctx := cmd.Context()
			if ok, err := daemon.StoreExists(ctx, b.cfg); err == nil && !ok {
				// Checking the receiver is the first thing one does after
				// writing a configuration: it must not wait for a store.
				return testDirect(ctx, g, b, name)
			}
			st, err := b.store(ctx)
			if err != nil {
				return err
			}
			d, err := newDispatcher(b, st)
			if err != nil {
				return err
			}
			status, err := d.Test(ctx, name)
			if status != 0 {
				fmt.Fprintf(g.stdout, "%s: %d %s\n", name, status, http.StatusText(status))
			}
			return err
		}),
	}
}

// testDirect sends the test event without a store and prints the answer.
func testDirect(ctx context.Context, g *globals, b *backend, name string) error {
	d, err := webhooks.New(b.cfg.Webhooks, nil, b.log, nil, webhooks.WithClock(clock))
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", b.cfg.Path, err)}
	}
	p, err := d.SendTest(ctx, name)
	if p.Status != 0 {
		fmt.Fprintf(g.stdout, "%s: %d %s in %s (sent directly: no store yet, so not logged)\n",
			name, p.Status, http.StatusText(p.Status), p.Latency.Round(time.Millisecond))
	}
	return err
}

func webhookNames(b *backend) string {
	var names []string
	for _, h := range b.cfg.Webhooks {
		names = append(names, h.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func newWebhooksDeliveriesCmd(g *globals) *cobra.Command {
	var (
		f      store.DeliveryFilter
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "deliveries [--endpoint NAME] [--state STATE] [--limit N]",
		Short: "The delivery log, newest first, with each delivery's attempts",
		Long: `The delivery log, newest first: each (event, endpoint) delivery with its
webhook-id, state (pending, delivered, failed), attempts and their HTTP
statuses, and when it is tried next. --json includes every attempt.`,
		Args: cobra.NoArgs,
		RunE: webhooksRunE(g, func(ctx context.Context, _ *backend, d *webhooks.Dispatcher, _ []string) error {
			if f.State != "" && !slices.Contains([]string{store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed}, f.State) {
				return usageError("--state %q: want pending, delivered or failed", f.State)
			}
			if f.Limit < 1 {
				return usageError("--limit %d: want 1 or more", f.Limit)
			}
			ds, err := d.Deliveries(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, nil, orEmpty(ds))
			}
			return webhooks.WriteDeliveries(g.stdout, ds, clock())
		}),
	}
	cmd.Flags().StringVar(&f.Endpoint, "endpoint", "", "only deliveries to this endpoint")
	cmd.Flags().StringVar(&f.State, "state", "", "only deliveries in this state: pending, delivered or failed")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "at most this many deliveries")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of deliveries with their attempt logs")
	return cmd
}

func newWebhooksRedeliverCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "redeliver ID",
		Short: "Replay a delivery with the same webhook-id",
		Long: `Make delivery ID (see deliveries) pending and due now, with a fresh round of
retries and the same webhook-id, so receivers can deduplicate. The running
daemon sends it on its next pass (or ` + "`touchbase run --once`" + `). An ID that
does not exist is a runtime failure (exit status 1).`,
		Args: cobra.ExactArgs(1),
		RunE: webhooksRunE(g, func(ctx context.Context, _ *backend, d *webhooks.Dispatcher, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageError("delivery ID %q: want a number from `touchbase webhooks deliveries`", args[0])
			}
			del, err := d.Redeliver(ctx, id)
			if errors.Is(err, store.ErrNoDelivery) {
				return fmt.Errorf("delivery %d: no such delivery (see `touchbase webhooks deliveries`)", id)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "delivery %d (%s to %s, webhook-id %s) is %s again\n",
				del.ID, del.EventType, del.Endpoint, del.EventID, del.State)
			return err
		}),
	}
}

// orEmpty makes a nil slice print as [] in JSON: scripts iterate it.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
