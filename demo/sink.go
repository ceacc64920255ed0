package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/touchbase/touchbase/webhooks"
)

// Delivery is one webhook request the Sink received.
type Delivery struct {
	ID         string          // webhook-id header
	Type       string          // body "type"
	Timestamp  time.Time       // body "timestamp"
	Data       json.RawMessage // body "data"
	Alert      *AlertData      // Data parsed, for commitment.* events; nil otherwise
	Body       []byte
	Verified   bool   // the signature matched the secret
	Err        string // why it was rejected, when it was
	ReceivedAt time.Time
	RemoteAddr string // the sender's address, host:port
}

// AlertData is the data of a commitment.* event (SPEC "Webhooks").
type AlertData struct {
	AlertID  string `json:"alert_id"`
	Customer struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Owner string `json:"owner"`
	} `json:"customer"`
	Commitment struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"commitment"`
	DueAt             *time.Time `json:"due_at"`
	LastInteractionAt *time.Time `json:"last_interaction_at"`
	Observed          struct {
		Contacts30d    int     `json:"contacts_30d"`
		Contacts90d    int     `json:"contacts_90d"`
		MedianInterval *string `json:"median_interval"`
	} `json:"observed"`
	MessageID  string     `json:"message_id,omitempty"`
	ReceivedAt *time.Time `json:"received_at,omitempty"`
}

// SinkOptions configures a Sink.
type SinkOptions struct {
	// OnEvent is called once for each new verified event (a webhook-id not
	// seen before), in arrival order, before the sender gets its 2xx. It
	// must not block for long: the sender is waiting.
	OnEvent func(Delivery)
}

// Sink is a webhook receiver on a loopback port that verifies Standard
// Webhooks signatures with the reference library. A correctly signed
// request gets 204 and is recorded; a repeated webhook-id gets 204 again
// (at-least-once delivery) and counts as a duplicate; a bad or missing
// signature, or a stale timestamp, gets 401 and is recorded as rejected.
type Sink struct {
	url  string
	wh   *standardwebhooks.Webhook
	opts SinkOptions
	srv  *http.Server

	cbMu sync.Mutex // serialises OnEvent calls

	mu         sync.Mutex
	events     []Delivery     // verified, first arrival of each id
	seen       map[string]int // id → deliveries received
	duplicates int
	rejected   []Delivery
	changed    chan struct{} // closed and replaced on every change
}

// NewSink starts a sink for the whsec_ secret on 127.0.0.1:0.
func NewSink(secret string, opts SinkOptions) (*Sink, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err) // the library's message never includes the secret
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for webhooks: %w", err)
	}
	s := &Sink{url: "http://" + ln.Addr().String() + "/hook", wh: wh, opts: opts,
		seen: map[string]int{}, changed: make(chan struct{})}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // returns http.ErrServerClosed on Close
	return s, nil
}

// NewWebhookSecret makes a random Standard Webhooks secret, as
// `touchbase webhooks secret` does.
func NewWebhookSecret() (string, error) { return webhooks.NewSecret() }

// URL is where to send webhooks.
func (s *Sink) URL() string { return s.url }

// Close stops the server, dropping open connections.
func (s *Sink) Close() error { return s.srv.Close() }

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	d := Delivery{ID: r.Header.Get(standardwebhooks.HeaderWebhookID), Body: body, ReceivedAt: time.Now(), RemoteAddr: r.RemoteAddr}
	if err := s.wh.Verify(body, r.Header); err != nil {
		d.Err = err.Error()
		s.record(d, false)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	d.Verified = true
	var env struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		d.Err = "body is not a webhook event: " + err.Error()
		s.record(d, false)
		http.Error(w, "invalid body", http.StatusBadRequest)
		return
	}
	d.Type, d.Timestamp, d.Data = env.Type, env.Timestamp, env.Data
	if strings.HasPrefix(d.Type, "commitment.") {
		var a AlertData
		if err := json.Unmarshal(env.Data, &a); err == nil {
			d.Alert = &a
		}
	}
	if s.record(d, true) && s.opts.OnEvent != nil {
		s.cbMu.Lock()
		s.opts.OnEvent(d)
		s.cbMu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// record stores d and reports whether it is a new event.
func (s *Sink) record(d Delivery, ok bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		close(s.changed)
		s.changed = make(chan struct{})
	}()
	if !ok {
		s.rejected = append(s.rejected, d)
		return false
	}
	s.seen[d.ID]++
	if s.seen[d.ID] > 1 {
		s.duplicates++
		return false
	}
	s.events = append(s.events, d)
	return true
}

// Events returns the verified events, one per webhook-id, in arrival order.
func (s *Sink) Events() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.events...)
}

// Received is how many verified deliveries carried the webhook-id id.
func (s *Sink) Received(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

// Duplicates is how many verified deliveries repeated an id already seen.
func (s *Sink) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Rejected returns the requests that failed verification or parsing.
func (s *Sink) Rejected() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.rejected...)
}

// WaitFor blocks until done(events) is true for the verified events so far,
// or ctx ends. It returns the events it last saw.
func (s *Sink) WaitFor(ctx context.Context, done func([]Delivery) bool) ([]Delivery, error) {
	for {
		s.mu.Lock()
		evs := append([]Delivery(nil), s.events...)
		ch := s.changed
		s.mu.Unlock()
		if done(evs) {
			return evs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return evs, fmt.Errorf("wait for webhooks (%d so far): %w", len(evs), ctx.Err())
		}
	}
}
