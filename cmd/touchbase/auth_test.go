package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/touchbase/touchbase/internal/oauthtest"
)

// oauthIMAP starts an IMAP server for anna@example.test that takes only
// OAUTHBEARER with an access token the authorization server issued, and
// holds one mail from a customer.
func oauthIMAP(t *testing.T, valid func(string) bool) string {
	t.Helper()
	user := imapmemserver.NewUser("anna@example.test", "")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-24 * time.Hour)
	raw := "Message-ID: <q1@acme.test>\r\nDate: " + at.Format(time.RFC1123Z) +
		"\r\nFrom: Ann <ann@acme.test>\r\nTo: anna@example.test\r\nSubject: Quote\r\n\r\nHello\r\n"
	if _, err := user.Append("INBOX", strings.NewReader(raw), &imap.AppendOptions{Time: at}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &bearerSession{user: user, valid: valid}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type bearerSession struct {
	*imapmemserver.UserSession
	user  *imapmemserver.User
	valid func(string) bool
}

func (s *bearerSession) Login(string, string) error { return imapserver.ErrAuthFailed }

func (s *bearerSession) AuthenticateMechanisms() []string { return []string{sasl.OAuthBearer} }

func (s *bearerSession) Authenticate(mech string) (sasl.Server, error) {
	return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
		if o.Username != "anna@example.test" || !s.valid(o.Token) {
			return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
		}
		s.UserSession = imapmemserver.NewUserSession(s.user)
		return nil
	}), nil
}

// TestAuthGoogleToSync takes a Google-type account, its endpoints pointed
// at a local authorization server, from `touchbase auth login` (the
// browser flow, the test playing the browser) to synced mail with `run
// --once`; checks `auth status`; makes the grant revoked, which fails the
// source with the command to run; and signs out, revoking the grant. No
// access or refresh token may appear in any output, log or the store.
func TestAuthGoogleToSync(t *testing.T) {
	as := oauthtest.New(t, "touchbase-test.apps.googleusercontent.com")
	as.ClientSecret = "GOCSPX-test-secret"
	as.Scope = "https://mail.google.com/"
	addr := oauthIMAP(t, as.Valid)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "client.secret"), []byte(as.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "touchbase.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: data
listen: {socket: tb.sock}
internal_domains: [example.test]
accounts:
  - name: anna
    email: anna@example.test
    imap:
      addr: %s
      tls: none
      folders: [INBOX]
      auth: oauth2
      provider: google
      client_id: %s
      client_secret_file: client.secret
      auth_url: %[3]s/authorize
      token_url: %[3]s/token
      revoke_url: %[3]s/revoke
customers:
  - id: acme
    domains: [acme.test]
`, addr, as.ClientID, as.URL)), 0o600)
	var outputs []string // everything printed, to check for tokens

	// Before signing in: the source fails, saying what to run.
	code, out, errOut := runCLI(t, "run", "--once", "--config", cfg)
	outputs = append(outputs, out, errOut)
	if code != 1 || !strings.Contains(errOut, "run `touchbase auth login anna`") {
		t.Fatalf("run --once before login: exit %d, stderr %s", code, errOut)
	}

	// Sign in, the test playing the browser.
	pr, pw := io.Pipe()
	loginOut := &lockedBuffer{}
	browsed := make(chan error, 1)
	go func() {
		status, err := as.Browse(io.TeeReader(pr, loginOut))
		if err == nil && status != 200 {
			err = fmt.Errorf("loopback answered %d", status)
		}
		browsed <- err
	}()
	var loginErr bytes.Buffer
	code = run(t.Context(), []string{"auth", "login", "anna", "--config", cfg}, pw, &loginErr)
	pw.Close()
	if err := <-browsed; err != nil {
		t.Fatalf("browser: %v", err)
	}
	if code != 0 {
		t.Fatalf("auth login: exit %d: %s", code, loginErr.String())
	}
	outputs = append(outputs, loginOut.String(), loginErr.String())
	if !strings.Contains(loginOut.String(), "Signed in anna (google)") {
		t.Errorf("auth login printed:\n%s", loginOut.String())
	}
	tokenFile := filepath.Join(dir, "data", "tokens", "anna.json")
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v", err)
	}

	code, out, errOut = runCLI(t, "auth", "status", "--json", "--config", cfg)
	outputs = append(outputs, out, errOut)
	var sts []struct {
		Account  string   `json:"account"`
		SignedIn bool     `json:"signed_in"`
		Scopes   []string `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(out), &sts); code != 0 || err != nil || len(sts) != 1 || !sts[0].SignedIn || sts[0].Scopes[0] != "https://mail.google.com/" {
		t.Errorf("auth status --json: exit %d, %v:\n%s", code, err, out)
	}

	// Synced with the token, and again after it expired (refreshed).
	code, out, errOut = runCLI(t, "run", "--once", "--config", cfg)
	outputs = append(outputs, out, errOut)
	if code != 0 || !strings.Contains(out, "Sources: 1 synced, 0 failed. Stored 1 mail") {
		t.Fatalf("run --once: exit %d\n%s\n%s", code, out, errOut)
	}
	// The server refuses the token before its expiry (revoked): the login
	// is retried with a refreshed one.
	as.ExpireAll()
	code, out, errOut = runCLI(t, "run", "--once", "--config", cfg)
	outputs = append(outputs, out, errOut)
	if code != 0 || !strings.Contains(out, "Sources: 1 synced, 0 failed") {
		t.Errorf("run --once with a refused token: exit %d\n%s\n%s", code, out, errOut)
	}

	// A revoked grant: the source fails with the command to run.
	as.RevokeAll()
	as.ExpireAll()
	code, out, errOut = runCLI(t, "run", "--once", "--config", cfg)
	outputs = append(outputs, out, errOut)
	if code != 1 || !strings.Contains(errOut, "invalid_grant") || !strings.Contains(errOut, "run `touchbase auth login anna`") ||
		!strings.Contains(out, "1 failed (imap:anna)") {
		t.Errorf("run --once with a revoked grant: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "auth", "logout", "anna", "--config", cfg)
	outputs = append(outputs, out, errOut)
	if code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("auth logout: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file after logout: %v", err)
	}

	store, _ := os.ReadFile(filepath.Join(dir, "data", "touchbase.db"))
	wal, _ := os.ReadFile(filepath.Join(dir, "data", "touchbase.db-wal"))
	if len(store) == 0 {
		t.Fatal("no store was written")
	}
	tokens := as.Tokens()
	if len(tokens) < 3 { // the sign-in's access and refresh token, one refreshed access token
		t.Fatalf("the server issued %d tokens, want at least 3", len(tokens))
	}
	for _, tok := range tokens {
		for i, o := range outputs {
			if strings.Contains(o, tok) {
				t.Errorf("output %d holds a token:\n%s", i, o)
			}
		}
		if bytes.Contains(store, []byte(tok)) || bytes.Contains(wal, []byte(tok)) {
			t.Error("the store holds a token")
		}
	}
}
