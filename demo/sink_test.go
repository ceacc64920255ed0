package demo

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func newSink(t *testing.T, opts SinkOptions) (*Sink, string) {
	t.Helper()
	secret, err := NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSink(secret, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, secret
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// post delivers body to the sink signed with secret ("" sends no
// signature) and returns the status code.
func post(t *testing.T, url, secret, id string, ts time.Time, body, sent []byte) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, fmt.Sprint(ts.Unix()))
	if secret != "" {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSinkVerifiesSignatures(t *testing.T) {
	other, err := NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		fixture  string
		secret   string // "" uses the sink's; "-" sends none
		age      time.Duration
		tamper   bool
		want     int
		verified bool
	}{
		{name: "correctly signed alert", fixture: "slipped.json", want: http.StatusNoContent, verified: true},
		{name: "correctly signed test event", fixture: "test-event.json", want: http.StatusNoContent, verified: true},
		{name: "signed with another secret", fixture: "slipped.json", secret: other, want: http.StatusUnauthorized},
		{name: "body changed after signing", fixture: "slipped.json", tamper: true, want: http.StatusUnauthorized},
		{name: "no signature", fixture: "slipped.json", secret: "-", want: http.StatusUnauthorized},
		{name: "timestamp ten minutes old", fixture: "slipped.json", age: 10 * time.Minute, want: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, secret := newSink(t, SinkOptions{})
			switch tc.secret {
			case "":
			case "-":
				secret = ""
			default:
				secret = tc.secret
			}
			body := fixture(t, tc.fixture)
			sent := body
			if tc.tamper {
				sent = bytes.Replace(body, []byte("litware"), []byte("contoso"), 1)
			}
			if got := post(t, s.URL(), secret, "msg_"+tc.name, time.Now().Add(-tc.age), body, sent); got != tc.want {
				t.Errorf("status: got %d, want %d", got, tc.want)
			}
			evs, rej := s.Events(), s.Rejected()
			if tc.verified && (len(evs) != 1 || len(rej) != 0 || !evs[0].Verified) {
				t.Fatalf("got %d events, %d rejected; want the event recorded as verified", len(evs), len(rej))
			}
			if !tc.verified && (len(evs) != 0 || len(rej) != 1 || rej[0].Verified || rej[0].Err == "") {
				t.Fatalf("got %d events, %d rejected; want one rejected delivery with a reason", len(evs), len(rej))
			}
		})
	}
}

func TestSinkParsesAlerts(t *testing.T) {
	s, secret := newSink(t, SinkOptions{})
	for i, f := range []string{"slipped.json", "reply.json", "test-event.json"} {
		b := fixture(t, f)
		if code := post(t, s.URL(), secret, fmt.Sprintf("msg_%d", i), time.Now(), b, b); code != http.StatusNoContent {
			t.Fatalf("%s: status %d", f, code)
		}
	}
	evs := s.Events()
	for i, tc := range []struct{ typ, customer, commitment, messageID string }{
		{Slipped, "litware", "monthly-report", ""},
		{Slipped, "tailspin", "reply", "20261118T084000.0097.chloe.dubois@mail.tailspin.test"},
		{"webhook.test", "", "", ""},
	} {
		d := evs[i]
		if d.Type != tc.typ || d.ID != fmt.Sprintf("msg_%d", i) {
			t.Errorf("event %d: got %s %s, want %s msg_%d", i, d.Type, d.ID, tc.typ, i)
		}
		if tc.customer == "" {
			if d.Alert != nil {
				t.Errorf("event %d: %s parsed as an alert", i, d.Type)
			}
			continue
		}
		if d.Alert == nil || d.Alert.Customer.ID != tc.customer || d.Alert.Commitment.Name != tc.commitment || d.Alert.MessageID != tc.messageID {
			t.Errorf("event %d: got alert %+v, want %s/%s message %q", i, d.Alert, tc.customer, tc.commitment, tc.messageID)
		}
	}
}

func TestSinkDeduplicates(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	s, secret := newSink(t, SinkOptions{OnEvent: func(d Delivery) {
		mu.Lock()
		seen = append(seen, d.ID)
		mu.Unlock()
	}})
	body := fixture(t, "slipped.json")
	for _, id := range []string{"msg_a", "msg_a", "msg_b", "msg_a"} {
		if code := post(t, s.URL(), secret, id, time.Now(), body, body); code != http.StatusNoContent {
			t.Fatalf("%s: status %d, want 204 also for a repeat", id, code)
		}
	}
	if n := len(s.Events()); n != 2 {
		t.Errorf("events: got %d, want 2", n)
	}
	if d := s.Duplicates(); d != 2 {
		t.Errorf("duplicates: got %d, want 2", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != "[msg_a msg_b]" {
		t.Errorf("OnEvent calls: got %v, want [msg_a msg_b]", seen)
	}
}

func TestSinkWaitFor(t *testing.T) {
	s, secret := newSink(t, SinkOptions{})
	body := fixture(t, "slipped.json")
	two := func(evs []Delivery) bool { return len(evs) >= 2 }
	done := make(chan error, 1)
	go func() {
		_, err := s.WaitFor(t.Context(), two)
		done <- err
	}()
	post(t, s.URL(), secret, "msg_1", time.Now(), body, body)
	post(t, s.URL(), secret, "msg_2", time.Now(), body, body)
	if err := <-done; err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if evs, err := s.WaitFor(ctx, func(evs []Delivery) bool { return len(evs) >= 3 }); err == nil || len(evs) != 2 {
		t.Errorf("WaitFor on a cancelled context: got %d events, err %v; want 2 and an error", len(evs), err)
	}
}
