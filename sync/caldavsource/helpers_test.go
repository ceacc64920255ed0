package caldavsource

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/testbed"
	"github.com/touchbase/touchbase/store"
)

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func mustSpan(t testing.TB, s string) cadence.Span {
	sp, err := cadence.ParseSpan(s)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// account returns an account on url whose password is read from a file.
func account(t testing.TB, name, email, url, user, pass string, calendars ...string) config.Account {
	t.Helper()
	a := config.Account{Name: name, Email: email, CalDAV: &config.CalDAV{URL: url, Username: user, Calendars: calendars}}
	if pass != "" {
		f := filepath.Join(t.TempDir(), "pass")
		if err := os.WriteFile(f, []byte(pass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		a.CalDAV.Password = config.Secret{File: f}
	}
	return a
}

func newSource(t testing.TB, acct config.Account, st *store.Store, now time.Time) *Source {
	t.Helper()
	sc := config.Sync{Backfill: mustSpan(t, "365d"), Horizon: mustSpan(t, "180d")}
	var log *zap.Logger
	if tt, ok := t.(*testing.T); ok {
		log = zaptest.NewLogger(tt, zaptest.Level(zap.WarnLevel))
	}
	src, err := New(acct, sc, time.UTC, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if !now.IsZero() {
		src.now = func() time.Time { return now }
	}
	return src
}

func syncOK(t *testing.T, src *Source) map[string]int64 {
	t.Helper()
	stats, err := src.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v (stats %v)", err, stats)
	}
	return stats
}

// meetings returns the stored interactions by key.
func meetings(t *testing.T, st *store.Store) map[string]cadence.Interaction {
	t.Helper()
	all, err := st.Interactions(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cadence.Interaction{}
	for _, in := range all {
		if _, dup := out[in.Key]; dup {
			t.Fatalf("duplicate key %s", in.Key)
		}
		out[in.Key] = in
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// davDo sends one plain HTTP request (PUT/DELETE) to a CalDAV server and
// fails t unless it succeeds; an empty body sends none.
func davDo(t *testing.T, method, url, user, pass, body string) {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	if code := testbed.DAV(t, method, url, user, pass, b); code/100 != 2 {
		t.Fatalf("%s %s: status %d", method, url, code)
	}
}

// vevent builds a one-event calendar object; extra lines go into the
// VEVENT (RRULE, EXDATE, STATUS, ...), overrides after it.
func vevent(uid, dtstart, dtend, summary string, extra []string, overrides ...string) string {
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//touchbase test//EN", "BEGIN:VEVENT",
		"UID:" + uid, "DTSTAMP:20260101T000000Z", "DTSTART" + dtstart, "DTEND" + dtend, "SUMMARY:" + summary,
		"ORGANIZER;CN=Alice:mailto:alice@example.test",
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.test",
		"ATTENDEE;CN=Carla Customer;PARTSTAT=ACCEPTED:MAILTO:Carla@Customer.Example"}
	lines = append(lines, extra...)
	lines = append(lines, "END:VEVENT")
	lines = append(lines, overrides...)
	lines = append(lines, "END:VCALENDAR")
	return strings.Join(lines, "\r\n") + "\r\n"
}

// requestLog is an http.RoundTripper that records the kind of every
// request it passes on: "PROPFIND depth 0", "REPORT calendar-multiget",
// "REPORT calendar-query time-range", ...
type requestLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := r.Method
	if r.Method == "PROPFIND" {
		kind += " depth " + r.Header.Get("Depth")
	}
	if r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		for _, report := range []string{"calendar-multiget", "calendar-query", "sync-collection"} {
			if r.Method == "REPORT" && bytes.Contains(body, []byte(report)) {
				kind += " " + report
			}
		}
		if bytes.Contains(body, []byte("time-range")) {
			kind += " time-range"
		}
	}
	l.mu.Lock()
	l.seen = append(l.seen, kind)
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

// logRequests records src's requests until t ends.
func logRequests(t *testing.T, src *Source) *requestLog {
	next := src.hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	l := &requestLog{next: next}
	src.hc.Transport = l
	t.Cleanup(func() { src.hc.Transport = next })
	return l
}
