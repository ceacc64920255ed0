// Package oauth is Touchbase's OAuth 2.0 client for accounts with auth:
// oauth2: it signs an account in (`touchbase auth login`: the device
// authorization grant of RFC 8628, or for Google the authorization code
// grant with PKCE, RFC 7636, and a loopback redirect, RFC 8252), keeps the
// grant in data_dir/tokens/<account>.json (mode 0600 in a 0700 folder,
// replaced atomically), hands sources a fresh access token, refreshing it
// before it expires and keeping a rotated refresh token, and revokes the
// grant at sign-out (RFC 7009) where the provider can.
//
// Tokens never appear in logs, errors or the store: errors name the
// account, the provider's error code and what to do.
package oauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/touchbase/touchbase/config"
)

// refreshMargin is how long before its expiry an access token is renewed:
// a sync pass started with it must not see it expire halfway.
const refreshMargin = 5 * time.Minute

// ErrNoToken: the account has not signed in (no token file).
var ErrNoToken = errors.New("not signed in")

// ErrGrant: the provider refused the grant (invalid_grant: revoked,
// expired, or the password changed); only a new sign-in helps.
var ErrGrant = errors.New("the sign-in is no longer valid")

// Client is one account's OAuth client and token source. It is safe for
// concurrent use; an account's IMAP and CalDAV sources share one.
type Client struct {
	account string
	o       config.OAuth
	hc      *http.Client
	now     func() time.Time

	mu       sync.Mutex
	cached   *tokenFile
	cachedAt fileStamp
	rejected string // an access token a server refused: refresh it
	failed   error  // the last refresh's invalid_grant ...
	failedRT string // ... for this refresh token, not asked again
}

// fileStamp tells whether the token file changed since it was read.
type fileStamp struct {
	mod  time.Time
	size int64
}

// New returns the client of acct, which must have OAuth settings.
func New(acct config.Account) (*Client, error) {
	if acct.OAuth == nil {
		return nil, fmt.Errorf("account %s does not use auth: oauth2", acct.Name)
	}
	return &Client{
		account: acct.Name, o: *acct.OAuth, now: time.Now,
		hc: &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// Account is the account's name.
func (c *Client) Account() string { return c.account }

// Provider is the configured provider (google, microsoft or custom).
func (c *Client) Provider() string { return c.o.Provider }

// TokenFile is where the grant is kept.
func (c *Client) TokenFile() string { return c.o.TokenFile }

// loginHint is the sentence every "sign in again" error ends with.
func (c *Client) loginHint() string {
	return "run `touchbase auth login " + c.account + "`"
}

// oauth2Config is the golang.org/x/oauth2 view of the settings. The client
// secret is read from its file each time, never kept.
func (c *Client) oauth2Config() (*oauth2.Config, error) {
	cfg := &oauth2.Config{
		ClientID: c.o.ClientID,
		Scopes:   c.o.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: c.o.AuthURL, DeviceAuthURL: c.o.DeviceAuthURL, TokenURL: c.o.TokenURL},
	}
	if !c.o.ClientSecret.IsZero() {
		s, err := c.o.ClientSecret.Value(context.Background())
		if err != nil {
			return nil, fmt.Errorf("client_secret_file of %s: %w", c.account, err)
		}
		cfg.ClientSecret = s
	}
	// Public clients (no secret) and Google take the client in the form;
	// others may want HTTP Basic, which auto-detection finds.
	if cfg.ClientSecret == "" || c.o.Provider == config.ProviderGoogle || c.o.Provider == config.ProviderMicrosoft {
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return cfg, nil
}

// ctx adds the client's HTTP client for golang.org/x/oauth2.
func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.hc)
}

// Token returns a valid access token, refreshing the grant when the token
// expires within refreshMargin or a server refused it (Expire). A rotated
// refresh token is written back before Token returns. Errors wrap
// ErrNoToken (not signed in, or signed in for another client) or ErrGrant
// (the provider refused the refresh token); both say to run `touchbase
// auth login`. After ErrGrant the provider is not asked again until the
// token file changes.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := c.load()
	if err != nil {
		return "", err
	}
	if c.usable(f) {
		return f.AccessToken, nil
	}
	if c.failed != nil && c.failedRT == f.RefreshToken {
		return "", c.failed
	}
	unlock, err := lockTokenFile(ctx, c.o.TokenFile)
	if err != nil {
		return "", fmt.Errorf("oauth token of %s: %w", c.account, err)
	}
	defer unlock()
	// Another process (the daemon, `run --once`) may have refreshed it.
	if f, err = c.load(); err != nil {
		return "", err
	}
	if c.usable(f) {
		return f.AccessToken, nil
	}
	nf, err := c.refresh(ctx, f)
	if err != nil {
		if errors.Is(err, ErrGrant) {
			c.failed, c.failedRT = err, f.RefreshToken
		}
		return "", err
	}
	if err := writeTokenFile(c.o.TokenFile, nf); err != nil {
		return "", fmt.Errorf("oauth token of %s: %w", c.account, err)
	}
	c.cached, c.cachedAt, c.rejected = nil, fileStamp{}, ""
	return nf.AccessToken, nil
}

// Expire marks token as refused by a server (an IMAP AUTHENTICATE or an
// HTTP 401 failed with it): the next Token refreshes the grant even if the
// token has not expired yet.
func (c *Client) Expire(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rejected = token
}

// usable reports whether f's access token can be used for refreshMargin
// more (or half its lifetime, for tokens that live less than twice the
// margin). A token without expiry counts as valid until a server refuses
// it.
func (c *Client) usable(f *tokenFile) bool {
	if f.AccessToken == "" || f.AccessToken == c.rejected {
		return false
	}
	if f.Expiry.IsZero() {
		return true
	}
	margin := refreshMargin
	if issued := cmp.Or(f.RefreshedAt, f.SignedInAt); !issued.IsZero() {
		margin = min(margin, f.Expiry.Sub(issued)/2)
	}
	return c.now().Add(margin).Before(f.Expiry)
}

// load reads the token file, or returns the copy read before when the
// file has not changed since.
func (c *Client) load() (*tokenFile, error) {
	fi, err := os.Stat(c.o.TokenFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("oauth token of %s: %w (no %s): %s", c.account, ErrNoToken, c.o.TokenFile, c.loginHint())
	}
	if err != nil {
		return nil, fmt.Errorf("oauth token of %s: %w", c.account, err)
	}
	stamp := fileStamp{mod: fi.ModTime(), size: fi.Size()}
	if c.cached != nil && stamp == c.cachedAt {
		return c.cached, nil
	}
	f, err := readTokenFile(c.o.TokenFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("oauth token of %s: %w (no %s): %s", c.account, ErrNoToken, c.o.TokenFile, c.loginHint())
	}
	if err != nil {
		return nil, fmt.Errorf("oauth token of %s: %w", c.account, err)
	}
	if f.ClientID != c.o.ClientID || f.TokenURL != c.o.TokenURL {
		return nil, fmt.Errorf("oauth token of %s: %w for this client: the token was issued to another client_id or token_url: %s", c.account, ErrNoToken, c.loginHint())
	}
	c.cached, c.cachedAt = f, stamp
	return f, nil
}

// refresh redeems f's refresh token (RFC 6749 section 6).
func (c *Client) refresh(ctx context.Context, f *tokenFile) (*tokenFile, error) {
	if f.RefreshToken == "" {
		return nil, fmt.Errorf("oauth token of %s: %w: the access token expired and the provider gave no refresh token (for Microsoft, offline_access must be among the scopes): %s",
			c.account, ErrGrant, c.loginHint())
	}
	cfg, err := c.oauth2Config()
	if err != nil {
		return nil, err
	}
	tok, err := cfg.TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: f.RefreshToken}).Token()
	if err != nil {
		return nil, c.tokenError("refresh oauth token", err)
	}
	nf := *f
	nf.AccessToken, nf.TokenType, nf.Expiry = tok.AccessToken, tok.TokenType, tok.Expiry
	nf.RefreshToken = cmp.Or(tok.RefreshToken, f.RefreshToken)
	if s := grantedScopes(tok); s != nil {
		nf.Scopes = s
	}
	nf.RefreshedAt = c.now().UTC()
	return &nf, nil
}

// tokenError turns a token endpoint failure into an error that names the
// account, the endpoint's host and the OAuth error code, never a token.
func (c *Client) tokenError(what string, err error) error {
	host := c.o.TokenURL
	if u, perr := url.Parse(c.o.TokenURL); perr == nil {
		host = u.Host
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named already
		}
		return fmt.Errorf("%s of %s at %s: %w", what, c.account, host, err)
	}
	desc := ""
	if re.ErrorDescription != "" {
		desc = " (" + oneLine(re.ErrorDescription) + ")"
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	switch re.ErrorCode {
	case "invalid_grant":
		return fmt.Errorf("%s of %s at %s: %w: the provider answered invalid_grant%s (revoked, expired or the password changed): %s",
			what, c.account, host, ErrGrant, desc, c.loginHint())
	case "":
		return fmt.Errorf("%s of %s at %s: HTTP %d", what, c.account, host, status)
	}
	return fmt.Errorf("%s of %s at %s: %s%s (HTTP %d)", what, c.account, host, re.ErrorCode, desc, status)
}

// grantedScopes are the scopes a token response names, nil when it names
// none (the requested ones were granted then, RFC 6749 section 5.1).
func grantedScopes(tok *oauth2.Token) []string {
	s, _ := tok.Extra("scope").(string)
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// oneLine folds a provider's message to one short line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Status is what `touchbase auth status` shows of one account's grant.
type Status struct {
	Account  string `json:"account"`
	Provider string `json:"provider"`
	File     string `json:"token_file"`
	// SignedIn is false when there is no token file (or it belongs to
	// another client: Problem says so).
	SignedIn bool     `json:"signed_in"`
	Scopes   []string `json:"scopes"`
	// MissingScopes are configured scopes the grant lacks: sign in again.
	MissingScopes []string   `json:"missing_scopes"`
	Refreshable   bool       `json:"refreshable"`         // a refresh token is kept
	Expiry        *time.Time `json:"access_token_expiry"` // nil: none known
	SignedInAt    *time.Time `json:"signed_in_at"`        // nil when not signed in
	RefreshedAt   *time.Time `json:"refreshed_at"`        // nil: never refreshed
	Problem       string     `json:"problem,omitempty"`   // why the grant cannot be used
}

// Status reads the token file; it does not contact the provider.
func (c *Client) Status() Status {
	st := Status{Account: c.account, Provider: c.o.Provider, File: c.o.TokenFile, Scopes: []string{}, MissingScopes: []string{}}
	f, err := readTokenFile(c.o.TokenFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.Problem = "not signed in: " + c.loginHint()
		return st
	case err != nil:
		st.Problem = err.Error()
		return st
	case f.ClientID != c.o.ClientID || f.TokenURL != c.o.TokenURL:
		st.Problem = "issued to another client_id or token_url: " + c.loginHint()
		return st
	}
	st.SignedIn = true
	st.Scopes = append(st.Scopes, f.Scopes...)
	for _, s := range c.o.Scopes {
		if len(f.Scopes) > 0 && !slices.Contains(f.Scopes, s) && s != "offline_access" {
			st.MissingScopes = append(st.MissingScopes, s)
		}
	}
	if len(st.MissingScopes) > 0 {
		st.Problem = "scopes missing from the grant: " + c.loginHint()
	}
	st.Refreshable = f.RefreshToken != ""
	if !st.Refreshable && !f.Expiry.IsZero() && c.now().After(f.Expiry) {
		st.Problem = "expired and not refreshable: " + c.loginHint()
	}
	st.Expiry = timePtr(f.Expiry)
	st.SignedInAt = timePtr(f.SignedInAt)
	st.RefreshedAt = timePtr(f.RefreshedAt)
	return st
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
