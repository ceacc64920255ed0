package cadence

import (
	"regexp"
	"testing"
)

// EventID is a function of its parts alone (a rebuilt state yields the same
// webhook-id), and the parts' boundaries count.
func TestEventID(t *testing.T) {
	a, b := EventID("alert", "acme", "weekly"), EventID("alert", "acme", "weekly")
	if a != b || a == EventID("alert", "acmew", "eekly") || a == EventID("alert", "acme", "weekly", "") {
		t.Errorf("EventID not a function of its parts: %s %s", a, EventID("alert", "acmew", "eekly"))
	}
	if !regexp.MustCompile(`^msg_[a-z2-7]{32}$`).MatchString(a) {
		t.Errorf("EventID %q; want msg_ and 32 base32 characters", a)
	}
}
