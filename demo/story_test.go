package demo

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseWebhookLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want WebhookLine
		ok   bool
	}{
		{"alert", "[  2.1s] webhook commitment.slipped customer=litware commitment=monthly-report id=msg_abc signature=verified",
			WebhookLine{Type: "commitment.slipped", Customer: "litware", Commitment: "monthly-report", ID: "msg_abc", Verified: true}, true},
		{"event about no customer", "[ 10.0s] webhook sync.failing id=msg_x signature=verified",
			WebhookLine{Type: "sync.failing", ID: "msg_x", Verified: true}, true},
		{"not verified", "[  2.1s] webhook commitment.at_risk customer=a commitment=b id=msg_y signature=bad",
			WebhookLine{Type: "commitment.at_risk", Customer: "a", Commitment: "b", ID: "msg_y"}, true},
		{"detail line", "          Litware, Inc.: monthly-report (cadence), due Mon 9 Nov 11:03", WebhookLine{}, false},
		{"summary mentioning webhook", "  each customer's commitments. Every slip became a signed webhook (Standard Webhooks):", WebhookLine{}, false},
		{"no id", "[  2.1s] webhook commitment.slipped customer=a", WebhookLine{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseWebhookLine(tc.line)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Errorf("ParseWebhookLine(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// What the narrator prints for a webhook reads back as the same event,
// and webhooks arriving before release are printed on release, in order.
func TestNarratorWebhookRoundTrip(t *testing.T) {
	h := Scenario(nows[0].now)
	var out bytes.Buffer
	n := newNarrator(&out, time.Now(), h)
	due := h.Now.Add(-24 * time.Hour)
	a := &AlertData{DueAt: &due}
	a.Customer.ID, a.Customer.Name, a.Commitment.Name, a.Commitment.Type = "litware", "Litware, Inc.", "monthly-report", "cadence"
	n.webhook(Delivery{ID: "msg_1", Type: Slipped, Alert: a})
	n.webhook(Delivery{ID: "msg_2", Type: "webhook.test"})
	if out.Len() != 0 {
		t.Fatalf("printed before release: %q", out.String())
	}
	n.release()
	n.webhook(Delivery{ID: "msg_3", Type: Recovered, Alert: a})
	var got []WebhookLine
	for _, line := range strings.Split(out.String(), "\n") {
		if w, ok := ParseWebhookLine(line); ok {
			got = append(got, w)
		}
	}
	want := []WebhookLine{
		{Type: Slipped, Customer: "litware", Commitment: "monthly-report", ID: "msg_1", Verified: true},
		{Type: "webhook.test", ID: "msg_2", Verified: true},
		{Type: Recovered, Customer: "litware", Commitment: "monthly-report", ID: "msg_3", Verified: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d webhook lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if !strings.Contains(out.String(), "why: the last monthly report went out six weeks ago") {
		t.Errorf("the expected slip's reason is missing:\n%s", out.String())
	}
}
