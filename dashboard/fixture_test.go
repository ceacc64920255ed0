package dashboard

import (
	"bytes"
	"encoding/base64"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

func berlinTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

// fixtureNow is the fixture's clock: Friday 2026-11-20 10:00 in Berlin.
var fixtureNow = berlinTime("2026-11-20 10:00")

// fixture is a real store in a temporary folder, filled through the
// store's methods as the sources and the runner fill it, and a dashboard
// over it with the clock fixed at fixtureNow.
type fixture struct {
	t   *testing.T
	cfg *config.Config
	st  *store.Store
	r   *evaluate.Runner
	mux *http.ServeMux
}

// loadConfig copies testdata/touchbase.yaml with its secrets into dir.
func loadConfig(t testing.TB, dir string) *config.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "touchbase.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString([]byte("touchbase-dashboard-signing-key!"))
	for name, content := range map[string]string{"touchbase.yaml": string(data), "secret.password": "unused\n",
		"hook.whsec": "whsec_" + key + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return loadConfigFile(t, filepath.Join(dir, "touchbase.yaml"))
}

func loadConfigFile(t testing.TB, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newHandler builds the dashboard over st and r, as the daemon does.
func newHandler(t testing.TB, cfg *config.Config, st *store.Store, r *evaluate.Runner) *http.ServeMux {
	t.Helper()
	var endpoints []string
	for _, w := range cfg.Webhooks {
		endpoints = append(endpoints, w.Name)
	}
	h, err := New(Options{Evaluator: r, Outbox: st, Endpoints: endpoints, Now: r.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	return mux
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg := loadConfig(t, dir)
	st, err := store.Open(t.Context(), cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, cfg: cfg, st: st, r: evaluate.New(cfg, st, zap.NewNop())}
	f.r.Now = func() time.Time { return fixtureNow }
	f.history()
	f.mux = newHandler(t, cfg, st, f.r)
	return f
}

func mail(id, when, from, to, subject string) cadence.Interaction {
	return cadence.Interaction{Key: cadence.MailKey(id), MessageID: id, Kind: cadence.Email, At: berlinTime(when), Sender: from,
		Subject: subject, Account: "alice",
		Participants: []cadence.Participant{{Address: from, Role: cadence.From}, {Address: to, Role: cadence.To}}}
}

func meeting(uid, when, subject string, attendees ...string) store.CalDAVObject {
	start := berlinTime(when)
	in := cadence.Interaction{Key: cadence.MeetingKey(uid, start), Kind: cadence.Meeting, At: start, End: start.Add(time.Hour),
		Sender: "alice@us.example", Subject: subject, Account: "alice",
		Participants: []cadence.Participant{{Address: "alice@us.example", Role: cadence.Organizer}}}
	for _, a := range attendees {
		in.Participants = append(in.Participants, cadence.Participant{Address: a, Role: cadence.Attendee, PartStat: "ACCEPTED"})
	}
	return store.CalDAVObject{Href: "/alice/work/" + uid + ".ics", ETag: `"` + uid + `"`, UID: uid, Occurrences: []cadence.Interaction{in}}
}

// history stores two sync passes, each evaluated, so that the store holds
// open and resolved alerts with deliveries, then a silence and a failing
// calendar. By 2026-11-20 10:00 ACME's status mail (due 11-17) and the
// reply to its question of 11-18 are late (slipped), Umbrella's weekly
// status is due within a day (at risk) but silenced, Globex's next meeting
// is booked (ok), Initech has no commitments.
func (f *fixture) history() {
	t, ctx := f.t, f.t.Context()
	news := mail("news-45@acme.com", "2026-11-06 08:00", "news@acme.com", "alice@us.example", "ACME newsletter")
	news.Filter = cadence.List
	f.sync(1, "2026-11-09 11:55", []cadence.Interaction{
		mail("s45@us.example", "2026-11-02 09:00", "alice@us.example", "bob@acme.com", "Status week 45"),
		mail("q1@acme.com", "2026-11-05 10:00", "bob@acme.com", "alice@us.example", "Contract question"),
		mail("u1@us.example", "2026-11-03 09:00", "alice@us.example", "eve@umbrella.example", "Status Umbrella"),
		mail("i1@initech.example", "2026-10-12 11:00", "ceo@initech.example", "alice@us.example", "Hello"),
		news,
	}, meeting("review-q4", "2026-10-15 16:00", "Quarterly review", "jane@globex.example"))
	if err := f.r.Run(ctx, berlinTime("2026-11-09 12:00")); err != nil {
		t.Fatal(err)
	}
	reply := mail("r1@us.example", "2026-11-10 14:00", "alice@us.example", "bob@acme.com", "Re: Contract question")
	reply.InReplyTo, reply.References = "q1@acme.com", []string{"q1@acme.com"}
	f.sync(2, "2026-11-20 09:55", []cadence.Interaction{
		mail("s46@us.example", "2026-11-10 09:00", "alice@us.example", "bob@acme.com", "Status week 46"),
		reply,
		mail("q2@acme.com", "2026-11-18 15:00", "carol@acme.com", "alice@us.example", "Question about the invoice"),
		mail("u2@us.example", "2026-11-14 09:00", "alice@us.example", "eve@umbrella.example", "Status Umbrella"),
	}, meeting("roadmap", "2026-12-03 16:00", "Roadmap", "jane@globex.example", "tom@globex.example"))
	if err := f.r.Run(ctx, fixtureNow); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.AddSilence(ctx, cadence.Silence{CustomerID: "umbrella", StartsAt: berlinTime("2026-11-19 09:00"),
		EndsAt: berlinTime("2026-11-27 00:00"), Reason: "holiday", CreatedAt: berlinTime("2026-11-19 09:00")}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.RecordSyncFailure(ctx, "caldav:alice", berlinTime("2026-11-20 09:58"), "connection refused", nil); err != nil {
		t.Fatal(err)
	}
	f.deliverFirst()
}

// deliverFirst records one attempt of every delivery due by the first
// pass: the ops endpoint took them, the chat endpoint answered 503.
func (f *fixture) deliverFirst() {
	t, ctx := f.t, f.t.Context()
	at := berlinTime("2026-11-09 12:00")
	claimed, err := f.st.ClaimDue(ctx, at.Add(time.Minute), "test", []string{"ops", "chat"}, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claimed {
		if !c.Event.CreatedAt.Before(at.Add(time.Second)) {
			continue
		}
		res := store.AttemptResult{DeliveryID: c.ID, At: at.Add(time.Minute), Duration: 20 * time.Millisecond, Status: 204,
			State: store.DeliveryDelivered}
		if c.Endpoint == "chat" {
			res.Status, res.Error, res.State, res.NextAttemptAt = 503, "HTTP 503", store.DeliveryPending, at.Add(time.Hour)
		}
		if err := f.st.RecordAttempts(ctx, "test", res); err != nil {
			t.Fatal(err)
		}
	}
}

// sync stores mails and a calendar object and marks every source synced.
func (f *fixture) sync(pass int, syncedAt string, mails []cadence.Interaction, obj store.CalDAVObject) {
	t, ctx := f.t, f.t.Context()
	if _, err := f.st.SaveMail(ctx, "alice", "INBOX", mails, store.FolderState{UIDValidity: 1, UIDNext: uint32(100 * pass)}); err != nil {
		t.Fatal(err)
	}
	ch := store.CalDAVChanges{Account: "alice", Calendar: "http://127.0.0.1:1/alice/work/", Put: []store.CalDAVObject{obj}}
	if _, err := f.st.ApplyCalDAV(ctx, ch, berlinTime(syncedAt)); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"imap:alice", "caldav:alice", "imap:bob"} {
		if err := f.st.RecordSyncSuccess(ctx, src, berlinTime(syncedAt), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// get serves one GET request through the dashboard's routes.
func (f *fixture) get(target string) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// golden compares got with testdata/name, or rewrites it with -update.
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
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", path, got)
	}
}
