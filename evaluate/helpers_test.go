package evaluate

import (
	"bytes"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

func tb(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is a store in a temporary directory with the test configuration.
type fixture struct {
	t   *testing.T
	dir string
	cfg *config.Config
	st  *store.Store
	r   *Runner
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cfg, err := config.Load(filepath.Join("testdata", "touchbase.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, dir: dir, cfg: cfg, st: st, now: tb("2026-03-09 10:00")}
	f.r = New(cfg, st, zap.NewNop())
	f.r.Now = func() time.Time { return f.now }
	return f
}

// seed writes interactions straight into the database, as a sync would.
func (f *fixture) seed(ins ...cadence.Interaction) {
	f.t.Helper()
	f.seedAs("alice", ins...)
}

// seedAs writes interactions as synced from account's sources.
func (f *fixture) seedAs(account string, ins ...cadence.Interaction) {
	f.t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(f.dir, store.FileName))
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	for _, in := range ins {
		res, err := db.Exec(`INSERT INTO interactions (key, kind, at, end_at, subject, sender, account, message_id, in_reply_to, refs, filter, first_seen, people)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.Key, string(in.Kind), in.At.UnixMilli(), ms(in.End), in.Subject,
			in.Sender, account, in.MessageID, in.InReplyTo, strings.Join(in.References, " "), string(in.Filter), in.At.UnixMilli(),
			store.PackParticipants(in.Participants))
		if err != nil {
			f.t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		locator := "imap:INBOX"
		if in.Kind == cadence.Meeting {
			locator = "caldav:http://cal.example/" + account + "/" + in.Key
		}
		if _, err := db.Exec(`INSERT INTO interaction_sources (interaction_id, account, locator, filter) VALUES (?, ?, ?, ?)`,
			id, account, locator, string(in.Filter)); err != nil {
			f.t.Fatal(err)
		}
	}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// synced marks the account's sources as synced at t.
func (f *fixture) synced(t time.Time, sources ...string) {
	f.t.Helper()
	for _, s := range sources {
		if err := f.st.RecordSyncSuccess(f.t.Context(), s, t, nil); err != nil {
			f.t.Fatal(err)
		}
	}
}

func mailFrom(id string, at time.Time, from, to, subject string) cadence.Interaction {
	return cadence.Interaction{Key: cadence.MailKey(id), MessageID: id, Kind: cadence.Email, At: at, Sender: from, Subject: subject,
		Participants: []cadence.Participant{{Address: from, Role: cadence.From}, {Address: to, Role: cadence.To}}}
}

func meetingWith(uid string, at time.Time, subject string, attendees ...string) cadence.Interaction {
	in := cadence.Interaction{Key: cadence.MeetingKey(uid, at), Kind: cadence.Meeting, At: at, End: at.Add(time.Hour),
		Sender: "alice@us.example", Subject: subject,
		Participants: []cadence.Participant{{Address: "alice@us.example", Role: cadence.Organizer}}}
	for _, a := range attendees {
		in.Participants = append(in.Participants, cadence.Participant{Address: a, Role: cadence.Attendee, PartStat: "ACCEPTED"})
	}
	return in
}

// history is the standard test history as of 2026-03-09 10:00 (Monday).
func (f *fixture) history() {
	f.seed(
		mailFrom("s1@us.example", tb("2026-03-02 10:00"), "alice@us.example", "bob@acme.com", "Status week 10"),
		mailFrom("q1@acme.com", tb("2026-03-06 15:00"), "bob@acme.com", "alice@us.example", "Question about the invoice"),
		mailFrom("n1@acme.com", tb("2026-03-07 08:00"), "news@acme.com", "alice@us.example", "Newsletter"),
		mailFrom("i1@us.example", tb("2026-03-08 09:00"), "alice@us.example", "carl@us.example", "Internal"),
		meetingWith("kickoff", tb("2026-03-02 16:00"), "Kickoff", "jane@globex.example"),
	)
	// The newsletter is a list mail: the source marked it.
	db, _ := sql.Open("sqlite", filepath.Join(f.dir, store.FileName))
	defer db.Close()
	if _, err := db.Exec(`UPDATE interactions SET filter = 'list' WHERE key = 'mid:n1@acme.com'`); err != nil {
		f.t.Fatal(err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
