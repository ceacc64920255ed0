package demo

import (
	"context"
	"fmt"
	"strings"
)

// WebhookLine is what the demo prints for each verified webhook, on one
// line of its own:
//
//	[  2.1s] webhook commitment.slipped customer=litware commitment=monthly-report id=msg_… signature=verified
//
// Scripts and tests read it back with ParseWebhookLine.
type WebhookLine struct {
	Type       string
	Customer   string // "" for events about no customer (sync.*)
	Commitment string
	ID         string // webhook-id
	Verified   bool
}

const webhookWord = " webhook "

// ParseWebhookLine reads a line printed for a webhook; ok is false for any
// other line.
func ParseWebhookLine(line string) (w WebhookLine, ok bool) {
	_, rest, found := strings.Cut(line, webhookWord)
	if !found || !strings.HasPrefix(line, "[") {
		return w, false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return w, false
	}
	w.Type = fields[0]
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "customer":
			w.Customer = v
		case "commitment":
			w.Commitment = v
		case "id":
			w.ID = v
		case "signature":
			w.Verified = v == "verified"
		}
	}
	return w, w.ID != ""
}

// webhook prints a verified event as it arrives (the Sink's OnEvent).
func (n *narrator) webhook(d Delivery) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s%s", n.stamp(), webhookWord, d.Type)
	a := d.Alert
	if a != nil {
		fmt.Fprintf(&b, " customer=%s commitment=%s", a.Customer.ID, a.Commitment.Name)
	}
	fmt.Fprintf(&b, " id=%s signature=verified\n", d.ID)
	if a != nil {
		due := "-"
		if a.DueAt != nil {
			due = n.when(a.DueAt)
		}
		fmt.Fprintf(&b, "          %s: %s (%s), due %s", a.Customer.Name, a.Commitment.Name, a.Commitment.Type, due)
		if a.MessageID != "" {
			fmt.Fprintf(&b, ", waiting message <%s>", a.MessageID)
		}
		b.WriteString("\n")
		key := alertKey(d.Type, a.Customer.ID, a.Commitment.Name)
		n.mu.Lock()
		why := n.why[key]
		n.seen[a.Customer.ID] = append(n.seen[a.Customer.ID], strings.TrimPrefix(d.Type, "commitment.")+" "+a.Commitment.Name)
		n.mu.Unlock()
		if why != "" {
			fmt.Fprintf(&b, "          why: %s\n", why)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.held {
		n.pending = append(n.pending, b.String())
		return
	}
	fmt.Fprint(n.out, b.String())
}

// waitAlerts waits until the sink has received every wanted alert.
func (n *narrator) waitAlerts(ctx context.Context, sink *Sink, want []ExpectedAlert) error {
	missing := func(evs []Delivery) []string {
		var out []string
		for _, w := range want {
			if !hasAlert(evs, w) {
				out = append(out, alertKey(w.Type, w.Customer, w.Commitment))
			}
		}
		return out
	}
	evs, err := sink.WaitFor(ctx, func(evs []Delivery) bool { return len(missing(evs)) == 0 })
	if err != nil {
		return fmt.Errorf("still missing %s: %w", strings.Join(missing(evs), ", "), err)
	}
	return nil
}

func hasAlert(evs []Delivery, w ExpectedAlert) bool {
	for _, e := range evs {
		if e.Type == w.Type && e.Alert != nil && e.Alert.Customer.ID == w.Customer &&
			e.Alert.Commitment.Name == w.Commitment && (w.MessageID == "" || e.Alert.MessageID == w.MessageID) {
			return true
		}
	}
	return false
}

// recovering announces the recovery mail.
func (n *narrator) recovering(m Mail, want ExpectedAlert) {
	n.mu.Lock()
	n.why[alertKey(want.Type, want.Customer, want.Commitment)] = want.Why
	n.mu.Unlock()
	n.say(fmt.Sprintf("Ben sends the overdue report now: %q appended to his Sent folder over IMAP (IDLE pushes it to the daemon)", m.Subject))
}

// summary explains what happened and what to try next.
func (n *narrator) summary(env *runEnv, keep bool) {
	var b strings.Builder
	b.WriteString("\nWhat you just saw:\n")
	b.WriteString("  Touchbase read two mailboxes and calendars over IMAP and CalDAV, kept only metadata, dropped\n" +
		"  newsletters, bounces, auto-replies and internal mail, grouped the rest by customer and checked\n" +
		"  each customer's commitments. Every slip became a signed webhook (Standard Webhooks):\n")
	n.mu.Lock()
	for _, c := range n.h.Customers {
		got := "no alert"
		if s := n.seen[c.ID]; len(s) > 0 {
			got = strings.Join(s, ", ")
		}
		fmt.Fprintf(&b, "  - %s: %s. → %s\n", c.Name, c.Story, got)
	}
	n.mu.Unlock()
	cfg := "--config " + env.configPath
	fmt.Fprintf(&b, "\nTry next:\n")
	for _, c := range []string{"customers", "customer litware", "customer tailspin --why", "alerts", "unmatched", "status"} {
		fmt.Fprintf(&b, "  touchbase %s %s\n", c, cfg)
	}
	fmt.Fprintf(&b, "  open %s in a browser: the dashboard\n", env.dashboard)
	if !keep {
		b.WriteString("  (run `touchbase demo --keep` to keep the demo running while you try them)\n")
	}
	n.printf("%s", b.String())
}

// keep says the demo stays up.
func (n *narrator) keep(env *runEnv) {
	n.printf("\nThe demo keeps running (socket %s, dashboard %s). Press Ctrl-C to stop it.\n", env.socket, env.dashboard)
}
