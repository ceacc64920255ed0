package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/touchbase/touchbase/demo"
)

// eventKey names an event by what it is about, like alertKey.
func eventKey(e demo.Delivery) string {
	if e.Alert == nil {
		return e.Type + " (no alert data)"
	}
	k := fmt.Sprintf("%s %s/%s", e.Type, e.Alert.Customer.ID, e.Alert.Commitment.Name)
	if e.Alert.MessageID != "" {
		k += " <" + e.Alert.MessageID + ">"
	}
	return k
}

func alertKey(w demo.ExpectedAlert) string {
	k := fmt.Sprintf("%s %s/%s", w.Type, w.Customer, w.Commitment)
	if w.MessageID != "" {
		k += " <" + w.MessageID + ">"
	}
	return k
}

// missing returns the wanted alerts no event matches yet.
func missing(got []demo.Delivery, want []demo.ExpectedAlert) []string {
	have := map[string]bool{}
	for _, e := range got {
		have[eventKey(e)] = true
	}
	var out []string
	for _, w := range want {
		if !have[alertKey(w)] {
			out = append(out, alertKey(w))
		}
	}
	return out
}

// checkData checks the fields SPEC "Webhooks" requires of a commitment
// event against the scenario's configuration, in which every customer's
// owner is the account owner.
func checkData(t *testing.T, e demo.Delivery, h *demo.History, owner string) {
	t.Helper()
	a := e.Alert
	if a == nil || e.Timestamp.IsZero() {
		t.Errorf("%s %s: no commitment data or timestamp: %s", e.Type, e.ID, e.Body)
		return
	}
	var name string
	for _, c := range h.Customers {
		if c.ID == a.Customer.ID {
			name = c.Name
		}
	}
	var typ string
	for _, p := range h.Policies {
		if p.Name == a.Commitment.Name {
			typ = p.Type
		}
	}
	switch {
	case a.AlertID == "":
		t.Errorf("%s: no alert_id", eventKey(e))
	case a.Customer.Name != name || name == "" || a.Customer.Owner != owner:
		t.Errorf("%s: customer %+v, want name %q and owner %s", eventKey(e), a.Customer, name, owner)
	case a.Commitment.Type != typ:
		t.Errorf("%s: commitment type %q, want %q", eventKey(e), a.Commitment.Type, typ)
	case a.DueAt == nil:
		t.Errorf("%s: no due_at", eventKey(e))
	case typ == "reply" && (a.MessageID == "" || a.ReceivedAt == nil):
		t.Errorf("%s: reply without message_id or received_at", eventKey(e))
	}
}

func describe(evs []demo.Delivery) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s (id %s)\n", eventKey(e), e.ID)
	}
	return b.String()
}

func reasons(want []demo.ExpectedAlert) string {
	var b strings.Builder
	for _, w := range want {
		fmt.Fprintf(&b, "  %s: %s\n", alertKey(w), w.Why)
	}
	return b.String()
}

// dumpLogOnFailure prints the daemon's log when the test failed.
func (b *bed) dumpLogOnFailure(t *testing.T) {
	if !t.Failed() {
		return
	}
	log, err := os.ReadFile(b.logPath)
	if err != nil {
		t.Logf("daemon log: %v", err)
		return
	}
	t.Logf("daemon log:\n%s", log)
}
