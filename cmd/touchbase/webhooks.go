package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// The webhook commands that only read (list, deliveries) read the store,
// read-only, daemon or not: the outbox is the contract between them. Those
// that change state (test, redeliver) ask the running daemon, which owns
// the store; without one they write the store themselves, which only its
// owner can. A running daemon sends a delivery made pending by redeliver
// on its next pass; a test delivery is claimed while it is sent, so no
// pass sends it twice. Only `webhooks test` works before a store exists:
// it then sends directly.

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

// webhooksReadE is runE for the webhook commands that only read: it
// computes the answer with a Dispatcher over the store opened read-only,
// then prints it.
func webhooksReadE[T any](g *globals, out *outputFlags, get func(ctx context.Context, d *webhooks.Dispatcher) (T, error),
	print func(b *backend, v T) error) func(*cobra.Command, []string) error {
	return runE(func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		b, err := newBackend(g, "")
		if err != nil {
			return err
		}
		defer b.close()
		ctx := cmd.Context()
		v, err := readStore(ctx, b, func(st *store.Store) (T, error) {
			d, err := newDispatcher(b, st)
			if err != nil {
				var zero T
				return zero, err
			}
			return get(ctx, d)
		})
		if err != nil {
			return err
		}
		return print(b, v)
	})
}

// writeDispatcher is a Dispatcher over the store opened for writing, for
// the commands that change state when no daemon answers.
func writeDispatcher(ctx context.Context, b *backend) (*webhooks.Dispatcher, error) {
	st, err := b.openStore(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("%w; %w", noDaemon(b.socket), err)
	}
	return newDispatcher(b, st)
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
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Configured endpoints with their health and queue",
		Long: `The configured endpoints, in configuration order, with their health (ok,
failing, idle, disabled after a 410 Gone), pending and failed deliveries and
the last attempt; then endpoints that only have deliveries left from an
earlier configuration. Hosts only: a URL's path may hold a token. -o wide
adds the event types each endpoint gets and when it last delivered.`,
		Args: cobra.NoArgs,
		RunE: webhooksReadE(g, &out, func(ctx context.Context, d *webhooks.Dispatcher) ([]webhooks.Endpoint, error) {
			return d.List(ctx)
		}, func(b *backend, eps []webhooks.Endpoint) error {
			if out.json() {
				return printJSON(g.stdout, nil, orEmpty(eps))
			}
			return renderEndpoints(newPrinter(g.stdout, &out, b.loc(), clock()), eps)
		}),
	}
	out.register(cmd, "print a JSON array of endpoints", true)
	return cmd
}

func newWebhooksTestCmd(g *globals) *cobra.Command {
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "test NAME",
		Short: "Send a webhook.test event to an endpoint now and print its answer",
		Long: `Send a new webhook.test event to the endpoint NAME at once, even when it is
disabled, and print the receiver's HTTP status, the latency and the
event's webhook-id. Exit status 1 when the receiver answers other than 2xx
or cannot be reached; a 2xx re-enables a disabled endpoint. The delivery is
logged (see deliveries) and not retried.

Asks the running daemon to send it; without one it writes the store
itself, which only the store's owner (the service user, or root) can.
Before any store exists (no daemon has run yet), the signed event is sent
straight to the receiver; nothing is logged.

--json prints {"webhook", "status" (0: no answer), "latency_ms",
"webhook_id", "logged", "error"}, also when the test failed.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeWebhooks(g),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
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
			raw, err := b.call(ctx, apiReq{method: http.MethodPost, path: "/v1/webhooks/" + url.PathEscape(name) + "/test"})
			switch {
			case err == nil:
				var res webhooks.TestResult
				if err := json.Unmarshal(raw, &res); err != nil {
					return fmt.Errorf("read daemon answer to webhooks test: %w", err)
				}
				p := webhooks.Probe{Status: res.Status, Latency: time.Duration(res.LatencyMS) * time.Millisecond, EventID: res.WebhookID}
				err := errorOrNil(res.Error)
				return errors.Join(printTest(g, &out, name, p, true, err), err)
			case !errors.Is(err, errNoDaemon):
				return err
			}
			var p webhooks.Probe
			logged := true
			exists, err := daemon.StoreExists(ctx, b.cfg)
			if err == nil && !exists {
				// Checking the receiver is the first thing one does after
				// writing a configuration: it must not wait for a store.
				logged = false
				p, err = testDirect(ctx, b, name)
			} else {
				p, err = testLogged(ctx, b, name)
			}
			var ee *exitError
			if errors.As(err, &ee) {
				return err // the configuration, not the receiver
			}
			return errors.Join(printTest(g, &out, name, p, logged, err), err)
		}),
	}
	out.register(cmd, "print the receiver's answer as a JSON object", false)
	return cmd
}

// testResult is `webhooks test --json`.
type testResult struct {
	Webhook   string `json:"webhook"`
	Status    int    `json:"status"` // 0: no answer came
	LatencyMS int64  `json:"latency_ms"`
	WebhookID string `json:"webhook_id"`
	Logged    bool   `json:"logged"` // false: sent directly, no store yet
	Error     string `json:"error,omitempty"`
}

// printTest prints the test's outcome: JSON always, text when an answer
// came (the error says the rest).
func printTest(g *globals, out *outputFlags, name string, p webhooks.Probe, logged bool, err error) error {
	if out.json() {
		r := testResult{Webhook: name, Status: p.Status, LatencyMS: p.Latency.Milliseconds(), WebhookID: p.EventID, Logged: logged}
		if err != nil {
			r.Error = err.Error()
		}
		return printJSON(g.stdout, nil, r)
	}
	if p.Status == 0 {
		return nil
	}
	how := "webhook-id " + p.EventID
	if !logged {
		how = "sent directly: no store yet, so not logged"
	}
	_, werr := fmt.Fprintf(g.stdout, "%s: %d %s in %s (%s)\n", name, p.Status, http.StatusText(p.Status),
		p.Latency.Round(time.Millisecond), how)
	return werr
}

// testLogged sends the test event through the store's outbox.
func testLogged(ctx context.Context, b *backend, name string) (webhooks.Probe, error) {
	d, err := writeDispatcher(ctx, b)
	if err != nil {
		return webhooks.Probe{}, err
	}
	return d.Test(ctx, name)
}

func errorOrNil(msg string) error {
	if msg == "" {
		return nil
	}
	return errors.New(msg)
}

// testDirect sends the test event without a store.
func testDirect(ctx context.Context, b *backend, name string) (webhooks.Probe, error) {
	d, err := webhooks.New(b.cfg.Webhooks, nil, b.log, nil, webhooks.WithClock(clock))
	if err != nil {
		return webhooks.Probe{}, &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", b.cfg.Path, err)}
	}
	return d.SendTest(ctx, name)
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
		f   store.DeliveryFilter
		out outputFlags
	)
	cmd := &cobra.Command{
		Use:   "deliveries [--endpoint NAME] [--state STATE] [--limit N]",
		Short: "The delivery log, newest first, with each delivery's attempts",
		Long: `The delivery log, newest first: each (event, endpoint) delivery with its
webhook-id, state (pending, delivered, failed), attempts and their HTTP
statuses, and when it is tried next. -o wide adds the webhook-id and the
full creation times; --json includes every attempt.`,
		Args: cobra.NoArgs,
		RunE: webhooksReadE(g, &out, func(ctx context.Context, d *webhooks.Dispatcher) ([]store.Delivery, error) {
			if f.State != "" && !slices.Contains([]string{store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed}, f.State) {
				return nil, usageError("--state %q: want pending, delivered or failed", f.State)
			}
			if f.Limit < 1 {
				return nil, usageError("--limit %d: want 1 or more", f.Limit)
			}
			return d.Deliveries(ctx, f)
		}, func(b *backend, ds []store.Delivery) error {
			if out.json() {
				return printJSON(g.stdout, nil, orEmpty(ds))
			}
			return renderDeliveries(newPrinter(g.stdout, &out, b.loc(), clock()), ds)
		}),
	}
	cmd.Flags().StringVar(&f.Endpoint, "endpoint", "", "only deliveries to this endpoint")
	cmd.Flags().StringVar(&f.State, "state", "", "only deliveries in this state: pending, delivered or failed")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "at most this many deliveries")
	out.register(cmd, "print a JSON array of deliveries with their attempt logs", true)
	_ = cmd.RegisterFlagCompletionFunc("endpoint", completeWebhooks(g))
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(
		[]string{store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newWebhooksRedeliverCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "redeliver ID",
		Short: "Replay a delivery with the same webhook-id",
		Long: `Make delivery ID (see deliveries) pending and due now, with a fresh round of
retries and the same webhook-id, so receivers can deduplicate. The running
daemon sends it on its next pass (or ` + "`touchbase run --once`" + `). An ID that
does not exist is a runtime failure (exit status 1).

Asks the running daemon; without one it writes the store itself, which
only the store's owner (the service user, or root) can.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id < 1 {
				return usageError("delivery ID %q: want a number from `touchbase webhooks deliveries`", args[0])
			}
			b, err := newBackend(g, "")
			if err != nil {
				return err
			}
			defer b.close()
			del, err := redeliver(cmd.Context(), b, id)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "delivery %d (%s to %s, webhook-id %s) is %s again\n",
				del.ID, del.EventType, del.Endpoint, del.EventID, del.State)
			return err
		}),
	}
}

// redeliver asks the daemon to replay delivery id, or replays it in the
// store when no daemon answers.
func redeliver(ctx context.Context, b *backend, id int64) (store.Delivery, error) {
	var del store.Delivery
	raw, err := b.call(ctx, apiReq{method: http.MethodPost, path: fmt.Sprintf("/v1/deliveries/%d/redeliver", id)})
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &del); err != nil {
			return del, fmt.Errorf("read daemon answer to redeliver: %w", err)
		}
		return del, nil
	case !errors.Is(err, errNoDaemon):
		return del, err
	}
	d, err := writeDispatcher(ctx, b)
	if err != nil {
		return del, err
	}
	del, err = d.Redeliver(ctx, id)
	if errors.Is(err, store.ErrNoDelivery) {
		return del, fmt.Errorf("delivery %d: no such delivery (see `touchbase webhooks deliveries`)", id)
	}
	return del, err
}

// orEmpty makes a nil slice print as [] in JSON: scripts iterate it.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
