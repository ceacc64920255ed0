// Package e2e proves Touchbase's whole path against the real test bed:
// Dovecot and Radicale seeded with the demo scenario, the released binary
// running `touchbase daemon`, and a webhook receiver that verifies every
// signature. The scenario's expected alerts are written down (by hand,
// from SPEC "States and timing") in demo.Scenario before any run.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/demo"
	"github.com/touchbase/touchbase/internal/testbed"
)

// bed is one end-to-end run: the seeded test bed, the config and the sink.
type bed struct {
	env     testbed.Env
	h       *demo.History
	sink    *demo.Sink
	cfg     string
	logPath string
	api     api
}

func setUp(t *testing.T) *bed {
	t.Helper()
	env := testbed.Up(t)
	b := &bed{env: env, h: demo.Scenario(time.Now())}
	seedIMAP(t, env, b.h)
	seedCalDAV(t, env, b.h)
	dir := t.TempDir()
	pw := filepath.Join(dir, "dave.password")
	secret, err := demo.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	whsec := filepath.Join(dir, "webhook.whsec")
	for file, content := range map[string]string{pw: davePass, whsec: secret} {
		if err := os.WriteFile(file, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if b.sink, err = demo.NewSink(secret, demo.SinkOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.sink.Close() })
	httpAddr := freeAddr(t)
	y, err := b.h.ConfigYAML(demo.ConfigOptions{
		DataDir: filepath.Join(dir, "data"), HTTP: httpAddr, PollInterval: "5s",
		Accounts: []demo.AccountOptions{{Name: "dave", Email: daveUser,
			IMAPAddr: env["TESTBED_IMAP_ADDR"], IMAPTLS: "starttls", TLSCAFile: env["TESTBED_TLS_CA"],
			CalDAVURL: env["TESTBED_CALDAV_URL"], PasswordFile: pw}},
		WebhookURL: b.sink.URL(), WebhookSecretFile: whsec,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.cfg, b.logPath, b.api = filepath.Join(dir, "touchbase.yaml"), filepath.Join(dir, "daemon.log"), api{base: "http://" + httpAddr}
	if err := os.WriteFile(b.cfg, y, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// The whole path: the exact expected alerts, nothing re-sent after a
// restart, and a recovery pushed by IMAP IDLE while the daemon runs.
func TestEndToEnd(t *testing.T) {
	b := setUp(t)
	binary(t) // build before timing anything
	start := time.Now()

	d := startDaemon(t, b.cfg, b.logPath)
	defer b.dumpLogOnFailure(t)
	waitFor(t, 40*time.Second, "the expected alerts", func(context.Context) (bool, error) {
		return missing(b.sink.Events(), b.h.Expected) == nil, nil
	})
	t.Logf("expected alerts all delivered %.1fs after the daemon started", time.Since(start).Seconds())
	b.settle(t, 1)
	b.checkExactly(t, b.h.Expected)

	// A restart re-reads everything it needs from the store: it must not
	// send any event again, however often it evaluates.
	d.stop(t)
	before := len(b.sink.Events())
	restart := time.Now()
	d = startDaemon(t, b.cfg, b.logPath)
	b.waitSynced(t, restart)
	b.settle(t, 3)
	if got := b.sink.Events(); len(got) != before || b.sink.Duplicates() != 0 {
		t.Fatalf("after restart: %d events (was %d), %d duplicate deliveries; want nothing re-sent:\n%s",
			len(got), before, b.sink.Duplicates(), describe(got[before:]))
	}

	// Ben finally sends the Litware report: IDLE on \Sent brings it in.
	mail, recovered := b.h.RecoveryMail(time.Now())
	sent := time.Now()
	if err := demo.AppendIMAP(t.Context(), b.env["TESTBED_IMAP_ADDR"], daveUser, davePass, []demo.Mail{mail}); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(b.h.Expected), recovered)
	waitFor(t, 30*time.Second, "commitment.recovered for litware", func(context.Context) (bool, error) {
		return missing(b.sink.Events(), want) == nil, nil
	})
	t.Logf("commitment.recovered arrived %.1fs after the mail was appended", time.Since(sent).Seconds())
	b.settle(t, 1)
	b.checkExactly(t, want)
	d.stop(t)
	t.Logf("end to end: %.1fs from the first daemon start to the last stop", time.Since(start).Seconds())
}

// settle makes the daemon evaluate cycles more times with every event
// delivered: each cycle appends a newsletter (stored, never counted, so
// no state may change), waits until it is synced and an evaluation
// finished since it was appended, and until the outbox is empty.
func (b *bed) settle(t *testing.T, cycles int) {
	t.Helper()
	for i := range cycles {
		st, err := b.api.status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fetched := fetchedBy(st.Sources, "imap:dave")
		evals, err := b.api.evaluations(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		seq := int(time.Now().UnixNano()%1e6)*10 + i
		if err := demo.AppendIMAP(t.Context(), b.env["TESTBED_IMAP_ADDR"], daveUser, davePass,
			[]demo.Mail{b.h.Newsletter(time.Now(), seq)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the newsletter synced and evaluated, and an empty outbox", func(ctx context.Context) (bool, error) {
			st, err := b.api.status(ctx)
			if err != nil || fetchedBy(st.Sources, "imap:dave") <= fetched {
				return false, err
			}
			n, err := b.api.evaluations(ctx)
			return err == nil && n > evals && st.Outbox.Pending == 0 && st.Outbox.Failed == 0, err
		})
	}
}

func fetchedBy(sources []daemon.SourceStatus, name string) int64 {
	for _, s := range sources {
		if s.Name == name {
			return s.Stats["fetched"]
		}
	}
	return 0
}

// waitSynced waits until every source synced successfully since t.
func (b *bed) waitSynced(t *testing.T, since time.Time) {
	t.Helper()
	waitFor(t, 30*time.Second, "every source synced after the restart", func(ctx context.Context) (bool, error) {
		st, err := b.api.status(ctx)
		if err != nil {
			return false, err
		}
		for _, s := range st.Sources {
			if s.LastSuccessAt == nil || s.LastSuccessAt.Before(since.Truncate(time.Millisecond)) {
				return false, nil
			}
		}
		return len(st.Sources) == 2, nil
	})
}

// checkExactly compares the verified commitment events with want: no
// missing, no extra, no duplicate webhook-id, no rejected request, and the
// data SPEC requires in each.
func (b *bed) checkExactly(t *testing.T, want []demo.ExpectedAlert) {
	t.Helper()
	checkEvents(t, b.sink, b.h, want, "dave")
	if n := b.sink.Duplicates(); n != 0 {
		t.Errorf("%d deliveries repeated a webhook-id already received", n)
	}
}

// checkEvents compares the verified commitment events with want: no
// missing, no extra, no event under two webhook-ids (a re-send keeps its
// id), no rejected request, and the data SPEC requires in each, with owner
// as every customer's owner.
func checkEvents(t *testing.T, sink *demo.Sink, h *demo.History, want []demo.ExpectedAlert, owner string) {
	t.Helper()
	got := sink.Events()
	var gotKeys, wantKeys []string
	for _, e := range got {
		gotKeys = append(gotKeys, eventKey(e))
		checkData(t, e, h, owner)
	}
	for _, w := range want {
		wantKeys = append(wantKeys, alertKey(w))
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("events:\n  got  %s\n  want %s\nwhy each was expected:\n%s", strings.Join(gotKeys, "\n       "),
			strings.Join(wantKeys, "\n       "), reasons(want))
	}
	if r := sink.Rejected(); len(r) != 0 {
		t.Errorf("%d requests failed signature verification, first: %s", len(r), r[0].Err)
	}
}
