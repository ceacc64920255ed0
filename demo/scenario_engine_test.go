package demo

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/sync/caldavsource"
	"github.com/touchbase/touchbase/sync/imapsource"
)

// engineAlerts serves h from the demo's IMAP and CalDAV servers, syncs it
// with the real sources into a fresh store, evaluates it at h.Now and
// returns the open alerts as "<event type> <customer>/<commitment>
// [<message-id>]". Nothing in it depends on the wall clock: IMAP is read
// without a backfill limit, and the CalDAV window (the source's clock is
// the real one) is stretched from today to cover h's half year either side
// of h.Now, whenever the test runs.
func engineAlerts(t *testing.T, h *History) []string {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	passwords := map[string]string{}
	var accounts []AccountOptions
	for _, a := range h.Accounts {
		passwords[a.Email] = "pw-" + a.Name
		accounts = append(accounts, AccountOptions{Name: a.Name, Email: a.Email, PasswordFile: write(a.Name+".password", passwords[a.Email])})
	}
	addr, stopIMAP, err := StartIMAP(ctx, passwords, h.Mails)
	if err != nil {
		t.Fatal(err)
	}
	defer stopIMAP()
	url, stopCalDAV, err := StartCalDAV(ctx, passwords, h.Events)
	if err != nil {
		t.Fatal(err)
	}
	defer stopCalDAV()
	for i := range accounts {
		accounts[i].IMAPAddr, accounts[i].CalDAVURL = addr, url
	}
	secret, err := NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	y, err := h.ConfigYAML(ConfigOptions{DataDir: filepath.Join(dir, "data"), Accounts: accounts,
		WebhookURL: "http://127.0.0.1:1/", WebhookSecretFile: write("webhook.whsec", secret)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(write("touchbase.yaml", string(y)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	mailSync, calSync := cfg.Sync, cfg.Sync
	mailSync.Backfill = cadence.Span{} // no SINCE: every mail, whatever today is
	wall := time.Now()
	days := func(d time.Duration) int { return int(max(d, 0)/(24*time.Hour)) + 1 }
	calSync.Backfill = cadence.Span{Unit: cadence.Day, N: days(wall.Sub(h.Now)) + 200}
	calSync.Horizon = cadence.Span{Unit: cadence.Day, N: days(h.Now.Sub(wall)) + 200}
	log := zap.NewNop()
	for _, a := range cfg.Accounts {
		mail, err := imapsource.New(a, mailSync, st, log)
		if err != nil {
			t.Fatal(err)
		}
		defer mail.Close()
		cal, err := caldavsource.New(a, calSync, cfg.Timezone, st, log)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range []interface {
			Name() string
			Sync(context.Context) (map[string]int64, error)
		}{mail, cal} {
			if _, err := src.Sync(ctx); err != nil {
				t.Fatalf("sync %s: %v", src.Name(), err)
			}
			if err := st.RecordSyncSuccess(ctx, src.Name(), h.Now, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := evaluate.New(cfg, st, log)
	r.Now = func() time.Time { return h.Now }
	if err := r.Run(ctx, h.Now); err != nil {
		t.Fatal(err)
	}
	alerts, err := st.Alerts(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alerts {
		k := "commitment." + string(a.State) + " " + a.CustomerID + "/" + a.Commitment
		if a.Details.About != nil && a.Details.About.MessageID != "" {
			k += " <" + a.Details.About.MessageID + ">"
		}
		got = append(got, k)
	}
	slices.Sort(got)
	return got
}

// edgeNows are evaluation moments where a history built relative to now
// is most likely to go wrong: weekend edges in UTC and in Berlin, the EU
// and US DST switches, month and year ends.
var edgeNows = []time.Time{
	time.Date(2026, 12, 5, 23, 30, 0, 0, time.UTC),  // Saturday 23:30 UTC, Sunday in Berlin
	time.Date(2026, 12, 7, 0, 10, 0, 0, time.UTC),   // Monday 00:10 UTC
	time.Date(2026, 12, 6, 23, 10, 0, 0, time.UTC),  // Sunday 23:10 UTC, Monday in Berlin
	time.Date(2027, 3, 28, 1, 30, 0, 0, time.UTC),   // EU DST switch (Berlin 03:30, a 23 h day)
	time.Date(2027, 3, 14, 7, 30, 0, 0, time.UTC),   // US DST switch (Litware's zone)
	time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC),  // EU DST end (a 25 h day)
	time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC),   // a month from the 31st
	time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), // new year in Berlin
	time.Date(2027, 2, 28, 22, 0, 0, 0, time.UTC),   // March 1st in Berlin
}

// TestScenarioEdgeNows: at each edge moment the history holds up against
// the timing checks, and the real sync and engine (imapsource,
// caldavsource, evaluate) evaluating it at that moment raise exactly
// History.Expected. The end-to-end tests check the engine at the wall
// clock's moment only.
func TestScenarioEdgeNows(t *testing.T) {
	for _, now := range edgeNows {
		t.Run(now.Format(time.RFC3339), func(t *testing.T) {
			h := Scenario(now)
			c := newChecker(t, h)
			c.noFutureMail()
			c.replies()
			c.contoso()
			c.litware()
			c.adatum()
			c.wingtip()
			c.fabrikam()
			c.tailspin()
			var want []string
			for _, e := range h.Expected {
				k := e.Type + " " + e.Customer + "/" + e.Commitment
				if e.MessageID != "" {
					k += " <" + e.MessageID + ">"
				}
				want = append(want, k)
			}
			slices.Sort(want)
			if got := engineAlerts(t, h); !slices.Equal(got, want) {
				t.Errorf("engine at %s (%s in Berlin): open alerts\n  got  %q\n  want %q",
					now.Format(time.RFC3339), now.In(c.loc).Weekday(), got, want)
			}
		})
	}
}
