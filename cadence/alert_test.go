package cadence

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sim evaluates one customer again and again, keeping alerts the way the
// store does (upserts by ID).
type sim struct {
	in       Input
	contacts map[string][]Contact // the history, as contacts
	alerts   map[string]Alert
}

func newSim(c Customer, contacts []Contact, alerting Alerting) *sim {
	return &sim{alerts: map[string]Alert{}, contacts: map[string][]Contact{c.ID: contacts}, in: Input{
		HistoryStart: tb("2025-06-01 00:00"), Customers: []Customer{c}, Alerting: alerting,
	}}
}

// eval evaluates at now and returns its events as "commitment type[#repeat]".
func (s *sim) eval(now time.Time) ([]string, Result) {
	s.in.Now = now
	s.in.History = NewHistory(s.contacts)
	s.in.Alerts = s.in.Alerts[:0]
	for _, id := range slices.Sorted(mapsKeys(s.alerts)) {
		s.in.Alerts = append(s.in.Alerts, s.alerts[id])
	}
	res := Evaluate(s.in)
	for _, a := range res.Changes {
		s.alerts[a.ID] = a
	}
	var out []string
	for _, ev := range res.Events {
		var b struct {
			Data EventData `json:"data"`
		}
		if err := json.Unmarshal(ev.Payload, &b); err != nil {
			panic(err)
		}
		name := b.Data.Commitment.Name + " " + ev.Type
		if b.Data.Repeat > 0 {
			name += fmt.Sprintf("#%d", b.Data.Repeat)
		}
		out = append(out, name)
	}
	return out, res
}

func mapsKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// step is one evaluation; its fields change the input before it.
type step struct {
	at       time.Time
	add      []Contact
	silences []Silence // replaces the silences when non-nil
	stale    *Stale
	cms      []Commitment // replaces the commitments when non-nil
	want     []string
}

func runSteps(t *testing.T, s *sim, steps []step) {
	t.Helper()
	for i, st := range steps {
		c := &s.in.Customers[0]
		s.contacts[c.ID] = append(s.contacts[c.ID], st.add...)
		if st.silences != nil {
			s.in.Silences = st.silences
		}
		if st.stale != nil {
			s.in.Stale = *st.stale
		}
		if st.cms != nil {
			c.Commitments = st.cms
		}
		got, _ := s.eval(st.at)
		if !reflect.DeepEqual(got, st.want) && (len(got) > 0 || len(st.want) > 0) {
			t.Errorf("step %d at %s: events %q, want %q", i, st.at.Format("Mon 01-02 15:04"), got, st.want)
		}
	}
}

var (
	weeklyCm = Commitment{Name: "weekly", Type: CadenceType, Kind: Email, Direction: Outbound, Every: sp("1w"), Subject: re(`(?i)status`)}
	replyCm  = Commitment{Name: "reply", Type: ReplyType, Within: sp("1bd")}
)

func status(at string) Contact { return mail(tb(at), Outbound, "Status") }

func TestAlertLifecycle(t *testing.T) {
	noRepeat := defaultAlerting
	noRepeat.RepeatInterval = 0
	silence := func(from, to, commitment string) []Silence {
		return []Silence{{ID: "s1", CustomerID: "acme", Commitment: commitment, StartsAt: tb(from), EndsAt: tb(to)}}
	}
	fresh, staleMail := &Stale{}, &Stale{{Name: "imap:x", Kind: Email}}
	question := mail(tb("2026-03-06 15:00"), Inbound, "Question")
	tests := []struct {
		name     string
		cms      []Commitment
		contacts []Contact
		alerting Alerting
		steps    []step
	}{
		{name: "at risk, slipped, repeated, recovered", cms: []Commitment{weeklyCm}, contacts: []Contact{status("2026-03-02 10:00")},
			steps: []step{
				{at: tb("2026-03-07 10:00")},
				{at: tb("2026-03-08 10:00"), want: []string{"weekly commitment.at_risk"}},
				{at: tb("2026-03-08 12:00")},
				{at: tb("2026-03-09 10:00"), want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-10 09:59")},
				{at: tb("2026-03-10 10:00"), want: []string{"weekly commitment.slipped#1"}},
				{at: tb("2026-03-10 10:00")},
				{at: tb("2026-03-11 10:00"), want: []string{"weekly commitment.slipped#2"}},
				{at: tb("2026-03-11 12:00"), add: []Contact{status("2026-03-11 11:00")}, want: []string{"weekly commitment.recovered"}},
				{at: tb("2026-03-11 13:00")},
			}},
		{name: "repeat_interval 0 never repeats", cms: []Commitment{weeklyCm}, contacts: []Contact{status("2026-03-02 10:00")}, alerting: noRepeat,
			steps: []step{
				{at: tb("2026-03-09 10:00"), want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-20 10:00")},
			}},
		{name: "a first evaluation after the due time slips directly", cms: []Commitment{weeklyCm}, contacts: []Contact{status("2026-03-02 10:00")},
			steps: []step{{at: tb("2026-03-12 10:00"), want: []string{"weekly commitment.slipped"}}}},
		{name: "a silenced customer fires nothing until the silence ends", cms: []Commitment{weeklyCm}, contacts: []Contact{status("2026-03-02 10:00")},
			steps: []step{
				{at: tb("2026-03-08 10:00"), silences: silence("2026-03-08 00:00", "2026-03-12 00:00", "")},
				{at: tb("2026-03-09 10:00")},
				{at: tb("2026-03-11 23:59")},
				{at: tb("2026-03-12 00:00"), want: []string{"weekly commitment.slipped"}},
			}},
		{name: "a silence on one commitment leaves the others", cms: []Commitment{weeklyCm, replyCm},
			contacts: []Contact{status("2026-03-02 10:00"), question},
			steps: []step{
				{at: tb("2026-03-09 15:00"), silences: silence("2026-03-08 00:00", "2026-03-12 00:00", "weekly"),
					want: []string{"reply commitment.slipped"}},
			}},
		{name: "a recovery during a silence is announced when it ends", cms: []Commitment{weeklyCm}, contacts: []Contact{status("2026-03-02 10:00")},
			steps: []step{
				{at: tb("2026-03-09 10:00"), want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-10 10:00"), silences: silence("2026-03-09 12:00", "2026-03-12 00:00", "")},
				{at: tb("2026-03-10 12:00"), add: []Contact{status("2026-03-10 11:00")}},
				{at: tb("2026-03-12 00:00"), want: []string{"weekly commitment.recovered"}},
			}},
		{name: "a silence delays the repeat", cms: []Commitment{weeklyCm}, contacts: []Contact{status("2026-03-02 10:00")},
			steps: []step{
				{at: tb("2026-03-09 10:00"), want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-10 10:00"), silences: silence("2026-03-09 12:00", "2026-03-11 12:00", "")},
				{at: tb("2026-03-11 12:00"), want: []string{"weekly commitment.slipped#1"}},
			}},
		{name: "stale sources send no slipped alert and no burst when they recover", cms: []Commitment{weeklyCm, replyCm},
			contacts: []Contact{status("2026-03-02 10:00"), question},
			steps: []step{
				{at: tb("2026-03-07 10:00"), stale: fresh},
				{at: tb("2026-03-08 10:00"), stale: staleMail},
				{at: tb("2026-03-09 16:00")},
				// The reply sent during the outage arrives with the recovery:
				// the reply commitment never alerts, the weekly report alerts once.
				{at: tb("2026-03-10 10:00"), stale: fresh, add: []Contact{replyTo(tb("2026-03-09 14:00"), question)},
					want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-10 10:01")},
			}},
		{name: "an unknown state keeps the open alert until the sources recover", cms: []Commitment{weeklyCm},
			contacts: []Contact{status("2026-03-02 10:00")},
			steps: []step{
				{at: tb("2026-03-09 10:00"), want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-10 10:00"), stale: staleMail},
				{at: tb("2026-03-10 12:00"), add: []Contact{status("2026-03-10 11:00")}},
				{at: tb("2026-03-11 10:00"), stale: fresh, want: []string{"weekly commitment.recovered"}},
			}},
		{name: "a removed commitment resolves silently", cms: []Commitment{weeklyCm, replyCm}, contacts: []Contact{status("2026-03-02 10:00")},
			steps: []step{
				{at: tb("2026-03-09 10:00"), want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-09 11:00"), cms: []Commitment{replyCm}},
				{at: tb("2026-03-12 11:00")},
			}},
		{name: "a new period opens a new alert", cms: []Commitment{weeklyCm}, contacts: []Contact{status("2026-03-02 10:00")}, alerting: noRepeat,
			steps: []step{
				{at: tb("2026-03-09 10:00"), want: []string{"weekly commitment.slipped"}},
				{at: tb("2026-03-09 11:00"), add: []Contact{status("2026-03-09 10:30")}, want: []string{"weekly commitment.recovered"}},
				{at: tb("2026-03-15 10:30"), want: []string{"weekly commitment.at_risk"}},
				{at: tb("2026-03-16 10:30"), want: []string{"weekly commitment.slipped"}},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerting := tc.alerting
			if alerting == (Alerting{}) {
				alerting = defaultAlerting
			}
			runSteps(t, newSim(customer(berlin, tc.cms...), slices.Clone(tc.contacts), alerting), tc.steps)
		})
	}
}

func TestRemovedCommitmentAlertIsResolved(t *testing.T) {
	s := newSim(customer(berlin, weeklyCm), []Contact{status("2026-03-02 10:00")}, defaultAlerting)
	s.eval(tb("2026-03-09 10:00"))
	s.in.Customers[0].Commitments = nil
	_, res := s.eval(tb("2026-03-09 11:00"))
	if len(res.Changes) != 1 || res.Changes[0].State != Resolved || res.Changes[0].Details.Resolution != Removed {
		t.Fatalf("changes = %+v; want the alert resolved as removed", res.Changes)
	}
	// A customer that left the configuration too.
	s = newSim(customer(berlin, weeklyCm), []Contact{status("2026-03-02 10:00")}, defaultAlerting)
	s.eval(tb("2026-03-09 10:00"))
	s.in.Customers = nil
	if _, res = s.eval(tb("2026-03-09 11:00")); len(res.Changes) != 1 || res.Changes[0].Details.Resolution != Removed || len(res.Events) != 0 {
		t.Fatalf("changes = %+v, events %d; want the alert resolved as removed, silently", res.Changes, len(res.Events))
	}
}

func TestFollowUpSupersededByTheNextMeeting(t *testing.T) {
	fu := Commitment{Name: "follow_up", Type: FollowUpType, Within: sp("2bd")}
	s := newSim(customer(berlin, fu), []Contact{meeting(tb("2026-03-06 14:00"), time.Hour, "Review")}, defaultAlerting)
	if got, _ := s.eval(tb("2026-03-10 15:00")); !slices.Equal(got, []string{"follow_up commitment.slipped"}) {
		t.Fatalf("events %q; want slipped", got)
	}
	s.contacts["acme"] = append(s.contacts["acme"], meeting(tb("2026-03-11 10:00"), time.Hour, "Again"))
	got, res := s.eval(tb("2026-03-11 10:30"))
	if !slices.Equal(got, []string{"follow_up commitment.recovered"}) || res.Changes[0].Details.Resolution != Superseded {
		t.Fatalf("events %q, changes %+v; want recovered as superseded", got, res.Changes)
	}
}

// TestAlertIdentitySurvivesLostState: a rebuilt state (alerts lost)
// produces the same alert and event IDs, so the outbox sends nothing twice.
func TestAlertIdentitySurvivesLostState(t *testing.T) {
	contacts := []Contact{status("2026-03-02 10:00")}
	first := newSim(customer(berlin, weeklyCm), contacts, defaultAlerting)
	_, a := first.eval(tb("2026-03-09 10:00"))
	first.eval(tb("2026-03-09 12:00"))
	rebuilt := newSim(customer(berlin, weeklyCm), contacts, defaultAlerting)
	_, b := rebuilt.eval(tb("2026-03-09 12:00"))
	if len(a.Events) != 1 || len(b.Events) != 1 || a.Events[0].ID != b.Events[0].ID || a.Changes[0].ID != b.Changes[0].ID {
		t.Fatalf("events %v and %v; want one event with the same ID", a.Events, b.Events)
	}
	want := AlertID("acme", "weekly", "due:"+stamp(tb("2026-03-09 10:00")))
	if a.Changes[0].ID != want {
		t.Errorf("alert ID %s, want %s", a.Changes[0].ID, want)
	}
}

func TestEventPayloadGolden(t *testing.T) {
	question := Contact{At: tb("2026-03-06 15:00"), Key: "mid:q1@acme.com", Kind: Email, Direction: Inbound,
		Subject: "Question about the invoice", People: []string{"bob@acme.com"}}
	earlier := Contact{At: tb("2026-02-27 10:00"), Key: "mid:o1@us.example", Kind: Email, Direction: Outbound,
		Subject: "Invoice", People: []string{"bob@acme.com"}}
	s := newSim(customer(berlin, replyCm), []Contact{earlier, question}, defaultAlerting)
	_, res := s.eval(tb("2026-03-09 15:00"))
	if len(res.Events) != 1 {
		t.Fatalf("%d events, want 1", len(res.Events))
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, res.Events[0].Payload, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	golden(t, filepath.Join("testdata", "reply_slipped.json"), buf.Bytes())
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", path, got)
	}
}
