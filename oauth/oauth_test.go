package oauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/oauthtest"
)

// newClient returns a client of account anna for the test server, with
// its token file in a temporary data dir.
func newClient(t *testing.T, s *oauthtest.Server, flow string) *Client {
	t.Helper()
	c, err := New(config.Account{Name: "anna", Email: "anna@example.test", OAuth: &config.OAuth{
		Provider: config.ProviderCustom, ClientID: s.ClientID, Scopes: []string{"mail", "calendar"}, Flow: flow,
		AuthURL: s.URL + oauthtest.AuthorizePath, DeviceAuthURL: s.URL + oauthtest.DevicePath,
		TokenURL: s.URL + oauthtest.TokenPath, RevokeURL: s.URL + oauthtest.RevokePath,
		TokenFile: filepath.Join(t.TempDir(), "tokens", "anna.json"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handlerTransport serves requests from a handler in memory: inside a
// synctest bubble the fake clock then drives the device flow's polling.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// noLeak fails when a token the server issued appears in text.
func noLeak(t *testing.T, s *oauthtest.Server, what, text string) {
	t.Helper()
	for _, tok := range s.Tokens() {
		if strings.Contains(text, tok) {
			t.Errorf("%s holds a token: %q", what, text)
		}
	}
}

// TestDeviceLogin runs the device grant against scripted poll answers, on
// a fake clock: polls come every interval, 5 s slower after each
// slow_down (RFC 8628 section 3.5), and refusals end the flow without a
// token file.
func TestDeviceLogin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string
		gaps    []time.Duration // between polls
		wantErr string
	}{
		{"approved after pending", []string{"authorization_pending", "authorization_pending"}, []time.Duration{time.Second, time.Second}, ""},
		{"slow down", []string{"slow_down", "authorization_pending"}, []time.Duration{6 * time.Second, 6 * time.Second}, ""},
		{"declined", []string{"authorization_pending", "access_denied"}, []time.Duration{time.Second}, "declined"},
		{"code expired", []string{"expired_token"}, nil, "code expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := oauthtest.New(t, "touchbase")
			s.DeviceAnswers = tc.answers
			c := newClient(t, s, config.FlowDevice)
			synctest.Test(t, func(t *testing.T) {
				c.hc = &http.Client{Transport: handlerTransport{s.Handler()}}
				var out strings.Builder
				st, err := c.Login(t.Context(), &out, nil)
				if !strings.Contains(out.String(), "WDJB-MJHT") || !strings.Contains(out.String(), s.URL+"/activate") {
					t.Errorf("instructions lack the code or URL:\n%s", out.String())
				}
				noLeak(t, s, "output", out.String())
				polls := s.Polls()
				var gaps []time.Duration
				for i := 1; i < len(polls); i++ {
					gaps = append(gaps, polls[i].Sub(polls[i-1]))
				}
				if !slices.Equal(gaps, tc.gaps) {
					t.Errorf("gaps between polls = %v, want %v", gaps, tc.gaps)
				}
				_, statErr := os.Stat(c.TokenFile())
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("Login error = %v, want %q", err, tc.wantErr)
					}
					if statErr == nil {
						t.Error("a refused sign-in left a token file")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !st.SignedIn || !st.Refreshable || !slices.Equal(st.Scopes, []string{"mail", "calendar"}) {
					t.Errorf("status after login = %+v", st)
				}
			})
		})
	}
}

// TestDeviceCodeExpires: when the device code's lifetime passes while the
// user has not approved, the sign-in ends with a clear message.
func TestDeviceCodeExpires(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	s.DeviceAnswers = slices.Repeat([]string{"authorization_pending"}, 10000)
	c := newClient(t, s, config.FlowDevice)
	synctest.Test(t, func(t *testing.T) {
		c.hc = &http.Client{Transport: handlerTransport{s.Handler()}}
		_, err := c.Login(t.Context(), io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "code expired") {
			t.Fatalf("Login = %v, want the code expired", err)
		}
		if n := len(s.Polls()); n < 800 || n > 900 {
			t.Errorf("%d polls in the code's 900 s at 1 s, want about 900", n)
		}
	})
}

// TestBrowserLogin signs in with the authorization code grant, PKCE and a
// loopback redirect; the test server checks the verifier and redirect.
func TestBrowserLogin(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	s.ClientSecret = "client-secret"
	c := newClient(t, s, config.FlowBrowser)
	secret := filepath.Join(t.TempDir(), "client.secret")
	os.WriteFile(secret, []byte("client-secret\n"), 0o600)
	c.o.ClientSecret = config.Secret{File: secret}
	pr, pw := io.Pipe()
	browsed := make(chan error, 1)
	go func() {
		code, err := s.Browse(pr)
		if err == nil && code != http.StatusOK {
			err = errors.New(http.StatusText(code))
		}
		browsed <- err
	}()
	st, err := c.Login(t.Context(), pw, nil)
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-browsed; err != nil {
		t.Errorf("browser: %v", err)
	}
	if !st.SignedIn || !st.Refreshable {
		t.Errorf("status = %+v", st)
	}
	fi, err := os.Stat(c.TokenFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(c.TokenFile()))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("token folder: %v, mode %v; want 0700", err, di.Mode().Perm())
	}
}

// TestBrowserLoginPasted: with the browser on another machine, the user
// pastes the address the browser could not reach.
func TestBrowserLoginPasted(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	c := newClient(t, s, config.FlowBrowser)
	pr, pw := io.Pipe()
	inR, inW := io.Pipe()
	go func() {
		// The "other machine's" browser: follow the authorization URL but
		// not the redirect, and paste where it points.
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		buf := make([]byte, 64<<10)
		var text string
		for !strings.Contains(text, "\n\n") || !strings.Contains(text, oauthtest.AuthorizePath) {
			n, err := pr.Read(buf)
			if err != nil {
				return
			}
			text += string(buf[:n])
		}
		go io.Copy(io.Discard, pr)
		for _, line := range strings.Split(text, "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, s.URL) {
				resp, err := hc.Get(line)
				if err != nil {
					return
				}
				resp.Body.Close()
				io.WriteString(inW, "\n"+resp.Header.Get("Location")+"\n")
			}
		}
	}()
	st, err := c.Login(t.Context(), pw, inR)
	if err != nil {
		t.Fatal(err)
	}
	if !st.SignedIn {
		t.Errorf("status = %+v", st)
	}
}

// login stores a grant for c through the device flow (one poll).
func login(t *testing.T, c *Client, s *oauthtest.Server) {
	t.Helper()
	c.o.Flow = config.FlowDevice
	if _, err := c.Login(t.Context(), io.Discard, nil); err != nil {
		t.Fatal(err)
	}
}

func countRefreshes(s *oauthtest.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r == oauthtest.TokenPath+" refresh_token" {
			n++
		}
	}
	return n
}

// TestToken: a valid token is used as is; one expiring within the margin,
// or refused by a server, is refreshed, and a rotated refresh token is
// written back.
func TestToken(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	s.Rotate = true
	c := newClient(t, s, config.FlowDevice)
	login(t, c, s)
	first := readFile(t, c)
	tok, err := c.Token(t.Context())
	if err != nil || tok != first.AccessToken || countRefreshes(s) != 0 {
		t.Fatalf("Token = %v; want the stored token without a refresh (%d refreshes)", err, countRefreshes(s))
	}
	// Expiring within the margin: refreshed and rotated.
	c.now = func() time.Time { return first.Expiry.Add(-refreshMargin + time.Second) }
	tok, err = c.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	second := readFile(t, c)
	if tok == first.AccessToken || tok != second.AccessToken || !s.Valid(tok) || countRefreshes(s) != 1 {
		t.Errorf("after expiry: token changed %t, stored %t, valid %t, refreshes %d", tok != first.AccessToken, tok == second.AccessToken, s.Valid(tok), countRefreshes(s))
	}
	if second.RefreshToken == first.RefreshToken || !s.RefreshValid(second.RefreshToken) || s.RefreshValid(first.RefreshToken) {
		t.Error("the rotated refresh token was not kept")
	}
	// Refused by a server: refreshed although not expired.
	c.now = time.Now
	c.Expire(tok)
	if tok2, err := c.Token(t.Context()); err != nil || tok2 == tok || countRefreshes(s) != 2 {
		t.Errorf("after Expire: %v, same token %t, refreshes %d", err, tok2 == tok, countRefreshes(s))
	}
}

func readFile(t *testing.T, c *Client) *tokenFile {
	t.Helper()
	f, err := readTokenFile(c.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTokenInvalidGrant: a revoked grant is ErrGrant with the command to
// run, the provider is not asked again until the token file changes, and
// a new sign-in heals it.
func TestTokenInvalidGrant(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	c := newClient(t, s, config.FlowDevice)
	login(t, c, s)
	s.RevokeAll()
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	_, err := c.Token(t.Context())
	if !errors.Is(err, ErrGrant) || !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "run `touchbase auth login anna`") {
		t.Fatalf("Token = %v, want ErrGrant naming invalid_grant and the command", err)
	}
	noLeak(t, s, "error", err.Error())
	if _, err2 := c.Token(t.Context()); !errors.Is(err2, ErrGrant) || countRefreshes(s) != 1 {
		t.Errorf("second Token = %v after %d refreshes, want the same error without asking again", err2, countRefreshes(s))
	}
	c.now = time.Now
	login(t, c, s)
	if _, err := c.Token(t.Context()); err != nil {
		t.Errorf("after a new sign-in: %v", err)
	}
}

// TestTokenMissing: no token file, or one issued to another client, is
// ErrNoToken saying what to run.
func TestTokenMissing(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	c := newClient(t, s, config.FlowDevice)
	if _, err := c.Token(t.Context()); !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "touchbase auth login anna") {
		t.Errorf("Token without a file = %v", err)
	}
	login(t, c, s)
	c.o.ClientID = "another-client"
	c.cached = nil
	if _, err := c.Token(t.Context()); !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "another client_id") {
		t.Errorf("Token for another client = %v", err)
	}
	if st := c.Status(); st.SignedIn || st.Problem == "" {
		t.Errorf("Status for another client = %+v", st)
	}
}

// TestTokenOneRefresh: clients in several processes (here: two clients on
// one file) refresh a grant once, so a rotating provider never sees an old
// refresh token twice.
func TestTokenOneRefresh(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	s.Rotate = true
	c1 := newClient(t, s, config.FlowDevice)
	s.ExpiresIn = 1 // expired by the time both ask
	login(t, c1, s)
	c2, _ := New(config.Account{Name: "anna", OAuth: &c1.o})
	s.Lock()
	s.ExpiresIn = 3600
	s.Unlock()
	later := func() time.Time { return time.Now().Add(2 * time.Second) }
	c1.now, c2.now = later, later
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*Client{c1, c2} {
		wg.Go(func() { _, errs[i] = c.Token(t.Context()) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || countRefreshes(s) != 1 {
		t.Errorf("errors %v, %d refreshes; want none and 1", errs, countRefreshes(s))
	}
}

// TestLogout revokes the refresh token (RFC 7009) and deletes the file;
// without a revocation endpoint it only deletes; a failed revocation keeps
// the file.
func TestLogout(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	c := newClient(t, s, config.FlowDevice)
	login(t, c, s)
	rt := readFile(t, c).RefreshToken
	if revoked, err := c.Logout(t.Context(), false); err != nil || !revoked {
		t.Fatalf("Logout = %t, %v", revoked, err)
	}
	if s.RefreshValid(rt) {
		t.Error("refresh token still valid after logout")
	}
	if _, err := os.Stat(c.TokenFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file after logout: %v", err)
	}
	if _, err := c.Logout(t.Context(), false); !errors.Is(err, ErrNoToken) {
		t.Errorf("second Logout = %v, want ErrNoToken", err)
	}

	login(t, c, s)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer broken.Close()
	c.o.RevokeURL = broken.URL
	if _, err := c.Logout(t.Context(), false); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("Logout with a failing endpoint = %v", err)
	}
	if _, err := os.Stat(c.TokenFile()); err != nil {
		t.Errorf("a failed revocation deleted the file: %v", err)
	}
	c.o.RevokeURL = ""
	if revoked, err := c.Logout(t.Context(), false); err != nil || revoked {
		t.Errorf("Logout without an endpoint = %t, %v; want deleted, not revoked", revoked, err)
	}
}

// TestTransport sends the bearer token; on a 401 it renews the token and
// sends the request (body included) once more.
func TestTransport(t *testing.T) {
	s := oauthtest.New(t, "touchbase")
	c := newClient(t, s, config.FlowDevice)
	login(t, c, s)
	var auths []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		if len(auths) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	hc := &http.Client{Transport: c.Transport(nil)}
	for range 2 {
		req, _ := http.NewRequestWithContext(context.Background(), "PROPFIND", api.URL, strings.NewReader("<propfind/>"))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200 after the retry", resp.StatusCode)
		}
		if req.Header.Get("Authorization") != "" {
			t.Error("the transport changed the caller's request")
		}
	}
	if len(auths) != 3 || !strings.HasPrefix(auths[0], "Bearer at-") || auths[0] == auths[1] || auths[1] != auths[2] || countRefreshes(s) != 1 {
		t.Errorf("Authorization headers %q after %d refreshes; want a refused token, then a renewed one twice", auths, countRefreshes(s))
	}
}
