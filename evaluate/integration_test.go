package evaluate

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/testbed"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/sync/caldavsource"
	"github.com/touchbase/touchbase/sync/imapsource"
)

// The integration test syncs a user of its own, erin (in testbed.Users):
// other packages' tests reset alice's, bob's, carol's and dave's mailboxes.
const (
	erin     = "erin@example.test"
	erinPass = "erin-pass"
)

// TestIntegrationIncrementalPasses: the test bed's real Dovecot and
// Radicale, synced by the real sources; mail arrives, a planned meeting is
// moved and then deleted on the server. Each pass after the first reads
// only the changes, and evaluates what a Runner loading everything finds.
func TestIntegrationIncrementalPasses(t *testing.T) {
	env := testbed.Up(t)
	// The seed fixes erin's customers; another clock gives other messages.
	seedNow := time.Now().Add(-2 * time.Hour).Unix()
	testbed.Seed(t, "--user", erin, "--messages", "300", "--events", "30", "--customers", "6", "--days", "200", "--seed", "5",
		"--now", strconv.FormatInt(seedNow, 10), "--reset")
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pass := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pass, []byte(erinPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	acct := config.Account{Name: "erin", Email: erin,
		IMAP:   &config.IMAP{Addr: env["TESTBED_IMAP_ADDR"], TLS: config.TLSNone, Username: erin, Password: config.Secret{File: pass}},
		CalDAV: &config.CalDAV{URL: env["TESTBED_CALDAV_URL"], Username: erin, Password: config.Secret{File: pass}}}
	cfg := &config.Config{InternalDomains: []string{"example.test"}, Accounts: []config.Account{acct}, Timezone: time.UTC,
		Alerting: cadence.Alerting{RepeatInterval: 24 * time.Hour, AtRiskBefore: 24 * time.Hour}}
	cfg.Sync.Backfill, _ = cadence.ParseSpan("400d")
	cfg.Sync.Horizon, _ = cadence.ParseSpan("180d")
	cfg.Sync.StaleAfter = time.Hour
	log := zap.NewNop()
	mail, err := imapsource.New(acct, cfg.Sync, st, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mail.Close() })
	cal, err := caldavsource.New(acct, cfg.Sync, time.UTC, st, log)
	if err != nil {
		t.Fatal(err)
	}
	sync := func() {
		t.Helper()
		for _, src := range []interface {
			Name() string
			Sync(context.Context) (map[string]int64, error)
		}{mail, cal} {
			if _, err := src.Sync(ctx); err != nil {
				t.Fatalf("sync %s: %v", src.Name(), err)
			}
			if err := st.RecordSyncSuccess(ctx, src.Name(), time.Now(), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	sync()
	cfg.Customers = seededCustomers(t, st)
	r := New(cfg, st, log)
	if err := r.Run(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	book := r.book
	calURL := strings.TrimSuffix(env["TESTBED_CALDAV_URL"], "/") + "/" + erin + "/calendar/"
	contact := cfg.Customers[0].Contacts[0]
	start := time.Now().UTC().Truncate(time.Hour).Add(72 * time.Hour)
	steps := []struct {
		name    string
		change  func()
		meeting time.Time // when the planned meeting is held; zero: not at all
	}{
		{"new mail", func() {
			testbed.Seed(t, "--user", erin, "--messages", "20", "--events", "0", "--customers", "6", "--days", "3", "--seed", "5",
				"--now", strconv.FormatInt(seedNow+3600, 10))
		}, time.Time{}},
		{"a meeting is planned", func() { davDo(t, "PUT", calURL+"incr.ics", event(start, contact)) }, start},
		{"the meeting is moved", func() { davDo(t, "PUT", calURL+"incr.ics", event(start.Add(26*time.Hour), contact)) },
			start.Add(26 * time.Hour)},
		{"the meeting is deleted", func() { davDo(t, "DELETE", calURL+"incr.ics", "") }, time.Time{}},
	}
	before := r.hist.Len()
	for i, st := range steps {
		st.change()
		sync()
		now := time.Now()
		if err := r.Run(ctx, now); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if r.book != book {
			t.Fatalf("%s: the runner loaded everything again; want it to read the changes", st.name)
		}
		if i == 0 && r.hist.Len() <= before {
			t.Fatalf("new mail: %d contacts, %d before; want more", r.hist.Len(), before)
		}
		var held time.Time
		for _, c := range r.hist.Contacts(cfg.Customers[0].ID) {
			if strings.HasPrefix(c.Key, "ev:incr@") {
				held = c.At
			}
		}
		if !held.Equal(st.meeting) {
			t.Fatalf("%s: the planned meeting is held at %v, want %v", st.name, held, st.meeting)
		}
		fresh := New(cfg, r.st, log)
		for _, c := range cfg.Customers {
			if got, want := r.hist.Contacts(c.ID), mustHistory(t, fresh, now).Contacts(c.ID); !slices.EqualFunc(got, want, sameContact) {
				t.Fatalf("%s: %s holds %d contacts, a full load %d", st.name, c.ID, len(got), len(want))
			}
		}
		r.Now, fresh.Now = func() time.Time { return now }, func() time.Time { return now }
		if got, want := views(t, r, now), views(t, fresh, now); got != want {
			t.Fatalf("%s: the views differ from a full load:\n%s\nwant\n%s", st.name, got, want)
		}
	}
}

func sameContact(a, b cadence.Contact) bool {
	return a.At.Equal(b.At) && a.End.Equal(b.End) && a.Key == b.Key && a.Kind == b.Kind && a.Direction == b.Direction &&
		a.Subject == b.Subject && slices.Equal(a.People, b.People)
}

// seededCustomers makes one customer per external domain the seeder's
// mail reached, each with a contact, and commitments of every kind that
// reads mail and meetings.
func seededCustomers(t *testing.T, st *store.Store) []cadence.Customer {
	t.Helper()
	ins, err := st.Interactions(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	contacts := map[string]string{}
	for _, in := range ins {
		for _, p := range in.Participants {
			if _, dom, ok := strings.Cut(p.Address, "@"); ok && dom != "example.test" && in.Filter == cadence.Counts {
				contacts[dom] = p.Address
			}
		}
	}
	if len(contacts) < 3 {
		t.Fatalf("the seeded mail reached %d customer domains; want several", len(contacts))
	}
	sp := func(s string) cadence.Span { v, _ := cadence.ParseSpan(s); return v }
	cms := []cadence.Commitment{
		{Name: "reply", Type: cadence.ReplyType, Within: sp("1bd")},
		{Name: "monthly", Type: cadence.CadenceType, Per: cadence.PerMonth, Min: 1},
		{Name: "next_meeting", Type: cadence.NextMeetingType, Within: sp("30d")},
		{Name: "follow_up", Type: cadence.FollowUpType, Within: sp("2bd")},
		{Name: "prepare", Type: cadence.PrepareType, Before: sp("3d")},
		{Name: "breadth", Type: cadence.BreadthType, MinContacts: 2, Window: sp("90d")},
	}
	var out []cadence.Customer
	for _, dom := range slices.Sorted(maps.Keys(contacts)) {
		out = append(out, cadence.Customer{ID: dom, Name: dom, Domains: []string{dom}, Contacts: []string{contacts[dom]},
			Location: time.UTC, Commitments: cms})
	}
	return out
}

// event is a one-hour meeting of erin's with attendee.
func event(start time.Time, attendee string) string {
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	return strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//touchbase evaluate test//EN", "BEGIN:VEVENT",
		"UID:incr", "DTSTAMP:20260101T000000Z", "DTSTART:" + f(start), "DTEND:" + f(start.Add(time.Hour)), "SUMMARY:Planned review",
		"ORGANIZER:mailto:" + erin, "ATTENDEE;PARTSTAT=ACCEPTED:mailto:" + attendee, "END:VEVENT", "END:VCALENDAR"}, "\r\n") + "\r\n"
}

// davDo sends a PUT or DELETE to erin's calendar and fails t unless it
// succeeds; an empty body sends none.
func davDo(t *testing.T, method, url, body string) {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	if code := testbed.DAV(t, method, url, erin, erinPass, b); code/100 != 2 {
		t.Fatalf("%s %s: status %d", method, url, code)
	}
}
