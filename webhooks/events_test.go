package webhooks

import (
	"slices"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
)

func TestEventBody(t *testing.T) {
	ev, err := NewEvent(cadence.EventID("alert", "acme", "weekly"), CommitmentSlipped, t0.Add(1500*time.Microsecond), map[string]string{"alert_id": "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"commitment.slipped","timestamp":"2026-11-22T07:00:00.001Z","data":{"alert_id":"x"}}`
	if string(ev.Payload) != want || !ev.CreatedAt.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("event %s at %s; want %s at the millisecond", ev.Payload, ev.CreatedAt, want)
	}
}

func TestRoutes(t *testing.T) {
	routes := Routes([]config.Webhook{{Name: "all"}, {Name: "slips", Events: []string{CommitmentSlipped}}, {Name: "ops", Events: []string{SyncFailing, SyncRecovered}}})
	tests := map[string][]string{
		CommitmentSlipped: {"all", "slips"},
		SyncFailing:       {"all", "ops"},
		WebhookTest:       {"all"},
	}
	for typ, want := range tests {
		if got := routes(typ); !slices.Equal(got, want) {
			t.Errorf("routes(%s) = %v, want %v", typ, got, want)
		}
	}
}
