package oauth

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/touchbase/touchbase/config"
)

// browserTimeout bounds a browser sign-in: the device flow has the
// provider's own expiry (Microsoft: 15 minutes).
const browserTimeout = 15 * time.Minute

// Login signs the account in with its flow, telling the user on out what
// to do, and stores the grant (replacing an earlier one). The browser flow
// also reads out the address the browser was sent to, pasted on in (when
// the browser runs on another machine); in may be nil. Login returns the
// new grant's status.
func (c *Client) Login(ctx context.Context, out io.Writer, in io.Reader) (Status, error) {
	cfg, err := c.oauth2Config()
	if err != nil {
		return Status{}, err
	}
	var tok *oauth2.Token
	switch c.o.Flow {
	case config.FlowDevice:
		tok, err = c.deviceLogin(c.ctx(ctx), cfg, out)
	default:
		tok, err = c.browserLogin(c.ctx(ctx), cfg, out, in)
	}
	if err != nil {
		return Status{}, err
	}
	now := c.now().UTC()
	f := &tokenFile{
		Account: c.account, Provider: c.o.Provider, ClientID: c.o.ClientID, TokenURL: c.o.TokenURL,
		Scopes:      grantedScopes(tok),
		AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry,
		SignedInAt: now,
	}
	if f.Scopes == nil {
		f.Scopes = c.o.Scopes
	}
	unlock, err := lockTokenFile(ctx, c.o.TokenFile)
	if err != nil {
		return Status{}, err
	}
	defer unlock()
	if err := writeTokenFile(c.o.TokenFile, f); err != nil {
		return Status{}, err
	}
	c.mu.Lock()
	c.cached, c.failed, c.rejected = nil, nil, ""
	c.mu.Unlock()
	return c.Status(), nil
}

// deviceLogin runs the device authorization grant (RFC 8628): it prints
// the verification URL and user code, then polls the token endpoint at
// the interval the provider asks for, slower after each slow_down, until
// the user has approved or the code expires.
func (c *Client) deviceLogin(ctx context.Context, cfg *oauth2.Config, out io.Writer) (*oauth2.Token, error) {
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, c.loginError("start device sign-in", err)
	}
	fmt.Fprintf(out, "To sign in %s (%s), open\n\n    %s\n\nand enter the code\n\n    %s\n\n", c.account, c.o.Provider, da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "(or open %s, which holds the code)\n", da.VerificationURIComplete)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(out, "Waiting for the sign-in; the code expires at %s.\n", da.Expiry.Local().Format("15:04:05"))
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil, fmt.Errorf("sign in %s: the code expired before the sign-in was approved: run `touchbase auth login %s` again", c.account, c.account)
	}
	return nil, c.loginError("sign in", err)
}

// loginError explains a failed sign-in step by the provider's error code.
func (c *Client) loginError(what string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "access_denied", "authorization_declined":
			return fmt.Errorf("%s %s: the sign-in was declined", what, c.account)
		case "expired_token":
			return fmt.Errorf("%s %s: the code expired before the sign-in was approved: run `touchbase auth login %s` again", what, c.account, c.account)
		}
	}
	return c.tokenError(what, err)
}

// browserLogin runs the authorization code grant with PKCE (RFC 7636) and
// a loopback redirect (RFC 8252 section 7.3): it listens on 127.0.0.1 on
// a free port, prints the authorization URL, and takes the code from the
// browser's redirect, or from the redirect's address pasted on in when the
// browser runs on another machine (it then shows an error page for
// 127.0.0.1, whose address holds the code).
func (c *Client) browserLogin(ctx context.Context, cfg *oauth2.Config, out io.Writer, in io.Reader) (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sign in %s: listen for the browser's redirect: %w", c.account, err)
	}
	cfg.RedirectURL = "http://" + ln.Addr().String() + "/"
	state := randomString()
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if c.o.Provider == config.ProviderGoogle {
		// Offline access and the consent screen make Google return a
		// refresh token on every sign-in, not only the first one.
		opts = append(opts, oauth2.AccessTypeOffline, oauth2.ApprovalForce)
	}
	fmt.Fprintf(out, "To sign in %s (%s), open this address in a browser:\n\n    %s\n\n", c.account, c.o.Provider, cfg.AuthCodeURL(state, opts...))
	fmt.Fprintf(out, "Waiting for the browser to come back to %s.\nIf the browser runs on another machine, it ends on a page that cannot be reached:\ncopy that page's address from the address bar and paste it here.\n", cfg.RedirectURL)

	codes := make(chan codeResult, 2)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := parseRedirect(r.URL.Query(), state)
		if res.err != nil {
			http.Error(w, "Touchbase sign-in failed: "+res.err.Error(), http.StatusBadRequest)
		} else {
			fmt.Fprintln(w, "Touchbase is signed in. You can close this tab.")
		}
		codes <- res
	})}
	go srv.Serve(ln)
	defer func() {
		// Shutdown, not Close: the browser's page must still be sent.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if in != nil {
		go readPasted(ctx, in, state, codes)
	}
	var res codeResult
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("sign in %s: no answer from the browser: %w", c.account, ctx.Err())
	case res = <-codes:
	}
	if res.err != nil {
		return nil, fmt.Errorf("sign in %s: %w", c.account, res.err)
	}
	tok, err := cfg.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, c.loginError("sign in", err)
	}
	return tok, nil
}

type codeResult struct {
	code string
	err  error
}

// parseRedirect reads the authorization response (RFC 6749 section
// 4.1.2): the code, or the provider's error, and the state it must echo.
func parseRedirect(q url.Values, state string) codeResult {
	switch {
	case q.Get("error") == "access_denied":
		return codeResult{err: errors.New("the sign-in was declined")}
	case q.Get("error") != "":
		return codeResult{err: fmt.Errorf("the provider answered %s", oneLine(q.Get("error")))}
	case q.Get("state") != state:
		return codeResult{err: errors.New("the answer belongs to another sign-in (state differs)")}
	case q.Get("code") == "":
		return codeResult{err: errors.New("the answer holds no code")}
	}
	return codeResult{code: q.Get("code")}
}

// readPasted takes redirect addresses pasted on in; lines that are not one
// are ignored, so a stray Enter does no harm.
func readPasted(ctx context.Context, in io.Reader, state string, codes chan<- codeResult) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		u, err := url.Parse(strings.TrimSpace(sc.Text()))
		if err != nil || u.RawQuery == "" {
			continue
		}
		select {
		case codes <- parseRedirect(u.Query(), state):
		case <-ctx.Done():
		}
		return
	}
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Logout revokes the grant at the provider's revocation endpoint (RFC
// 7009), where it has one, then deletes the token file. It reports whether
// the grant was revoked; without a revocation endpoint (Microsoft) the
// refresh token stays valid at the provider until it expires. A failed
// revocation keeps the file, so that it can be tried again; local deletes
// the file without revoking.
func (c *Client) Logout(ctx context.Context, local bool) (revoked bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := readTokenFile(c.o.TokenFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("sign out %s: %w (no %s)", c.account, ErrNoToken, c.o.TokenFile)
		}
		return false, fmt.Errorf("sign out %s: %w", c.account, err)
	}
	if !local && c.o.RevokeURL != "" {
		if err := c.revoke(ctx, f); err != nil {
			return false, err
		}
		revoked = true
	}
	c.cached = nil
	return revoked, removeTokenFile(c.o.TokenFile)
}

// revoke asks the provider to revoke the refresh token (and with it the
// grant), or the access token when there is no refresh token. An answer
// of invalid_token means it is no longer valid: that is revoked too.
func (c *Client) revoke(ctx context.Context, f *tokenFile) error {
	host := c.o.RevokeURL
	if u, err := url.Parse(c.o.RevokeURL); err == nil {
		host = u.Host
	}
	form := url.Values{"token": {f.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {c.o.ClientID}}
	if f.RefreshToken == "" {
		form.Set("token", f.AccessToken)
		form.Set("token_type_hint", "access_token")
	}
	cfg, err := c.oauth2Config()
	if err != nil {
		return err
	}
	if cfg.ClientSecret != "" {
		form.Set("client_secret", cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.o.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke the grant of %s: %w", c.account, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("revoke the grant of %s at %s: %w (the token is kept; --local deletes it without revoking)", c.account, host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 || (resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "invalid_token")) {
		return nil
	}
	return fmt.Errorf("revoke the grant of %s at %s: HTTP %d (the token is kept; --local deletes it without revoking)", c.account, host, resp.StatusCode)
}
