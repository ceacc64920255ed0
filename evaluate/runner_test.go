package evaluate

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// outbox returns the events and deliveries (endpoint → event types) stored.
func (f *fixture) outbox() map[string][]string {
	f.t.Helper()
	ds, err := f.st.Deliveries(f.t.Context(), store.DeliveryFilter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, d := range ds {
		out[d.Endpoint] = append(out[d.Endpoint], d.EventType)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

func (f *fixture) openAlerts() []string {
	f.t.Helper()
	as, err := f.st.Alerts(f.t.Context(), false)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.CustomerID+"/"+a.Commitment+" "+string(a.State))
	}
	slices.Sort(out)
	return out
}

func TestRunRecordsAlertsAndEventsOnce(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now.Add(-5*time.Minute), "imap:alice", "caldav:alice")
	for _, at := range []time.Time{f.now, f.now, f.now.Add(time.Minute)} {
		if err := f.r.Run(t.Context(), at); err != nil {
			t.Fatal(err)
		}
	}
	wantAlerts := []string{"acme/reply at_risk", "acme/weekly slipped", "globex/next_meeting slipped"}
	if got := f.openAlerts(); !slices.Equal(got, wantAlerts) {
		t.Errorf("open alerts = %q, want %q", got, wantAlerts)
	}
	wantOutbox := map[string][]string{
		"ops":   {"commitment.at_risk", "commitment.slipped", "commitment.slipped"},
		"slack": {"commitment.slipped", "commitment.slipped"},
	}
	got := f.outbox()
	if len(got) != 2 || !slices.Equal(got["ops"], wantOutbox["ops"]) || !slices.Equal(got["slack"], wantOutbox["slack"]) {
		t.Errorf("deliveries = %v, want %v", got, wantOutbox)
	}
}

func TestRunEventPayload(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	ds, err := f.st.ClaimDue(t.Context(), f.now.Add(time.Hour), "test", []string{"ops"}, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	var reply *cadence.EventData
	for _, d := range ds {
		var b struct {
			Type      string            `json:"type"`
			Timestamp time.Time         `json:"timestamp"`
			Data      cadence.EventData `json:"data"`
		}
		if err := json.Unmarshal(d.Event.Payload, &b); err != nil {
			t.Fatal(err)
		}
		if b.Type != d.Event.Type || !b.Timestamp.Equal(f.now) {
			t.Errorf("body type %q at %v; want %q at %v", b.Type, b.Timestamp, d.Event.Type, f.now)
		}
		if b.Data.Commitment.Name == "reply" {
			reply = &b.Data
		}
	}
	if reply == nil {
		t.Fatal("no reply event")
	}
	if reply.Customer != (cadence.EventCustomer{ID: "acme", Name: "ACME Corp", Owner: "alice", Timezone: "Europe/Berlin"}) || reply.MessageID != "q1@acme.com" ||
		reply.ReceivedAt == nil || !reply.ReceivedAt.Equal(tb("2026-03-06 15:00")) || reply.Observed.Contacts30d != 2 {
		t.Errorf("reply event data = %+v", reply)
	}
}

func TestRunStaleMailIsUnknownUntilItRecovers(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now.Add(-3*time.Hour), "imap:alice") // stale_after is 2h
	f.synced(f.now, "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	if got := f.openAlerts(); !slices.Equal(got, []string{"globex/next_meeting slipped"}) {
		t.Fatalf("with stale mail: alerts %q; want only the calendar's", got)
	}
	// The mailbox syncs again, bringing the status mail sent meanwhile.
	f.seed(mailFrom("s2@us.example", tb("2026-03-09 09:30"), "alice@us.example", "bob@acme.com", "Status week 11"))
	f.now = f.now.Add(time.Hour)
	f.synced(f.now, "imap:alice", "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	// The status mail also answered the question: nothing about acme was
	// ever sent, though both of its commitments were due during the outage.
	if got := f.openAlerts(); !slices.Equal(got, []string{"globex/next_meeting slipped"}) {
		t.Errorf("after recovery: alerts %q; want only the calendar's", got)
	}
	if got := f.outbox()["ops"]; !slices.Equal(got, []string{"commitment.slipped"}) {
		t.Errorf("after recovery: events %q; want the one slipped event of globex", got)
	}
}

func TestRunRespectsSilences(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	if _, err := f.r.AddSilences(t.Context(), []string{"acme/weekly", "globex"}, time.Time{}, f.now.Add(24*time.Hour), "on holiday", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	if got := f.openAlerts(); !slices.Equal(got, []string{"acme/reply at_risk"}) {
		t.Errorf("alerts %q; want only the unsilenced reply", got)
	}
}

func TestAddSilencesChecksTargets(t *testing.T) {
	f := newFixture(t)
	for _, targets := range [][]string{{"nope"}, {"acme/nope"}, {"acme", "nope"}, nil} {
		_, err := f.r.AddSilences(t.Context(), targets, time.Time{}, f.now.Add(time.Hour), "", "")
		var arg *ArgError
		if !errorsAs(err, &arg) {
			t.Errorf("AddSilences(%q) = %v; want an ArgError", targets, err)
		}
	}
	if ss, _ := f.r.Silences(t.Context(), true); len(ss) != 0 {
		t.Errorf("%d silences stored after rejected targets; want none", len(ss))
	}
}
