package webhooks

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// httpClient sends one attempt. It is retryablehttp with one in-process
// retry, only when the connection could not be opened (nothing was sent,
// e.g. a receiver restarting); every other retry is a persisted attempt.
type httpClient struct {
	c       *retryablehttp.Client
	timeout time.Duration
}

func newHTTPClient(timeout time.Duration, perHost int) *httpClient {
	transport := cleanhttp.DefaultPooledTransport()
	transport.MaxIdleConnsPerHost = perHost
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A webhook POST is not re-sent to another URL: the redirect is
		// returned as the answer, and treated as a rejection.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.Logger = nil // its messages would carry the URL, which may hold a token
	c.RetryMax = 1
	c.RetryWaitMin, c.RetryWaitMax = 100*time.Millisecond, 400*time.Millisecond
	c.CheckRetry = retryDialErrors
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler // keep the last response for the log
	return &httpClient{c: c, timeout: timeout}
}

// retryDialErrors retries only when dialing failed fast: the receiver then
// surely saw nothing. A timeout is not retried (it may be processing).
func retryDialErrors(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil || err == nil {
		return false, nil
	}
	var op *net.OpError
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, nil
	}
	return errors.As(err, &op) && op.Op == "dial", nil
}

// deliver sends claimed deliveries and records each attempt. Per endpoint,
// deliveries sharing an order key form a group sent one after the other in
// claim (creation) order; groups run concurrently up to the concurrency
// limit. When one fails, the rest of its group is released unsent, to wait
// behind it; so is what would start after expires (the claim's lease could
// end mid-attempt). It returns how many attempts were made and adds each
// recorded attempt's outcome to pass.
func (d *Dispatcher) deliver(ctx context.Context, claimed []store.Claimed, expires time.Time, pass *Pass) int {
	groups := map[string][][]store.Claimed{} // by endpoint
	index := map[[2]string]int{}
	for _, c := range claimed {
		k := [2]string{c.Endpoint, c.OrderKey}
		if i, ok := index[k]; ok && c.OrderKey != "" {
			groups[c.Endpoint][i] = append(groups[c.Endpoint][i], c)
			continue
		}
		index[k] = len(groups[c.Endpoint])
		groups[c.Endpoint] = append(groups[c.Endpoint], []store.Claimed{c})
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		release   []int64
		attempted atomic.Int64
	)
	for name, gs := range groups {
		e := d.hooks[name]
		keys, err := e.keys(ctx, d.log)
		if err != nil { // ready checked it: cannot happen once loaded
			mu.Lock()
			release = append(release, ids(slices.Concat(gs...))...)
			mu.Unlock()
			continue
		}
		run := &endpointRun{endpoint: e, signer: keys, tally: func(delivered bool) {
			mu.Lock()
			pass.add(e.Name, delivered)
			mu.Unlock()
		}}
		queue := make(chan []store.Claimed, len(gs))
		for _, g := range gs {
			queue <- g
		}
		close(queue)
		for range min(d.concurrency, len(gs)) {
			wg.Go(func() {
				for g := range queue {
					n, rest := d.deliverGroup(ctx, run, g, expires)
					attempted.Add(int64(n))
					mu.Lock()
					release = append(release, rest...)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(release) > 0 {
		if err := d.st.ReleaseClaims(context.WithoutCancel(ctx), d.owner, release); err != nil {
			d.log.Warn("release claimed deliveries; they wait for their lease", zap.Error(err))
		}
	}
	return int(attempted.Load())
}

// endpointRun is one endpoint's state during a pass.
type endpointRun struct {
	*endpoint
	signer *signer
	gone   atomic.Bool // answered 410: send nothing more
	// tally counts a recorded attempt (delivered or not) in the pass's
	// totals; nil for a test send, which reports its own status.
	tally func(delivered bool)
}

// deliverGroup sends g in order and returns the number of attempts and the
// IDs left unsent.
func (d *Dispatcher) deliverGroup(ctx context.Context, run *endpointRun, g []store.Claimed, expires time.Time) (int, []int64) {
	for i, c := range g {
		if ctx.Err() != nil || run.gone.Load() || !d.now().Before(expires) {
			return i, ids(g[i:])
		}
		attempted, delivered := d.attempt(ctx, run, c)
		if !attempted {
			return i, ids(g[i:])
		}
		if !delivered {
			return i + 1, ids(g[i+1:])
		}
	}
	return len(g), nil
}

func ids(cs []store.Claimed) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// attempt sends c once and records the result. attempted is false when
// ctx ended before a response (nothing recorded; the claim is released).
func (d *Dispatcher) attempt(ctx context.Context, run *endpointRun, c store.Claimed) (attempted, delivered bool) {
	at := d.now()
	start := time.Now()
	o := d.send(ctx, run, c, at)
	took := time.Since(start)
	if o.status == 0 && ctx.Err() != nil {
		return false, false
	}
	n := c.Attempts + 1
	retry, err := o.result()
	state, wait := decide(n, retry, err, d.spread)
	res := store.AttemptResult{DeliveryID: c.ID, At: at, Duration: took, Status: o.status, Error: o.errText, State: state}
	if state == store.DeliveryPending {
		res.NextAttemptAt = at.Add(wait)
	}
	// Record even when ctx is ending: the receiver has answered.
	rctx := context.WithoutCancel(ctx)
	if err := d.rec.record(rctx, res); err != nil {
		d.log.Error("record webhook attempt; it will be resent with the same webhook-id",
			zap.Int64("delivery", c.ID), zap.Error(err))
		return true, false
	}
	d.observe(run, c, n, res, o)
	if run.tally != nil {
		run.tally(state == store.DeliveryDelivered)
	}
	if o.status == http.StatusGone {
		run.gone.Store(true)
		if err := d.st.DisableEndpoint(rctx, run.Name, at, goneReason(run.endpoint)); err != nil {
			d.log.Error("disable webhook endpoint", zap.String("endpoint", run.Name), zap.Error(err))
		}
	}
	return true, state == store.DeliveryDelivered
}

// goneReason is the disabled_reason of an endpoint that answered 410: it
// names a fingerprint of the URL (never the URL, which may hold a token) so
// a Dispatcher can tell when the URL has changed since.
func goneReason(e *endpoint) string { return "answered 410 Gone (url #" + e.fingerprint + ")" }

// observe logs an attempt and counts it.
func (d *Dispatcher) observe(run *endpointRun, c store.Claimed, n int, res store.AttemptResult, o outcome) {
	d.m.duration.WithLabelValues(run.Name).Observe(res.Duration.Seconds())
	fields := []zap.Field{zap.String("endpoint", run.Name), zap.Int64("delivery", c.ID),
		zap.String("event_id", c.Event.ID), zap.String("type", c.Event.Type), zap.Int("attempt", n)}
	outcome := outcomeRetry
	switch {
	case res.State == store.DeliveryDelivered:
		outcome = outcomeDelivered
		d.m.latency.WithLabelValues(run.Name).Observe(res.At.Add(res.Duration).Sub(c.Event.CreatedAt).Seconds())
		d.log.Debug("webhook delivered", append(fields, zap.Int("status", o.status))...)
	case o.status == http.StatusGone:
		outcome = outcomeGone
		d.log.Error("webhook endpoint answered 410 Gone: disabled until its url changes or a test succeeds",
			append(fields, zap.String("host", run.host))...)
	case res.State == store.DeliveryFailed:
		outcome = outcomeFailed
		d.log.Error("webhook delivery failed; retries exhausted (replay with redeliver)",
			append(fields, zap.Int("status", o.status), zap.String("error", o.errText))...)
	default:
		d.log.Warn("webhook attempt failed; will retry", append(fields, zap.Int("status", o.status),
			zap.String("error", o.errText), zap.Time("next_attempt_at", res.NextAttemptAt))...)
	}
	d.m.attempts.WithLabelValues(run.Name, outcome).Inc()
}

// send POSTs c's body to run's URL once, signed for time at.
func (d *Dispatcher) send(ctx context.Context, run *endpointRun, c store.Claimed, at time.Time) outcome {
	body := c.Event.Payload
	if run.Format == config.FormatSlack {
		body = slackBody(body, at)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, run.URL, body)
	if err != nil {
		return outcome{errText: "build request: invalid url"}
	}
	run.signer.setHeaders(req.Header, c.Event.ID, at, body)
	req.Header.Set("User-Agent", "touchbase-webhooks")
	resp, err := d.http.c.Do(req)
	if err != nil {
		return outcome{errText: describeError(err, d.http.timeout)}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	o := outcome{status: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), at)}
	if o.status < 200 || o.status >= 300 {
		o.errText = describeStatus(resp, bytes.TrimSpace(snippet))
	}
	return o
}

// recorder commits attempt results with group commit: a caller that finds
// no commit running commits its result and every result queued meanwhile,
// in one transaction, until the queue is empty; the others wait for the
// commit that carries theirs. Concurrent workers thus share transactions
// instead of queueing for SQLite's single writer one by one.
type recorder struct {
	st    Outbox
	owner string // the Dispatcher's: claims it holds are the ones it records
	mu    sync.Mutex
	queue []recordReq
	busy  bool
}

type recordReq struct {
	res  store.AttemptResult
	done chan error
}

// record returns once res is committed (or the commit failed).
func (r *recorder) record(ctx context.Context, res store.AttemptResult) error {
	req := recordReq{res: res, done: make(chan error, 1)}
	r.mu.Lock()
	r.queue = append(r.queue, req)
	if r.busy {
		r.mu.Unlock()
		return <-req.done
	}
	r.busy = true
	for len(r.queue) > 0 {
		batch := r.queue
		r.queue = nil
		r.mu.Unlock()
		results := make([]store.AttemptResult, len(batch))
		for i, q := range batch {
			results[i] = q.res
		}
		err := r.st.RecordAttempts(ctx, r.owner, results...)
		for _, q := range batch {
			q.done <- err
		}
		r.mu.Lock()
	}
	r.busy = false
	r.mu.Unlock()
	return <-req.done
}
