package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/webhooks"
)

// The data commands' fixture: testdata/data.yaml in a temporary folder and
// a real store filled through the store's own methods, as the IMAP and
// CalDAV sources and the evaluation runner fill it.

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// berlinTime reads a Berlin wall time.
func berlinTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

// fixtureNow is the fixture's "now": Friday 2026-11-20 10:00 in Berlin.
var fixtureNow = berlinTime("2026-11-20 10:00")

const calendarURL = "http://127.0.0.1:1/alice/work/"

type fixture struct {
	t      *testing.T
	dir    string
	config string // the daemon's configuration (data_dir: data)
	cli    string // the same with a data_dir that does not exist: only a daemon can answer
	cfg    *config.Config
}

// newFixture writes the configuration (receiver replaces RECEIVER in the
// webhook URLs), fills the store with the standard history and fixes the
// CLI's clock at fixtureNow.
func newFixture(t *testing.T, receiver string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, config: filepath.Join(dir, "touchbase.yaml"), cli: filepath.Join(dir, "cli.yaml")}
	writeConfig(t, f.config, "data.yaml", "RECEIVER", receiver)
	writeConfig(t, f.cli, "data.yaml", "RECEIVER", receiver, "data_dir: data", "data_dir: nodata")
	key := base64.StdEncoding.EncodeToString([]byte("touchbase-cli-test-signing-key!!"))
	for name, content := range map[string]string{"secret.password": "unused", "hook.whsec": "whsec_" + key} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = cfg
	saved := clock
	clock = func() time.Time { return fixtureNow }
	t.Cleanup(func() { clock = saved })
	f.history()
	return f
}

func fixtureMail(id, when, from, to, subject string) cadence.Interaction {
	return cadence.Interaction{Key: cadence.MailKey(id), MessageID: id, Kind: cadence.Email, At: berlinTime(when), Sender: from,
		Subject: subject, Account: "alice",
		Participants: []cadence.Participant{{Address: from, Role: cadence.From}, {Address: to, Role: cadence.To}}}
}

func fixtureMeeting(uid, when, subject string, attendees ...string) store.CalDAVObject {
	start := berlinTime(when)
	in := cadence.Interaction{Key: cadence.MeetingKey(uid, start), Kind: cadence.Meeting, At: start, End: start.Add(time.Hour),
		Sender: "alice@us.example", Subject: subject, Account: "alice",
		Participants: []cadence.Participant{{Address: "alice@us.example", Role: cadence.Organizer}}}
	for _, a := range attendees {
		in.Participants = append(in.Participants, cadence.Participant{Address: a, Role: cadence.Attendee, PartStat: "ACCEPTED"})
	}
	return store.CalDAVObject{Href: "/alice/work/" + uid + ".ics", ETag: `"` + uid + `"`, UID: uid, Occurrences: []cadence.Interaction{in}}
}

// history stores two sync passes, each followed by an evaluation, so the
// store holds open and resolved alerts and their webhook deliveries.
//
// By 2026-11-09 12:00 ACME has not had its weekly status (due 11-09 09:00)
// nor a reply to its question of 11-05, and Globex has no next meeting.
// By 2026-11-20 10:00 both were answered (resolved) and Globex's next
// meeting is booked, but the next status (due 11-17) and the reply to a
// question of 11-18 are late again. Initech gets a report every month,
// which no commitment declares: suggest proposes one.
func (f *fixture) history() {
	t := f.t
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(f.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := evaluate.New(f.cfg, st, zap.NewNop())

	reports := []cadence.Interaction{}
	for i, month := range []string{"06", "07", "08", "09", "10", "11"} {
		m := fixtureMail("report-"+month+"@us.example", "2026-"+month+"-01 09:00", "alice@us.example", "ceo@initech.example", "Monthly report")
		m.At = m.At.AddDate(0, 0, i%2) // not always on the 1st: a pattern, not a copy
		reports = append(reports, m)
	}
	newsletter := fixtureMail("news-45@acme.com", "2026-11-06 08:00", "news@acme.com", "alice@us.example", "ACME newsletter")
	newsletter.Filter = cadence.List
	f.sync(st, 1, "2026-11-09 11:55", append(reports,
		fixtureMail("s45@us.example", "2026-11-02 09:00", "alice@us.example", "bob@acme.com", "Status week 45"),
		fixtureMail("q1@acme.com", "2026-11-05 10:00", "bob@acme.com", "alice@us.example", "Contract question"),
		newsletter,
	), fixtureMeeting("review-q4", "2026-10-15 16:00", "Quarterly review", "jane@globex.example"))
	if err := r.Run(ctx, berlinTime("2026-11-09 12:00")); err != nil {
		t.Fatal(err)
	}

	reply := fixtureMail("r1@us.example", "2026-11-10 14:00", "alice@us.example", "bob@acme.com", "Re: Contract question")
	reply.InReplyTo, reply.References = "q1@acme.com", []string{"q1@acme.com"}
	f.sync(st, 2, "2026-11-20 09:55", []cadence.Interaction{
		fixtureMail("s46@us.example", "2026-11-10 09:00", "alice@us.example", "bob@acme.com", "Status week 46"),
		reply,
		fixtureMail("q2@acme.com", "2026-11-18 15:00", "carol@acme.com", "alice@us.example", "Question about the invoice"),
		fixtureMail("c1@initech.example", "2026-11-03 11:00", "ceo@initech.example", "alice@us.example", "Re: Monthly report"),
	}, fixtureMeeting("roadmap", "2026-12-03 16:00", "Roadmap", "jane@globex.example", "tom@globex.example"))
	if err := r.Run(ctx, fixtureNow); err != nil {
		t.Fatal(err)
	}
}

// sync stores mails and a calendar object and marks both sources synced at
// syncedAt, as one pass of the IMAP and CalDAV sources would.
func (f *fixture) sync(st *store.Store, pass int, syncedAt string, mails []cadence.Interaction, obj store.CalDAVObject) {
	t := f.t
	ctx := t.Context()
	if _, err := st.SaveMail(ctx, "alice", "INBOX", mails, store.FolderState{UIDValidity: 1, UIDNext: uint32(100 * pass)}); err != nil {
		t.Fatal(err)
	}
	ch := store.CalDAVChanges{Account: "alice", Calendar: calendarURL, Put: []store.CalDAVObject{obj}}
	if _, err := st.ApplyCalDAV(ctx, ch, berlinTime(syncedAt)); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"imap:alice", "caldav:alice"} {
		if err := st.RecordSyncSuccess(ctx, src, berlinTime(syncedAt), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// startDaemon runs an in-process daemon on the fixture's configuration,
// serving the real API routes (evaluation and webhooks) on its socket; its clock is fixtureNow and
// it runs no loops, so the store stays as the test left it.
func (f *fixture) startDaemon() *daemon.Daemon { return f.startDaemonOn(f.config) }

// startDaemonOn is startDaemon with the configuration at path.
func (f *fixture) startDaemonOn(path string) *daemon.Daemon {
	t := f.t
	d, err := daemon.New(t.Context(), daemon.Options{
		ConfigPath: path, Logger: zap.NewNop(), Now: func() time.Time { return fixtureNow },
		Build: func(cfg *config.Config, st *store.Store, log *zap.Logger) (*daemon.Plan, error) {
			r := evaluate.New(cfg, st, log)
			r.Now = func() time.Time { return fixtureNow }
			disp, err := webhooks.New(cfg.Webhooks, st, log, nil, webhooks.WithClock(func() time.Time { return fixtureNow }))
			if err != nil {
				return nil, err
			}
			return &daemon.Plan{Routes: func(mux *http.ServeMux) {
				r.Routes(mux)
				disp.Routes(mux)
			}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		d.Close()
	})
	b := &backend{socket: filepath.Join(f.dir, "tb.sock")}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.call(t.Context(), apiReq{path: "/v1/status"})
		if err == nil {
			return d
		}
		if !errors.Is(err, errNoDaemon) {
			t.Fatalf("daemon status: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon not serving its socket after 10s")
		}
		select {
		case err := <-done:
			t.Fatalf("daemon ended before serving: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// run runs the CLI with --config path appended.
func (f *fixture) run(path string, args ...string) (int, string, string) {
	f.t.Helper()
	return runCLI(f.t, append(args, "--config", path)...)
}

// normalize replaces what differs between runs: silence IDs and the
// receiver's address.
func normalize(s, receiver string) string {
	if receiver != "" {
		s = strings.ReplaceAll(s, strings.TrimPrefix(receiver, "http://"), "RECEIVER")
	}
	return silenceID.ReplaceAllString(s, "sil_XXXXXXXX")
}

var silenceID = regexp.MustCompile(`sil_[0-9a-f]{8}`)
