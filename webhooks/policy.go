package webhooks

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/touchbase/touchbase/store"
)

// schedule is the wait after each failed attempt of a round (SPEC: about
// 5s, 5m, 30m, 2h, 5h, 10h, 10h), so a delivery gets 8 attempts over about
// 28 hours before it is marked failed.
var schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

const (
	// maxRetryAfter caps a receiver's Retry-After, which could otherwise
	// park a delivery for ever.
	maxRetryAfter = 10 * time.Hour
	// clientErrorAttempts is how many attempts a delivery gets when the
	// receiver rejects it (4xx other than 408, 410, 425, 429; or 3xx): such
	// answers rarely change, but a receiver being deployed may send them.
	clientErrorAttempts = 3
)

// jitter spreads d by ±20% so deliveries that failed together (a receiver
// outage) do not all come back at the same moment.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// outcome is what one HTTP attempt produced.
type outcome struct {
	status     int           // 0: no response
	errText    string        // why it did not succeed; never the URL (it may hold a token)
	retryAfter time.Duration // from a Retry-After header; 0 when absent
}

// attemptError is an attempt that did not deliver: its text is the
// outcome's errText, and it carries the receiver's Retry-After.
type attemptError struct{ o outcome }

func (e *attemptError) Error() string { return e.o.errText }

// result is the notifier contract (Alertmanager's): nil when the receiver
// took the event (2xx); otherwise an *attemptError, and whether another
// attempt may succeed. No answer, 408, 410 (the endpoint waits, disabled),
// 425, 429 and 5xx may; any other 3xx or 4xx is a refusal (retry false).
func (o outcome) result() (retry bool, err error) {
	if o.status >= 200 && o.status < 300 {
		return false, nil
	}
	return !rejected(o.status), &attemptError{o: o}
}

// decide is the one backoff stage: it returns a delivery's state after
// attempt number n (1-based, within the current round) ended with
// (retry, err), and for a pending one how long to wait. A refusal ends a
// delivery after clientErrorAttempts attempts rather than one, as a
// receiver being deployed sends refusals too.
func decide(n int, retry bool, err error, spread func(time.Duration) time.Duration) (state string, wait time.Duration) {
	switch {
	case err == nil:
		return store.DeliveryDelivered, 0
	case !retry && n >= clientErrorAttempts, n > len(schedule):
		return store.DeliveryFailed, 0
	}
	wait = spread(schedule[n-1])
	var ae *attemptError
	if errors.As(err, &ae) && ae.o.retryAfter > 0 {
		wait = max(wait, min(ae.o.retryAfter, maxRetryAfter))
	}
	return store.DeliveryPending, wait
}

// rejected reports whether status says the receiver refuses this request
// rather than being unable to take it now.
func rejected(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusGone, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return status >= 300 && status < 500
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): seconds or
// an HTTP date. It returns 0 when absent, invalid or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// describeError says why a request got no response, without the URL that
// net/http puts in its errors: a Slack webhook URL is a secret.
func describeError(err error, timeout time.Duration) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout after " + timeout.String()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// describeStatus is the error text for a non-2xx answer: the status and the
// start of the body, which receivers use to say what they did not like.
func describeStatus(resp *http.Response, snippet []byte) string {
	text := "HTTP " + resp.Status
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(string(snippet)))
	if s != "" {
		text += ": " + s
	}
	return text
}
