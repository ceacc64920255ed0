package caldavsource

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/internal/testbed"
)

// countingProxy sits in front of a real CalDAV server and counts the
// requests that pass. With stripCTag it removes getctag from every answer,
// as a server without the CalendarServer extension would send; duringQuery
// runs once, after the first calendar-query answer has been read from the
// server and before it is passed on.
type countingProxy struct {
	*httptest.Server
	requests    atomic.Int64
	stripCTag   bool
	mu          sync.Mutex
	duringQuery func() error
	hookErr     error
}

var ctagElement = regexp.MustCompile(`<([A-Za-z0-9]+:)?getctag(\s[^>]*)?(/>|>[^<]*</([A-Za-z0-9]+:)?getctag>)`)

func newCountingProxy(t *testing.T, target string) *countingProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		r.Header.Del("Accept-Encoding") // answers in clear, to be read and edited
	}
	rp.ModifyResponse = p.modify
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *countingProxy) modify(resp *http.Response) error {
	p.mu.Lock()
	hook := p.duringQuery
	if resp.Request.Method != "REPORT" || resp.StatusCode != http.StatusMultiStatus {
		hook = nil
	}
	p.mu.Unlock()
	if !p.stripCTag && hook == nil {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if hook != nil && bytes.Contains(body, []byte("calendar-data")) {
		p.mu.Lock()
		p.duringQuery = nil
		p.hookErr = hook()
		p.mu.Unlock()
	}
	if p.stripCTag {
		body = ctagElement.ReplaceAll(body, nil)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// take returns the requests counted since the last call.
func (p *countingProxy) take() int64 { return p.requests.Swap(0) }

// TestOneRequestWhenUnchanged runs against real Radicale and Xandikos
// through a counting proxy: the first sync, a change made while the
// server answers its REPORT (found by the next pass, because the token
// recorded is the one read before the REPORT), and a no-change pass that
// must cost exactly one request. Then the same without getctag: the sync
// token alone decides, and changes still sync.
func TestOneRequestWhenUnchanged(t *testing.T) {
	env := testbed.Up(t)
	for _, srv := range servers(env) {
		t.Run(srv.name, func(t *testing.T) {
			if srv.url == "" {
				t.Skipf("test bed runs no %s", srv.name)
			}
			testbed.Seed(t, append([]string{"--user", alice, "--messages", "0", "--events", "20", "--reset"}, srv.seed...)...)
			for _, strip := range []bool{false, true} {
				t.Run("strip getctag "+strconv.FormatBool(strip), func(t *testing.T) {
					oneRequest(t, srv, strip)
				})
			}
		})
	}
}

func oneRequest(t *testing.T, srv server, strip bool) {
	proxy := newCountingProxy(t, srv.url)
	proxy.stripCTag = strip
	calPath := mustPath(t, srv.calURL)
	now := time.Now().UTC().Truncate(time.Second)
	at := now.Add(48 * time.Hour).Truncate(time.Hour)
	f := func(t time.Time) string { return ":" + t.Format("20060102T150405Z") }
	during := srv.calURL + "during-report.ics"
	proxy.duringQuery = func() error { // on the proxy's goroutine: no t.Fatal
		return rawDAV("PUT", during, srv.user, srv.pass, vevent("during@test", f(at), f(at.Add(time.Hour)), "During", nil))
	}
	t.Cleanup(func() { rawDAV("DELETE", during, srv.user, srv.pass, "") })

	st := openStore(t, t.TempDir())
	src := newSource(t, account(t, "alice", alice, proxy.URL, srv.user, srv.pass), st, now)
	stats := syncOK(t, src)
	proxy.mu.Lock()
	hookErr, ran := proxy.hookErr, proxy.duringQuery == nil
	proxy.mu.Unlock()
	if hookErr != nil || !ran {
		t.Fatalf("change during the REPORT: made %v, error %v", ran, hookErr)
	}
	if stats["fetched"] != 20 {
		t.Errorf("first sync fetched %d objects, want the 20 seeded (stats %v)", stats["fetched"], stats)
	}
	// The first sync reads no state (Radicale computes it from every
	// item): the next pass compares ETags, finds the change, and records
	// the state it read before the listing.
	if state := storedCalendar(t, st, proxy.URL+calPath); state.SyncToken != "" || state.CTag != "" || state.SyncedAt.IsZero() {
		t.Errorf("state after the first sync %+v: want synced, with no token or ctag", state)
	}

	proxy.take()
	stats = syncOK(t, src)
	if _, ok := meetings(t, st)[cadence.MeetingKey("during@test", at)]; !ok || stats["fetched"] != 1 {
		t.Errorf("pass after the REPORT: change made during it stored %v, fetched %d; want true, 1 (stats %v)", ok, stats["fetched"], stats)
	}
	if n := proxy.take(); n != 3 {
		t.Errorf("pass after the first sync made %d requests, want 3: the state PROPFIND, the ETag listing and one multiget", n)
	}
	state := storedCalendar(t, st, proxy.URL+calPath)
	if state.SyncToken == "" || strip != (state.CTag == "") {
		t.Errorf("stored state %+v: want a sync token, and a ctag unless stripped (%v)", state, strip)
	}

	stats = syncOK(t, src)
	if n := proxy.take(); n != 1 || stats["http_requests"] != 1 || stats["calendars_unchanged"] != 1 {
		t.Errorf("no-change pass: %d requests through the proxy, %d counted, unchanged %d; want exactly 1, 1, 1",
			n, stats["http_requests"], stats["calendars_unchanged"])
	}

	davDo(t, "DELETE", during, srv.user, srv.pass, "")
	syncOK(t, src)
	if _, ok := meetings(t, st)[cadence.MeetingKey("during@test", at)]; ok {
		t.Errorf("deleted meeting still stored")
	}
}

// rawDAV sends one PUT or DELETE without a *testing.T (for hooks and
// cleanups, where t.Context is done).
func rawDAV(method, url, user, pass, body string) error {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &statusError{method: method, path: url, code: resp.StatusCode}
	}
	return nil
}

func mustPath(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}
