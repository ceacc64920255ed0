package config

import (
	"cmp"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
)

// OAuth providers (an account's `provider` with auth: oauth2).
const (
	ProviderGoogle    = "google"
	ProviderMicrosoft = "microsoft"
	ProviderCustom    = "custom"
)

// Sign-in flows of `touchbase auth login`.
const (
	// FlowDevice is the OAuth 2.0 device authorization grant (RFC 8628):
	// a URL and a code to enter on any device.
	FlowDevice = "device"
	// FlowBrowser is the authorization code grant with PKCE (RFC 7636) and
	// a loopback redirect (RFC 8252). Google needs it: its device grant
	// refuses the Gmail and Calendar scopes (invalid_scope).
	FlowBrowser = "browser"
)

// OAuth is how an account signs in with OAuth 2.0. An account holds one
// grant for its imap and caldav blocks together, kept in TokenFile.
type OAuth struct {
	Provider     string // ProviderGoogle, ProviderMicrosoft or ProviderCustom
	ClientID     string
	ClientSecret Secret // a file; zero for a public client
	Tenant       string // Microsoft Entra tenant; "organizations" by default
	// Scopes are asked for at sign-in: those of every block with auth:
	// oauth2 (the provider's defaults for it, or its `scopes`).
	Scopes []string
	Flow   string // FlowDevice or FlowBrowser
	// Endpoints: the provider's, or the configured overrides. AuthURL is
	// empty for the device flow, DeviceAuthURL for the browser flow,
	// RevokeURL when the provider has no RFC 7009 revocation.
	AuthURL, DeviceAuthURL, TokenURL, RevokeURL string
	// TokenFile is data_dir/tokens/<account>.json.
	TokenFile string
}

// Provider defaults.
const (
	googleAuthURL    = "https://accounts.google.com/o/oauth2/v2/auth"
	googleTokenURL   = "https://oauth2.googleapis.com/token"
	googleRevokeURL  = "https://oauth2.googleapis.com/revoke"
	googleMailScope  = "https://mail.google.com/"
	googleCalScope   = "https://www.googleapis.com/auth/calendar.readonly"
	microsoftBase    = "https://login.microsoftonline.com/"
	microsoftTenant  = "organizations"
	microsoftIMAP    = "https://outlook.office.com/IMAP.AccessAsUser.All"
	microsoftOffline = "offline_access" // without it, no refresh token
)

// tokenNameRE is what an account name must look like to name its token file.
var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]*$`)

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)

// oauthBlock is one imap or caldav block's part in auth: oauth2.
type oauthBlock struct {
	key    string // accounts[i].imap or accounts[i].caldav
	raw    rawOAuth
	on     bool // auth: oauth2
	caldav bool
}

// oauth builds the account's OAuth settings from its blocks. The settings
// may be written on either block; when both carry one, they must agree.
func (b *builder) oauth(key string, r rawAccount, name, dataDir string) *OAuth {
	var blocks []oauthBlock
	if r.IMAP != nil {
		blocks = append(blocks, oauthBlock{key: key + ".imap", raw: r.IMAP.OAuth, on: r.IMAP.Auth == AuthOAuth2})
	}
	if r.CalDAV != nil {
		blocks = append(blocks, oauthBlock{key: key + ".caldav", raw: r.CalDAV.OAuth, on: r.CalDAV.Auth == AuthOAuth2, caldav: true})
	}
	var on []oauthBlock
	for _, bl := range blocks {
		if bl.on {
			on = append(on, bl)
		} else if k := firstOAuthKey(bl.raw); k != "" {
			b.p.add(bl.key+"."+k, "only used with auth: oauth2")
		}
	}
	if len(on) == 0 {
		return nil
	}
	if name != "" && !tokenNameRE.MatchString(name) {
		b.p.add(key+".name", "with auth: oauth2 the name also names the token file: use letters, digits and . _ @ + -")
	}
	m, where := b.mergeOAuth(on)
	o := &OAuth{
		Provider:  b.oneOf(where["provider"]+".provider", m.Provider, "", "provider", ProviderGoogle, ProviderMicrosoft, ProviderCustom),
		ClientID:  m.ClientID,
		TokenFile: filepath.Join(dataDir, "tokens", name+".json"),
	}
	if m.Provider == "" {
		b.p.add(on[0].key+".provider", "required with auth: oauth2 (google, microsoft or custom)")
	}
	if m.ClientID == "" {
		b.p.add(on[0].key+".client_id", "required with auth: oauth2")
	}
	if m.ClientSecretFile != "" {
		o.ClientSecret = Secret{File: b.path(m.ClientSecretFile)}
		b.checkSecretFile(where["client_secret_file"]+".client_secret_file", o.ClientSecret.File)
	}
	b.oauthProvider(o, m, where, on)
	for _, k := range []string{"auth_url", "device_auth_url", "token_url", "revoke_url"} {
		if v := oauthURL(m, k); v != "" {
			b.url(where[k]+"."+k, v)
		}
	}
	for _, bl := range on {
		for _, s := range b.blockScopes(o.Provider, bl) {
			if !slices.Contains(o.Scopes, s) {
				o.Scopes = append(o.Scopes, s)
			}
		}
	}
	return o
}

// oauthProvider fills in the provider's endpoints and flow, with the
// configured overrides, and checks what only some providers take.
func (b *builder) oauthProvider(o *OAuth, m rawOAuth, where map[string]string, on []oauthBlock) {
	if m.Tenant != "" && o.Provider != ProviderMicrosoft {
		b.p.add(where["tenant"]+".tenant", "only used with provider: microsoft")
	}
	switch o.Provider {
	case ProviderGoogle:
		o.Flow = FlowBrowser
		o.AuthURL = cmp.Or(m.AuthURL, googleAuthURL)
		o.TokenURL = cmp.Or(m.TokenURL, googleTokenURL)
		o.RevokeURL = cmp.Or(m.RevokeURL, googleRevokeURL)
		if m.DeviceAuthURL != "" {
			b.p.add(where["device_auth_url"]+".device_auth_url", "not used with provider: google: Google's device flow refuses the Gmail and Calendar scopes, so sign-in goes through the browser (auth_url)")
		}
		if m.ClientSecretFile == "" {
			b.p.add(on[0].key+".client_secret_file", "required with provider: google (the secret of the Desktop app client)")
		}
	case ProviderMicrosoft:
		o.Flow = FlowDevice
		o.Tenant = cmp.Or(m.Tenant, microsoftTenant)
		if !tenantRE.MatchString(o.Tenant) {
			b.p.add(where["tenant"]+".tenant", "invalid tenant %q: want a tenant id, a domain, organizations, common or consumers", o.Tenant)
		}
		o.DeviceAuthURL = cmp.Or(m.DeviceAuthURL, microsoftBase+o.Tenant+"/oauth2/v2.0/devicecode")
		o.TokenURL = cmp.Or(m.TokenURL, microsoftBase+o.Tenant+"/oauth2/v2.0/token")
		o.RevokeURL = m.RevokeURL // Microsoft has no RFC 7009 endpoint
		if m.AuthURL != "" {
			b.p.add(where["auth_url"]+".auth_url", "not used with provider: microsoft, which signs in with the device flow (device_auth_url)")
		}
		for _, bl := range on {
			if bl.caldav {
				b.p.add(bl.key+".auth", "provider microsoft has no CalDAV: Microsoft 365 and Outlook.com do not serve calendars over CalDAV")
			}
		}
	case ProviderCustom:
		o.AuthURL, o.DeviceAuthURL, o.TokenURL, o.RevokeURL = m.AuthURL, m.DeviceAuthURL, m.TokenURL, m.RevokeURL
		o.Flow = FlowDevice
		if m.DeviceAuthURL == "" {
			o.Flow = FlowBrowser
		}
		if m.TokenURL == "" {
			b.p.add(on[0].key+".token_url", "required with provider: custom")
		}
		if m.DeviceAuthURL == "" && m.AuthURL == "" {
			b.p.add(on[0].key+".device_auth_url", "provider custom needs device_auth_url (device flow) or auth_url (browser flow)")
		}
	}
}

// blockScopes are the scopes one block needs: its `scopes`, or the
// provider's defaults for mail or calendars.
func (b *builder) blockScopes(provider string, bl oauthBlock) []string {
	if len(bl.raw.Scopes) > 0 {
		return bl.raw.Scopes
	}
	switch {
	case provider == ProviderGoogle && bl.caldav:
		return []string{googleCalScope}
	case provider == ProviderGoogle:
		return []string{googleMailScope}
	case provider == ProviderMicrosoft && !bl.caldav:
		return []string{microsoftIMAP, microsoftOffline}
	case provider == ProviderCustom:
		b.p.add(bl.key+".scopes", "required with provider: custom")
	}
	return nil
}

// mergeOAuth merges the blocks' settings (scopes excepted: they are each
// block's own). where maps each key to the block it was taken from.
func (b *builder) mergeOAuth(on []oauthBlock) (rawOAuth, map[string]string) {
	var m rawOAuth
	where := map[string]string{}
	for _, bl := range on {
		for _, f := range []struct {
			key      string
			dst, src *string
		}{
			{"provider", &m.Provider, &bl.raw.Provider},
			{"client_id", &m.ClientID, &bl.raw.ClientID},
			{"client_secret_file", &m.ClientSecretFile, &bl.raw.ClientSecretFile},
			{"tenant", &m.Tenant, &bl.raw.Tenant},
			{"auth_url", &m.AuthURL, &bl.raw.AuthURL},
			{"device_auth_url", &m.DeviceAuthURL, &bl.raw.DeviceAuthURL},
			{"token_url", &m.TokenURL, &bl.raw.TokenURL},
			{"revoke_url", &m.RevokeURL, &bl.raw.RevokeURL},
		} {
			switch {
			case *f.src == "":
			case *f.dst == "":
				*f.dst, where[f.key] = *f.src, bl.key
			case *f.dst != *f.src:
				b.p.add(bl.key+"."+f.key, "differs from %s.%s: an account signs in once, for imap and caldav together", where[f.key], f.key)
			}
		}
	}
	for _, k := range []string{"provider", "client_id", "client_secret_file", "tenant", "auth_url", "device_auth_url", "token_url", "revoke_url"} {
		if where[k] == "" {
			where[k] = on[0].key
		}
	}
	return m, where
}

// firstOAuthKey names the first OAuth key set in r, "" when none is.
func firstOAuthKey(r rawOAuth) string {
	for _, f := range []struct{ k, v string }{
		{"provider", r.Provider}, {"client_id", r.ClientID}, {"client_secret_file", r.ClientSecretFile},
		{"tenant", r.Tenant}, {"auth_url", r.AuthURL}, {"device_auth_url", r.DeviceAuthURL},
		{"token_url", r.TokenURL}, {"revoke_url", r.RevokeURL},
	} {
		if f.v != "" {
			return f.k
		}
	}
	if len(r.Scopes) > 0 {
		return "scopes"
	}
	return ""
}

func oauthURL(m rawOAuth, key string) string {
	switch key {
	case "auth_url":
		return m.AuthURL
	case "device_auth_url":
		return m.DeviceAuthURL
	case "token_url":
		return m.TokenURL
	}
	return m.RevokeURL
}

// describeOAuth is the OAuth line of the test dump and of nothing that
// prints secrets: the client secret appears as its source only.
func (o *OAuth) String() string {
	return fmt.Sprintf("oauth provider=%s client_id=%s secret=%s tenant=%q flow=%s scopes=%q auth_url=%q device_auth_url=%q token_url=%q revoke_url=%q token_file=%s",
		o.Provider, o.ClientID, o.ClientSecret, o.Tenant, o.Flow, o.Scopes, o.AuthURL, o.DeviceAuthURL, o.TokenURL, o.RevokeURL, o.TokenFile)
}
