package imapsource

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/oauthtest"
	"github.com/touchbase/touchbase/oauth"
)

// signedIn returns an OAuth client for account bob signed in at the test
// authorization server (device flow, approved at once).
func signedIn(t *testing.T, as *oauthtest.Server) *oauth.Client {
	t.Helper()
	c, err := oauth.New(config.Account{Name: "bob", OAuth: &config.OAuth{
		Provider: config.ProviderCustom, ClientID: as.ClientID, Scopes: []string{"mail"}, Flow: config.FlowDevice,
		DeviceAuthURL: as.URL + oauthtest.DevicePath, TokenURL: as.URL + oauthtest.TokenPath,
		TokenFile: filepath.Join(t.TempDir(), "tokens", "bob.json"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOAuth signs in to a server that checks access tokens with the
// authorization server, with whichever of OAUTHBEARER (RFC 7628) and
// XOAUTH2 it offers, and syncs; a revoked grant fails with the command to
// run, and neither token reaches the log or the error.
func TestOAuth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mechs   []string
		revoked bool
		wantErr string
	}{
		{"oauthbearer", []string{"PLAIN", "OAUTHBEARER"}, false, ""},
		{"xoauth2", []string{"PLAIN", "XOAUTH2"}, false, ""},
		{"both offered", []string{"XOAUTH2", "OAUTHBEARER"}, false, ""},
		{"neither offered", []string{"PLAIN"}, false, "neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2"},
		{"revoked grant", []string{"OAUTHBEARER"}, true, "run `touchbase auth login bob`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := oauthtest.New(t, "touchbase")
			tokens := signedIn(t, as)
			if tc.revoked {
				as.RevokeAll()
				as.ExpireAll()
				tokens.Expire(mustToken(t, tokens))
			}
			srv := newServer(t, serverOptions{specialUse: true, mechs: tc.mechs, token: as.Valid})
			now := time.Now()
			srv.add("INBOX", message("m1@acme.test", "ann@acme.test", testUser, "Quote", now), now)
			var logs bytes.Buffer
			log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logs), zap.DebugLevel))
			acct := config.Account{Name: "bob", Email: testUser, IMAP: &config.IMAP{
				Addr: srv.addr, TLS: config.TLSNone, Username: testUser, Auth: config.AuthOAuth2, Folders: []string{"INBOX"}}}
			_, st := newSource(t, srv.addr, nil)
			backfill, _ := cadence.ParseSpan("30d")
			src, err := New(acct, config.Sync{Backfill: backfill}, st, log, tokens)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			stats, err := src.Sync(t.Context())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("sync: %v", err)
			case tc.wantErr == "" && stats["stored"] != 1:
				t.Errorf("stored %d, want 1", stats["stored"])
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("sync: %v, want %q", err, tc.wantErr)
			}
			for _, tok := range as.Tokens() {
				if strings.Contains(logs.String(), tok) || (err != nil && strings.Contains(err.Error(), tok)) {
					t.Errorf("a token reached the log or the error")
				}
			}
		})
	}
}

func mustToken(t *testing.T, c *oauth.Client) string {
	t.Helper()
	tok, err := c.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
