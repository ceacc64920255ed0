// Package webhooks delivers outbox events to the configured endpoints as
// Standard Webhooks (https://www.standardwebhooks.com): signed POSTs whose
// webhook-id is the event ID, stable across retries, restarts and replays.
//
// Delivery is at-least-once. A pass claims due deliveries in the store
// (a lease held in the dispatcher's name, so several dispatchers, in one
// process or several, never send one delivery at once), sends them, and
// records each attempt; a crash between sending and recording resends the
// event with the same webhook-id once the lease ends, and receivers
// deduplicate on it. Retries wait in the store (next_attempt_at), never in
// memory, so they survive restarts.
//
// The dispatcher only notifies: which events exist is evaluation's
// business (commitment.* and sync.* alike). Each attempt's outcome is
// (retry bool, err error), as Alertmanager's notifiers report it, and the
// backoff schedule alone decides what follows.
package webhooks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Defaults of the options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultConcurrency = 8 // per endpoint
	defaultBatch       = 256
)

// Outbox is what a Dispatcher needs of the store: the webhook outbox
// (*store.Store implements it; see there for each method's contract).
type Outbox interface {
	ClaimDue(ctx context.Context, now time.Time, owner string, endpoints []string, lease time.Duration, limit int) ([]store.Claimed, error)
	ReleaseClaims(ctx context.Context, owner string, ids []int64) error
	RecordAttempts(ctx context.Context, owner string, rs ...store.AttemptResult) error
	EnqueueClaimed(ctx context.Context, ev store.Event, endpoint, owner string, now time.Time, lease time.Duration) (store.Claimed, error)
	Redeliver(ctx context.Context, id int64, now time.Time) error
	Deliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error)
	QueueCounts(ctx context.Context) (map[string]store.EndpointCounts, error)
	EndpointSummary(ctx context.Context) (map[string]store.EndpointCounts, error)
	DisabledEndpoints(ctx context.Context) (map[string]store.DisabledEndpoint, error)
	DisableEndpoint(ctx context.Context, endpoint string, at time.Time, reason string) error
	EnableEndpoint(ctx context.Context, endpoint string) error
}

// Dispatcher sends due outbox deliveries to one configuration's endpoints.
// Build a new one on reload; pending deliveries of endpoints that are no
// longer configured stay pending (listed, not sent) until the endpoint
// comes back. Methods are safe for concurrent use; passes are serialised.
type Dispatcher struct {
	hooks map[string]*endpoint
	names []string // configured endpoint names, in config order
	st    Outbox
	owner string // the name claims are held in: unique to this Dispatcher
	log   *zap.Logger
	m     *metrics
	http  *httpClient
	rec   *recorder

	now         func() time.Time
	spread      func(time.Duration) time.Duration
	timeout     time.Duration
	lease       time.Duration
	concurrency int
	batch       int

	mu        sync.Mutex // one pass at a time
	revivedOK bool       // endpoints disabled under another URL were re-enabled
}

// endpoint is a configured webhook with its keys, read on first use and
// kept for the Dispatcher's life: a rotated secret takes effect on reload.
type endpoint struct {
	config.Webhook
	host        string // scheme://host for logs: the path may hold a token
	fingerprint string // of the URL, to notice a changed URL after 410

	mu      sync.Mutex
	signer  *signer
	lastErr string // last secret error logged, to log each once
}

// Option configures a Dispatcher.
type Option func(*Dispatcher)

// WithClock sets the clock (tests move it instead of sleeping through the
// retry schedule). It drives webhook-timestamp, due times and the store.
func WithClock(now func() time.Time) Option { return func(d *Dispatcher) { d.now = now } }

// WithTimeout sets the per-attempt timeout (default 10 s).
func WithTimeout(t time.Duration) Option { return func(d *Dispatcher) { d.timeout = t } }

// WithConcurrency caps the attempts in flight per endpoint (default 8).
func WithConcurrency(n int) Option { return func(d *Dispatcher) { d.concurrency = max(n, 1) } }

// WithLease sets how long a claimed delivery is held before another pass
// may take it (default and minimum: 3 × timeout, so an attempt is never
// started unless it can end within the lease): the resend delay after a crash.
func WithLease(l time.Duration) Option { return func(d *Dispatcher) { d.lease = l } }

// withJitter replaces the ±20% retry jitter (tests).
func withJitter(f func(time.Duration) time.Duration) Option {
	return func(d *Dispatcher) { d.spread = f }
}

// New builds a Dispatcher for hooks. It does no I/O: secrets are read on
// first use. reg may be nil (CLI commands that do not export metrics).
func New(hooks []config.Webhook, st Outbox, log *zap.Logger, reg prometheus.Registerer, opts ...Option) (*Dispatcher, error) {
	d := &Dispatcher{hooks: map[string]*endpoint{}, st: st, log: log, now: time.Now, spread: jitter,
		timeout: DefaultTimeout, concurrency: DefaultConcurrency, batch: defaultBatch, owner: newOwner()}
	for _, o := range opts {
		o(d)
	}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	if d.lease < 3*d.timeout {
		d.lease = 3 * d.timeout
	}
	for _, h := range hooks {
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("webhook %s: url must be an absolute http(s) URL", h.Name)
		}
		if _, dup := d.hooks[h.Name]; dup {
			return nil, fmt.Errorf("webhook %s: name used twice", h.Name)
		}
		sum := sha256.Sum256([]byte(h.URL))
		d.hooks[h.Name] = &endpoint{Webhook: h, host: u.Scheme + "://" + u.Host, fingerprint: hex.EncodeToString(sum[:6])}
		d.names = append(d.names, h.Name)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register webhook metrics: %w", err)
	}
	m.present(d.names)
	d.m = m
	d.http = newHTTPClient(d.timeout, d.concurrency)
	d.rec = &recorder{st: st, owner: d.owner}
	return d, nil
}

// newOwner names a Dispatcher's claims: the host and process, which say
// who holds a delivery, and a random part, unique to the Dispatcher (a
// reload builds a new one while the old one may still be finishing).
func newOwner() string {
	host, _ := os.Hostname()
	nonce := make([]byte, 4)
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(nonce))
}

// Pass counts the attempts of one DeliverPass. Failed counts attempts a
// receiver answered other than 2xx or that reached no receiver, whether or
// not a retry follows; FailedEndpoints names their endpoints, sorted.
type Pass struct {
	Sent, Failed    int
	FailedEndpoints []string
}

// add counts one attempt's outcome; callers serialise it.
func (p *Pass) add(endpoint string, delivered bool) {
	if delivered {
		p.Sent++
		return
	}
	p.Failed++
	if i, found := slices.BinarySearch(p.FailedEndpoints, endpoint); !found {
		p.FailedEndpoints = slices.Insert(p.FailedEndpoints, i, endpoint)
	}
}

// DeliverDue is DeliverPass without the counts, for the daemon's loop.
func (d *Dispatcher) DeliverDue(ctx context.Context) error {
	_, err := d.DeliverPass(ctx)
	return err
}

// DeliverPass runs one pass: it claims every due delivery of the
// configured, enabled endpoints and sends them —
// at most the concurrency limit at once per endpoint, one customer's (or
// source's) events in order — recording each attempt before it returns.
// Errors are the store's; a receiver's failure is recorded and counted in
// the Pass, not returned: retrying is the outbox's business, judging a
// pass (`run --once`) the caller's.
func (d *Dispatcher) DeliverPass(ctx context.Context) (Pass, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var (
		errs []error
		pass Pass
	)
	if err := d.revive(ctx); err != nil {
		errs = append(errs, err)
	}
	for ctx.Err() == nil {
		names, now := d.ready(ctx), d.now()
		claimed, err := d.st.ClaimDue(ctx, now, d.owner, names, d.lease, d.batch)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if len(claimed) == 0 {
			break
		}
		// Start no attempt that could outlive the claim's lease.
		attempted := d.deliver(ctx, claimed, now.Add(d.lease-d.timeout), &pass)
		if len(claimed) < d.batch || attempted == 0 {
			break // the rest waits behind a failure, or for the next pass
		}
	}
	if err := d.publishDepth(ctx); err != nil {
		errs = append(errs, err)
	}
	return pass, errors.Join(errs...)
}

// ready returns the endpoints whose keys are available, logging (once per
// distinct error) those whose secret cannot be read: their deliveries stay
// pending until it can.
func (d *Dispatcher) ready(ctx context.Context) []string {
	var names []string
	for _, name := range d.names {
		if _, err := d.hooks[name].keys(ctx, d.log); err == nil {
			names = append(names, name)
		}
	}
	return names
}

// keys returns the endpoint's signer, reading its secrets on first use.
func (e *endpoint) keys(ctx context.Context, log *zap.Logger) (*signer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.signer != nil {
		return e.signer, nil
	}
	s, err := loadSigner(ctx, e.Secrets)
	if err != nil {
		if err.Error() != e.lastErr {
			log.Error("webhook secret unusable; deliveries wait", zap.String("endpoint", e.Name), zap.Error(err))
			e.lastErr = err.Error()
		}
		return nil, err
	}
	e.signer = &s
	return e.signer, nil
}

// revive re-enables, once per Dispatcher, endpoints disabled after a 410
// whose URL has changed since: the operator pointed them somewhere else.
func (d *Dispatcher) revive(ctx context.Context) error {
	if d.revivedOK {
		return nil
	}
	disabled, err := d.st.DisabledEndpoints(ctx)
	if err != nil {
		return err
	}
	for name, dis := range disabled {
		e, ok := d.hooks[name]
		if !ok || strings.Contains(dis.Reason, e.fingerprint) {
			continue
		}
		if err := d.st.EnableEndpoint(ctx, name); err != nil {
			return err
		}
		d.log.Info("webhook endpoint re-enabled: its url changed since it answered 410 Gone",
			zap.String("endpoint", name), zap.String("host", e.host))
	}
	d.revivedOK = true
	return nil
}

// publishDepth updates the queue depth gauge.
func (d *Dispatcher) publishDepth(ctx context.Context) error {
	counts, err := d.st.QueueCounts(ctx)
	if err != nil {
		return err
	}
	depth := map[string][2]int{}
	for _, n := range d.names {
		depth[n] = [2]int{}
	}
	for ep, c := range counts {
		depth[ep] = [2]int{c.Pending, c.Failed}
	}
	d.m.setDepth(depth)
	return nil
}
