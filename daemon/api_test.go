package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

const testToken = "s3cret-token"

// newTokenDaemon starts from a config listening on http with a token file.
func newTokenDaemon(t *testing.T, http string) *Daemon {
	t.Helper()
	path := setupConfig(t, "daemon.yaml", "socket: tb.sock", "socket: tb.sock\n  http: "+http+"\n  token_file: api.token")
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "api.token"), []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := New(t.Context(), Options{ConfigPath: path, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func serve(h http.Handler, path, auth string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// Off loopback every route but /healthz needs the bearer token.
func TestAPIToken(t *testing.T) {
	d := newTokenDaemon(t, "0.0.0.0:9464")
	d.ready.Store(true)
	h := d.authenticated(d.Handler())
	tests := []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 401},
		{"/v1/status", "", 401},
		{"/metrics", "", 401},
		{"/v1/status", "Bearer wrong", 401},
		{"/v1/status", testToken, 401}, // no "Bearer " scheme
		{"/v1/status", "Basic " + testToken, 401},
		{"/v1/status", "Bearer " + testToken, 200},
		{"/metrics", "Bearer " + testToken, 200},
		{"/readyz", "Bearer " + testToken, 200},
	}
	for _, tc := range tests {
		if got, body := serve(h, tc.path, tc.auth); got != tc.want {
			t.Errorf("GET %s with %q: %d %s, want %d", tc.path, tc.auth, got, body, tc.want)
		}
	}
	// The unix socket is guarded by its file mode, not the token.
	if got, _ := serve(d.Handler(), "/v1/status", ""); got != 200 {
		t.Errorf("GET /v1/status on the socket handler: %d, want 200", got)
	}
}

// A loopback listener without a token is open; off loopback it is refused.
func TestAPITokenRequiredOffLoopback(t *testing.T) {
	path := setupConfig(t, "daemon.yaml", "socket: tb.sock", "socket: tb.sock\n  http: 127.0.0.1:9464")
	d, err := New(t.Context(), Options{ConfigPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, _ := serve(d.authenticated(d.Handler()), "/v1/status", ""); got != 200 {
		t.Errorf("loopback without token: GET /v1/status = %d, want 200", got)
	}
	for _, addr := range []string{"0.0.0.0:9464", ":9464", "192.0.2.1:9464", "[::]:9464", "example.com:9464"} {
		path := setupConfig(t, "daemon.yaml", "socket: tb.sock", "socket: tb.sock\n  http: '"+addr+"'")
		_, err := New(t.Context(), Options{ConfigPath: path})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "token_file") {
			t.Errorf("listen.http %s without token: New = %v, want a ConfigError about token_file", addr, err)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "127.3.4.5:1": true, "[::1]:1": true, "localhost:1": true,
		"0.0.0.0:1": false, ":1": false, "[::]:1": false, "10.0.0.1:1": false, "example.com:1": false, "bad": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// /readyz is 503 until Run started the plan and again once it stops.
func TestReadyz(t *testing.T) {
	d, err := New(t.Context(), Options{ConfigPath: setupConfig(t, "daemon.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, _ := serve(d.Handler(), "/readyz", ""); got != 503 {
		t.Errorf("/readyz before Run = %d, want 503", got)
	}
	if got, _ := serve(d.Handler(), "/healthz", ""); got != 200 {
		t.Errorf("/healthz before Run = %d, want 200", got)
	}
	states := listenNotify(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitState(t, states, "READY=1")
	if got, _ := serve(d.Handler(), "/readyz", ""); got != 200 {
		t.Errorf("/readyz while running = %d, want 200", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := serve(d.Handler(), "/readyz", ""); got != 503 {
		t.Errorf("/readyz after Run = %d, want 503", got)
	}
}

func TestMetrics(t *testing.T) {
	d, err := New(t.Context(), Options{ConfigPath: setupConfig(t, "daemon.yaml"), Version: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	src := &fakeSource{name: "imap:alice", errs: []error{nil, errFake}}
	r := newRunner(&Plan{Sources: []Source{src}}, d.Config(), d.store, d.metrics, d.log, d.opts.Now)
	for range 2 {
		r.once(t.Context())
	}
	_, body := serve(d.Handler(), "/metrics", "")
	for _, want := range []string{
		`touchbase_build_info{goversion="go`, `version="v9.9.9"} 1`,
		`touchbase_source_syncs_total{source="imap:alice"} 2`,
		`touchbase_source_sync_failures_total{source="imap:alice"} 1`,
		`touchbase_source_last_success_timestamp_seconds{source="imap:alice"}`,
		`touchbase_outbox_deliveries{state="pending"} 0`,
		`touchbase_outbox_deliveries{state="failed"} 0`,
		`touchbase_evaluation_duration_seconds_count 0`,
		`touchbase_config_last_reload_successful 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// /metrics has, before any pass, every counter at 0 and the gauges of
// every state and type; the gauges read the store at scrape time.
func TestMetricsFromStartAndGauges(t *testing.T) {
	d, err := New(t.Context(), Options{ConfigPath: setupConfig(t, "daemon.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := t.Context()
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	mail := func(id string, f cadence.Filter) cadence.Interaction {
		return cadence.Interaction{Key: cadence.MailKey(id), MessageID: id, Kind: cadence.Email, At: at, Sender: "bob@acme.example",
			Account: "alice", Filter: f, Participants: []cadence.Participant{{Address: "bob@acme.example", Role: cadence.From},
				{Address: "alice@example.com", Role: cadence.To}}}
	}
	if _, err := d.store.SaveMail(ctx, "alice", "INBOX", []cadence.Interaction{mail("a@x", cadence.Counts), mail("b@x", cadence.List)},
		store.FolderState{UIDValidity: 1, UIDNext: 3}); err != nil {
		t.Fatal(err)
	}
	alert := cadence.Alert{ID: "al1", CustomerID: "acme", Commitment: "reply", Period: "p", State: cadence.Slipped, DueAt: at,
		OpenedAt: at, UpdatedAt: at, LastNotifiedAt: at, Episode: 1, Details: cadence.AlertDetails{Type: cadence.ReplyType}}
	if err := d.store.ApplyEvaluation(ctx, []cadence.Alert{alert}, nil, func(string) []string { return nil }); err != nil {
		t.Fatal(err)
	}
	newRunner(&Plan{Sources: []Source{&fakeSource{name: "imap:alice"}}}, d.Config(), d.store, d.metrics, d.log, d.opts.Now)
	_, body := serve(d.Handler(), "/metrics", "")
	for _, want := range []string{
		`touchbase_source_syncs_total{source="imap:alice"} 0`,
		`touchbase_source_sync_failures_total{source="imap:alice"} 0`,
		`touchbase_evaluation_failures_total 0`,
		`touchbase_alerts{state="slipped",type="reply"} 1`,
		`touchbase_alerts{state="at_risk",type="reply"} 0`,
		`touchbase_alerts{state="slipped",type="cadence"} 0`,
		`touchbase_alerts{state="at_risk",type="next_meeting"} 0`,
		`touchbase_interactions_counted 1`,
		`touchbase_interactions_filtered{reason="list"} 1`,
		`touchbase_interactions_filtered{reason="bulk"} 0`,
		`touchbase_interactions_filtered{reason="declined"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Status joins the configured sources with their stored health.
func TestStatus(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	path := setupConfig(t, "status.yaml")
	d, err := New(t.Context(), Options{ConfigPath: path, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := t.Context()
	must(t, d.store.RecordSyncSuccess(ctx, "imap:alice", now.Add(-10*time.Minute), map[string]int64{"fetched": 7}))
	must(t, d.store.RecordSyncSuccess(ctx, "caldav:alice", now.Add(-3*time.Hour), nil))
	must(t, d.store.RecordSyncFailure(ctx, "caldav:alice", now.Add(-time.Hour), "dial tcp: refused", nil))
	must(t, d.store.RecordSyncSuccess(ctx, "imap:gone", now, nil)) // no longer configured
	must(t, d.store.Enqueue(ctx, []store.Event{{ID: "e1", Type: "webhook.test", CreatedAt: now, Payload: []byte("{}")}},
		func(string) []string { return []string{"ops", "slack"} }))

	st, err := d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]SourceStatus{}
	var names []string
	for _, s := range st.Sources {
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "caldav:alice,imap:alice,imap:bob" {
		t.Errorf("sources %v, want the three configured ones", names)
	}
	tests := []struct {
		name     string
		stale    bool
		lag      string
		failures int
	}{
		{"imap:alice", false, "10m0s", 0},
		{"caldav:alice", true, "3h0m0s", 1},
		{"imap:bob", true, "", 0},
	}
	for _, tc := range tests {
		s := byName[tc.name]
		lag := ""
		if s.Lag != nil {
			lag = *s.Lag
		}
		if s.Stale != tc.stale || lag != tc.lag || s.ConsecutiveFailures != tc.failures {
			t.Errorf("%s: stale %v, lag %q, failures %d; want %v, %q, %d", tc.name, s.Stale, lag, s.ConsecutiveFailures, tc.stale, tc.lag, tc.failures)
		}
	}
	if byName["imap:alice"].Stats["fetched"] != 7 || byName["caldav:alice"].LastError != "dial tcp: refused" {
		t.Errorf("stats or last error lost: %+v", st.Sources)
	}
	if st.Outbox != (OutboxStatus{Pending: 2}) || st.Interactions.Counted != 0 || len(st.Interactions.Filtered) != 0 {
		t.Errorf("outbox %+v, interactions %+v; want 2 pending, none stored", st.Outbox, st.Interactions)
	}
	if st.Config.StaleAfter != "1h0m0s" || st.Config.Accounts != 2 || st.Config.Customers != 1 {
		t.Errorf("config %+v", st.Config)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// listenSocket replaces a stale socket, refuses a live one or a non-socket,
// creates the folder and sets the mode.
func TestListenSocket(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		prepare func(path string) (cleanup func())
		wantErr string
	}{
		{"fresh in a new folder", func(string) func() { return func() {} }, ""},
		{"stale socket", func(path string) func() {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			l.(*net.UnixListener).SetUnlinkOnClose(false)
			l.Close()
			return func() {}
		}, ""},
		{"live socket", func(path string) func() {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			return func() { l.Close() }
		}, "another daemon is running"},
		{"regular file", func(path string) func() {
			os.WriteFile(path, nil, 0o600)
			return func() {}
		}, "not a socket"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, string(rune('a'+i)), "tb.sock")
			os.MkdirAll(filepath.Dir(path), 0o755)
			if i == 0 {
				os.Remove(filepath.Dir(path))
			}
			defer tc.prepare(path)()
			l, err := listenSocket(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("listenSocket = %v, want error %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != socketMode || fi.Mode()&os.ModeSocket == 0 {
				t.Fatalf("socket %v, %v; want a socket with mode %o", fi, err, socketMode)
			}
			go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") }))
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatalf("dial the new socket: %v", err)
			}
			c.Close()
		})
	}
}

// The dashboard takes the token once as ?token=, turns it into an HttpOnly,
// SameSite=Strict cookie and redirects without it; the cookie then passes,
// on dashboard paths only.
func TestDashboardTokenCookie(t *testing.T) {
	d := newTokenDaemon(t, "0.0.0.0:9464")
	h := d.authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("page " + r.URL.RequestURI()))
	}))
	get := func(target string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := get("/dashboard/?state=slipped&token="+testToken+"&q=ac", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/dashboard/?q=ac&state=slipped" {
		t.Fatalf("GET with the token: %d to %q, want 303 to /dashboard/?q=ac&state=slipped", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("GET with the token set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if c.Name != "touchbase_token" || c.Value != testToken || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/dashboard" {
		t.Errorf("cookie = %+v, want touchbase_token, HttpOnly, SameSite=Strict, Path=/dashboard", c)
	}

	wrong := &http.Cookie{Name: "touchbase_token", Value: "wrong"}
	tests := []struct {
		name, target string
		cookie       *http.Cookie
		want         int
	}{
		{"cookie on the overview", "/dashboard/", c, 200},
		{"cookie on a customer", "/dashboard/customers/acme", c, 200},
		{"cookie on an asset", "/dashboard/assets/dashboard.css", c, 200},
		{"no cookie", "/dashboard/", nil, 401},
		{"wrong cookie", "/dashboard/alerts", wrong, 401},
		{"wrong token in the URL", "/dashboard/?token=wrong", nil, 401},
		{"cookie off the dashboard", "/v1/status", c, 401},
		{"token in the URL off the dashboard", "/v1/status?token=" + testToken, nil, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(tc.target, tc.cookie)
			if rec.Code != tc.want {
				t.Errorf("GET %s: %d %s, want %d", tc.target, rec.Code, rec.Body, tc.want)
			}
			if rec.Code == 401 && len(rec.Result().Cookies()) > 0 {
				t.Errorf("GET %s refused but set a cookie", tc.target)
			}
		})
	}

	// The bearer header works on the dashboard too.
	if got, _ := serve(h, "/dashboard/", "Bearer "+testToken); got != 200 {
		t.Errorf("GET /dashboard/ with the bearer header: %d, want 200", got)
	}
}
