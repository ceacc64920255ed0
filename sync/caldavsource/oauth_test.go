package caldavsource

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/oauthtest"
	"github.com/touchbase/touchbase/oauth"
)

// TestBearer syncs from a CalDAV server that takes only bearer tokens
// checked with the authorization server: every request carries one, an
// expired one is refreshed, a revoked grant fails with the command to run.
func TestBearer(t *testing.T) {
	as := oauthtest.New(t, "touchbase")
	srv := newMemServer(t, map[string]string{"alice": ""})
	srv.bearer = func(tok string) string {
		if as.Valid(tok) {
			return "alice"
		}
		return ""
	}
	work := srv.addCalendar("alice", "work", "Work", "VEVENT")
	at := testNow.AddDate(0, 0, 2)
	srv.put(t, work+"k.ics", vevent("kick@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "Kickoff",
		[]string{"ATTENDEE;PARTSTAT=ACCEPTED:mailto:dan@customer.example"}))

	acct := account(t, "alice", "alice@example.test", srv.URL, "alice", "")
	acct.CalDAV.Auth = config.AuthOAuth2
	acct.OAuth = &config.OAuth{Provider: config.ProviderCustom, ClientID: as.ClientID, Scopes: []string{"calendar"},
		Flow: config.FlowDevice, DeviceAuthURL: as.URL + oauthtest.DevicePath, TokenURL: as.URL + oauthtest.TokenPath,
		TokenFile: filepath.Join(t.TempDir(), "tokens", "alice.json")}
	tokens, err := oauth.New(acct)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Login(t.Context(), io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := New(acct, config.Sync{}, time.UTC, nil, nil); err == nil {
		t.Error("New without an oauth client succeeded")
	}
	st := openStore(t, t.TempDir())
	src, err := New(acct, config.Sync{Backfill: mustSpan(t, "365d"), Horizon: mustSpan(t, "180d")}, time.UTC, st, nil, tokens)
	if err != nil {
		t.Fatal(err)
	}
	src.now = func() time.Time { return testNow }
	syncOK(t, src)
	if m := meetings(t, st); len(m) != 1 {
		t.Fatalf("stored %v, want the kickoff", keys(m))
	}
	// The server refuses the token before its expiry: the request is
	// sent again with a renewed one.
	old, _ := tokens.Token(t.Context())
	as.ExpireAll()
	syncOK(t, src)
	if now, _ := tokens.Token(t.Context()); now == old {
		t.Error("the refused token was not renewed")
	}
	// A revoked grant: a source failure naming the command, no token.
	as.RevokeAll()
	as.ExpireAll()
	src.Sync(t.Context()) // the 401 expires the token
	_, err = src.Sync(t.Context())
	if err == nil || !strings.Contains(err.Error(), "run `touchbase auth login alice`") {
		t.Fatalf("sync with a revoked grant: %v", err)
	}
	for _, tok := range as.Tokens() {
		if strings.Contains(err.Error(), tok) {
			t.Errorf("the error holds a token: %v", err)
		}
	}
}
