package webhooks

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/store"
)

func same(d time.Duration) time.Duration { return d }

func TestDecide(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		o         outcome
		wantState string
		wantWait  time.Duration
	}{
		{"2xx delivers", 1, outcome{status: 204}, store.DeliveryDelivered, 0},
		{"2xx on the last attempt", 8, outcome{status: 200}, store.DeliveryDelivered, 0},
		{"no response, first attempt", 1, outcome{errText: "refused"}, store.DeliveryPending, 5 * time.Second},
		{"500, second attempt", 2, outcome{status: 500}, store.DeliveryPending, 5 * time.Minute},
		{"500, seventh attempt", 7, outcome{status: 500}, store.DeliveryPending, 10 * time.Hour},
		{"500, eighth attempt fails", 8, outcome{status: 500}, store.DeliveryFailed, 0},
		{"400, second attempt retries", 2, outcome{status: 400}, store.DeliveryPending, 5 * time.Minute},
		{"400, third attempt fails", 3, outcome{status: 400}, store.DeliveryFailed, 0},
		{"301 counts as a rejection", 3, outcome{status: 301}, store.DeliveryFailed, 0},
		{"429 is not a rejection", 3, outcome{status: 429}, store.DeliveryPending, 30 * time.Minute},
		{"408 is not a rejection", 3, outcome{status: 408}, store.DeliveryPending, 30 * time.Minute},
		{"410 keeps the delivery pending", 3, outcome{status: 410}, store.DeliveryPending, 30 * time.Minute},
		{"Retry-After above the schedule wins", 1, outcome{status: 503, retryAfter: time.Hour}, store.DeliveryPending, time.Hour},
		{"Retry-After below the schedule loses", 2, outcome{status: 503, retryAfter: time.Second}, store.DeliveryPending, 5 * time.Minute},
		{"Retry-After capped at 10h", 1, outcome{status: 429, retryAfter: 48 * time.Hour}, store.DeliveryPending, 10 * time.Hour},
		{"Retry-After on any status", 1, outcome{status: 500, retryAfter: time.Minute}, store.DeliveryPending, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			retry, err := tc.o.result()
			state, wait := decide(tc.n, retry, err, same)
			if state != tc.wantState || wait != tc.wantWait {
				t.Errorf("decide(%d, %+v) = %s, %s; want %s, %s", tc.n, tc.o, state, wait, tc.wantState, tc.wantWait)
			}
		})
	}
}

func TestJitterStaysWithin20Percent(t *testing.T) {
	base := 5 * time.Minute
	lo, hi := base, base
	for range 2000 {
		d := jitter(base)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 4*time.Minute || hi > 6*time.Minute {
		t.Fatalf("jitter of %s spans [%s, %s]; want within ±20%%", base, lo, hi)
	}
	if hi-lo < time.Minute {
		t.Fatalf("jitter of %s spans only [%s, %s]; want it spread", base, lo, hi)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := t0
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestErrorsHideTheURL: a Slack webhook URL carries its token in the path,
// so neither errors nor logs may contain it.
func TestErrorsHideTheURL(t *testing.T) {
	const token = "T0000/B0000/XXXXsecretXXXX"
	e := newEnv(t, hook(t, "slack", "http://127.0.0.1:1/services/"+token))
	d := e.dispatcher(t)
	e.enqueue(t, slipped(t, "acme", 0))
	e.pass(t, d)
	ds, err := e.st.Deliveries(t.Context(), store.DeliveryFilter{})
	if err != nil || len(ds) != 1 || ds[0].LastError == "" {
		t.Fatalf("deliveries %+v, %v; want one failed attempt", ds, err)
	}
	if strings.Contains(ds[0].LastError, token) {
		t.Errorf("stored error %q contains the URL's token", ds[0].LastError)
	}
	for _, entry := range e.logs.All() {
		for k, v := range entry.ContextMap() {
			if s, _ := v.(string); strings.Contains(s, token) || strings.Contains(entry.Message, token) {
				t.Errorf("log %q field %s contains the URL's token", entry.Message, k)
			}
		}
	}
	if got := describeError(context.DeadlineExceeded, time.Second); got != "timeout after 1s" {
		t.Errorf("describeError(deadline) = %q", got)
	}
	if got := describeError(errors.New("boom"), time.Second); got != "boom" {
		t.Errorf("describeError(boom) = %q", got)
	}
}
