package evaluate

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// addCommitment gives a customer one more commitment and rebuilds the
// runner for the changed configuration.
func (f *fixture) addCommitment(customer string, cm cadence.Commitment) {
	f.t.Helper()
	for i := range f.cfg.Customers {
		if f.cfg.Customers[i].ID == customer {
			f.cfg.Customers[i].Commitments = append(f.cfg.Customers[i].Commitments, cm)
		}
	}
	f.r = New(f.cfg, f.st, zap.NewNop())
	f.r.Now = func() time.Time { return f.now }
}

// alertIDs returns every alert ever opened, as "id state".
func (f *fixture) alertIDs() []string {
	f.t.Helper()
	as, err := f.st.Alerts(f.t.Context(), true)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.ID+" "+a.CustomerID+"/"+a.Commitment+" "+string(a.State))
	}
	slices.Sort(out)
	return out
}

// events returns the IDs of the enqueued events about one customer's
// commitment, by type, oldest first.
func (f *fixture) events(customer, commitment string) map[string][]string {
	f.t.Helper()
	out := map[string][]string{}
	for _, typ := range []string{cadence.EventAtRisk, cadence.EventSlipped, cadence.EventRecovered} {
		evs, err := f.st.Events(f.t.Context(), typ)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, ev := range evs {
			var body struct {
				Data cadence.EventData `json:"data"`
			}
			if err := json.Unmarshal(ev.Payload, &body); err != nil {
				f.t.Fatal(err)
			}
			if body.Data.Customer.ID == customer && body.Data.Commitment.Name == commitment {
				out[typ] = append(out[typ], ev.ID)
			}
		}
	}
	return out
}

// An old-dated mail must not move the start of history, which is part of
// the identity of alerts that count from it: a spam mail dated 1970 would
// otherwise resolve every such alert and open it again under a new ID.
func TestHistoryStartIgnoresOldDatedMail(t *testing.T) {
	f := newFixture(t)
	f.history()
	// Initech has no contacts: its pulse is due one week after the start
	// of history, in a period named after it.
	f.addCommitment("initech", cadence.Commitment{Name: "pulse", Type: cadence.CadenceType,
		Every: cadence.Span{Unit: cadence.Week, N: 1}, Min: 1})
	f.synced(f.now, "imap:alice", "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	before, events := f.alertIDs(), f.events("initech", "pulse")
	if !slices.ContainsFunc(before, func(s string) bool { return slices.Contains([]string{"initech/pulse slipped"}, s[33:]) }) {
		t.Fatalf("alerts %q; want initech/pulse slipped", before)
	}
	spam := mailFrom("spam@initech.example", time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC), "offers@initech.example", "alice@us.example", "Deal")
	spam.Filter = cadence.Bulk
	stranger := mailFrom("old@stranger.example", time.Date(1971, 1, 2, 0, 0, 0, 0, time.UTC), "x@stranger.example", "alice@us.example", "Hello")
	for _, tc := range []struct {
		name string
		in   cadence.Interaction
	}{{"a filtered mail dated 1970", spam}, {"a counted mail dated 1971", stranger}} {
		f.seed(tc.in)
		f.now = f.now.Add(time.Minute)
		f.synced(f.now, "imap:alice", "caldav:alice")
		if err := f.r.Run(t.Context(), f.now); err != nil {
			t.Fatal(err)
		}
		if got := f.alertIDs(); !slices.Equal(got, before) {
			t.Errorf("after %s: alerts\n%q\nwant\n%q", tc.name, got, before)
		}
		if got := f.events("initech", "pulse"); len(got[cadence.EventRecovered]) != len(events[cadence.EventRecovered]) ||
			len(got[cadence.EventSlipped]) != len(events[cadence.EventSlipped]) {
			t.Errorf("after %s: events %v, want %v", tc.name, got, events)
		}
	}
}

// Before every source completed a first sync the start of history is not
// fixed; once it is, it is the earliest counted mail, but no earlier than
// the backfill reaches.
func TestHistoryStartIsClampedToTheBackfill(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.seed(mailFrom("old@stranger.example", time.Date(1971, 1, 2, 0, 0, 0, 0, time.UTC), "x@stranger.example", "alice@us.example", "Hello"))
	f.synced(f.now, "imap:alice") // the calendar has not synced yet
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.st.HistoryStart(t.Context()); ok || err != nil {
		t.Fatalf("history start fixed before every first sync: %v, %v", got, err)
	}
	f.synced(f.now, "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC) // now − 365d, by day
	if got, ok, err := f.st.HistoryStart(t.Context()); !ok || err != nil || !got.Equal(want) {
		t.Fatalf("history start %v, %t, %v; want %v", got, ok, err, want)
	}
}

// A meeting booked resolves next_meeting; when it is cancelled the same
// period slips again: a second episode, with webhook ids of its own.
func TestReopenedAlertSendsAgain(t *testing.T) {
	f := newFixture(t)
	f.history()
	step := func(what string) {
		t.Helper()
		f.now = f.now.Add(time.Hour)
		f.synced(f.now, "imap:alice", "caldav:alice")
		if err := f.r.Run(t.Context(), f.now); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("first pass")
	booked := meetingWith("next", tb("2026-03-20 16:00"), "Review", "jane@globex.example")
	f.seed(booked)
	step("meeting booked")
	db, err := sql.Open("sqlite", filepath.Join(f.dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM interactions WHERE key = ?`, booked.Key); err != nil {
		t.Fatal(err)
	}
	step("meeting cancelled")
	ev := f.events("globex", "next_meeting")
	slipped := ev[cadence.EventSlipped]
	if len(slipped) != 2 || slipped[0] == slipped[1] || len(ev[cadence.EventRecovered]) != 1 {
		t.Fatalf("events %v; want two commitment.slipped with distinct ids around one recovered", ev)
	}
	as, err := f.st.Alerts(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(as, func(a cadence.Alert) bool { return a.CustomerID == "globex" })
	if i < 0 || as[i].Commitment != "next_meeting" || as[i].Episode != 2 {
		t.Fatalf("open alerts %+v; want globex's next_meeting in its second episode", as)
	}
	evs, err := f.st.Events(t.Context(), cadence.EventSlipped)
	if err != nil {
		t.Fatal(err)
	}
	episodes := map[string]int{}
	for _, ev := range evs {
		var body struct {
			Data cadence.EventData `json:"data"`
		}
		if err := json.Unmarshal(ev.Payload, &body); err != nil {
			t.Fatal(err)
		}
		episodes[ev.ID] = body.Data.Episode
	}
	if episodes[slipped[0]] != 1 || episodes[slipped[1]] != 2 {
		t.Errorf("episodes of the slipped events %v; want 1 then 2", episodes)
	}
	// Evaluating again sends nothing new.
	step("again")
	if got := f.events("globex", "next_meeting"); len(got[cadence.EventSlipped]) != 2 {
		t.Errorf("after another pass: events %v", got)
	}
}

// One failing account leaves unknown only the customers whose mail it
// carried; a slip of another account's customer still fires.
func TestStaleAccountMutesOnlyItsCustomers(t *testing.T) {
	f := newFixture(t)
	f.cfg.Accounts = append(f.cfg.Accounts, config.Account{Name: "ben", Email: "ben@us.example", IMAP: &config.IMAP{}})
	f.addCommitment("initech", cadence.Commitment{Name: "weekly", Type: cadence.CadenceType, Kind: cadence.Email,
		Direction: cadence.Outbound, Every: cadence.Span{Unit: cadence.Week, N: 1}, Min: 1})
	f.history() // acme's mail, through alice's mailbox
	f.seedAs("ben", mailFrom("i2@us.example", tb("2026-02-20 10:00"), "ben@us.example", "ian@initech.example", "Status"))
	f.synced(f.now.Add(-24*time.Hour), "imap:ben")
	f.synced(f.now.Add(-3*time.Hour), "imap:alice") // stale_after is 2h: alice's mailbox is stale
	f.synced(f.now, "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	// ben synced a day ago too, and is stale as well: initech's weekly is
	// unknown. Bring ben up to date: its customer's slip must fire while
	// alice's mailbox is still stale.
	f.synced(f.now, "imap:ben")
	f.now = f.now.Add(time.Minute)
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	want := []string{"globex/next_meeting slipped", "initech/weekly slipped"}
	if got := f.openAlerts(); !slices.Equal(got, want) {
		t.Fatalf("alerts %q; want %q (acme's mail came through the stale mailbox)", got, want)
	}
	views, err := f.r.Customers(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if v.ID == "acme" && v.State != cadence.Unknown {
			t.Errorf("acme is %s; want unknown", v.State)
		}
	}
	d, err := f.r.Why(t.Context(), "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Commitments {
		r := c.Reason
		if len(r.StaleSources) != 1 || r.StaleSources[0].Source != "imap:alice" || r.StaleSources[0].LastSuccessAt == nil ||
			!r.StaleSources[0].LastSuccessAt.Equal(tb("2026-03-09 07:00")) {
			t.Errorf("why %s: stale sources %+v; want imap:alice, last synced 07:00", c.Name, r.StaleSources)
		}
	}
	if len(d.NotCounted) != 1 || d.NotCounted[0].Reason != cadence.List || d.NotCounted[0].Sender != "news@acme.com" {
		t.Errorf("why: not counted %+v; want the newsletter, as a list mail", d.NotCounted)
	}
}

// A customer's question to a group lands with List-Id in a member's
// mailbox and directly in the owner's INBOX: whichever copy is synced
// first, it waits for a reply, and the reply alert fires.
func TestAnyCopyMakesTheQuestionWait(t *testing.T) {
	q := mailFrom("q9@acme.com", tb("2026-03-05 09:00"), "bob@acme.com", "alice@us.example", "Urgent question")
	group := q
	group.Filter = cadence.List
	for _, tc := range []struct {
		name  string
		order []cadence.Interaction
	}{{"group copy first", []cadence.Interaction{group, q}}, {"direct copy first", []cadence.Interaction{q, group}}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.Accounts = append(f.cfg.Accounts, config.Account{Name: "ben", Email: "ben@us.example", IMAP: &config.IMAP{}})
			f.r = New(f.cfg, f.st, zap.NewNop())
			f.r.Now = func() time.Time { return f.now }
			for _, in := range tc.order {
				account := "ben" // a group member's mailbox
				if in.Filter == cadence.Counts {
					account = "alice" // the owner's INBOX
				}
				if _, err := f.st.SaveMail(t.Context(), account, "INBOX", []cadence.Interaction{in}, store.FolderState{UIDValidity: 1, UIDNext: 2}); err != nil {
					t.Fatal(err)
				}
				f.synced(f.now, "imap:alice", "imap:ben", "caldav:alice")
				if err := f.r.Run(t.Context(), f.now); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.openAlerts(); !slices.Contains(got, "acme/reply slipped") {
				t.Errorf("alerts %q; want acme/reply slipped", got)
			}
		})
	}
}
