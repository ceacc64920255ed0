package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

func (b *builder) accounts(rs []rawAccount, dataDir string) []Account {
	out := make([]Account, 0, len(rs))
	names := map[string]string{}
	for i, r := range rs {
		key := fmt.Sprintf("accounts[%d]", i)
		a := Account{Name: strings.TrimSpace(r.Name)}
		if b.required(key+".name", a.Name) {
			b.dupe(key+".name", "account name", a.Name, names, key)
		}
		if b.required(key+".email", r.Email) {
			a.Email = b.email(key+".email", r.Email)
		}
		if r.IMAP == nil && r.CalDAV == nil {
			b.p.add(key, "account has neither an imap nor a caldav block")
		}
		if r.IMAP != nil {
			a.IMAP = b.imap(key+".imap", *r.IMAP, a.Email)
		}
		if r.CalDAV != nil {
			a.CalDAV = b.caldav(key+".caldav", *r.CalDAV, a.Email)
		}
		a.OAuth = b.oauth(key, r, a.Name, dataDir)
		out = append(out, a)
	}
	return out
}

func (b *builder) imap(key string, r rawIMAP, email string) *IMAP {
	m := &IMAP{
		Addr:     r.Addr,
		TLS:      b.oneOf(key+".tls", r.TLS, TLSImplicit, "TLS mode", TLSImplicit, TLSStartTLS, TLSNone),
		Username: r.Username,
		Auth:     b.oneOf(key+".auth", r.Auth, AuthPlain, "auth mechanism", AuthPlain, AuthXOAuth2, AuthOAuth2),
		Folders:  r.Folders,
		MaxConns: b.atLeast1(key+".max_connections", r.MaxConns, DefaultIMAPMaxConns),
	}
	m.Password = b.authSecret(key, r.Auth, r.Secret)
	if b.required(key+".addr", r.Addr) {
		b.hostPort(key+".addr", r.Addr)
	}
	if m.Username == "" {
		m.Username = email
	}
	if len(m.Folders) == 0 {
		m.Folders = []string{"INBOX", `\Sent`}
	}
	if r.TLSCAFile != "" {
		m.TLSCAFile = b.path(r.TLSCAFile)
		b.checkFile(key+".tls_ca_file", m.TLSCAFile)
	}
	return m
}

func (b *builder) caldav(key string, r rawCalDAV, email string) *CalDAV {
	c := &CalDAV{
		URL:       r.URL,
		Username:  r.Username,
		Password:  b.authSecret(key, r.Auth, r.Secret),
		Calendars: r.Calendars,
		Auth:      b.oneOf(key+".auth", r.Auth, AuthBasic, "auth mechanism", AuthBasic, AuthOAuth2),
	}
	if b.required(key+".url", r.URL) {
		b.url(key+".url", r.URL)
	}
	if c.Username == "" {
		c.Username = email
	}
	if r.TLSCAFile != "" {
		c.TLSCAFile = b.path(r.TLSCAFile)
		b.checkFile(key+".tls_ca_file", c.TLSCAFile)
	}
	return c
}

// authSecret is the password source of a block: none with auth: oauth2,
// where `touchbase auth login` gets the token.
func (b *builder) authSecret(key, auth string, r rawSecret) Secret {
	if auth != AuthOAuth2 {
		return b.secret(key, r)
	}
	for _, f := range []struct{ name, v string }{
		{"password_file", r.PasswordFile}, {"password_command", r.PasswordCommand}, {"password_env", r.PasswordEnv},
	} {
		if f.v != "" {
			b.p.add(key+"."+f.name, "not used with auth: oauth2 (the token comes from `touchbase auth login`)")
		}
	}
	return Secret{}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret checks the choice of password source in the block at key. It
// reads a password file only to see that it is readable; the value is
// never kept.
func (b *builder) secret(key string, r rawSecret) Secret {
	s := Secret{File: r.PasswordFile, Command: r.PasswordCommand, Env: r.PasswordEnv}
	var set []string
	for _, f := range []struct{ name, v string }{
		{"password_file", r.PasswordFile},
		{"password_command", r.PasswordCommand},
		{"password_env", r.PasswordEnv},
	} {
		if f.v != "" {
			set = append(set, f.name)
		}
	}
	switch {
	case len(set) == 0:
		b.p.add(key, "no password: set one of password_file, password_command or password_env")
	case len(set) > 1:
		b.p.add(key+"."+set[1], "set only one of %s", strings.Join(set, ", "))
	}
	if s.File != "" {
		s.File = b.path(s.File)
		b.checkSecretFile(key+".password_file", s.File)
	}
	if s.Env != "" {
		if !envNameRE.MatchString(s.Env) {
			// Not quoted: this is where a password pasted by mistake would be.
			b.p.add(key+".password_env", "want the name of an environment variable (letters, digits and _), not a value")
		} else if v, ok := os.LookupEnv(s.Env); !ok {
			b.p.add(key+".password_env", "environment variable %s is not set", s.Env)
		} else if strings.TrimSpace(v) == "" {
			b.p.add(key+".password_env", "environment variable %s is empty", s.Env)
		}
	}
	return s
}

// url checks an http(s) URL. The URL is not quoted in the message: some
// carry credentials or tokens (a Slack webhook URL is one).
func (b *builder) url(key, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		b.p.add(key, "invalid URL: want http:// or https:// and a host")
	}
}

// email normalises an address: lower case, IDNA (punycode) domain. It
// returns "" after recording a problem.
func (b *builder) email(key, s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Name != "" || a.Address != s || at <= 0 {
		b.p.add(key, "invalid email address %q", s)
		return ""
	}
	d, err := normDomain(s[at+1:])
	if err != nil {
		b.p.add(key, "invalid email address %q: %v", s, err)
		return ""
	}
	return s[:at+1] + d
}

// domain normalises a domain: lower case, no leading "@" or trailing dot,
// IDNA (punycode) so that it compares equal to what mail headers carry.
func (b *builder) domain(key, s string) string {
	d, err := normDomain(s)
	if err != nil {
		b.p.add(key, "invalid domain %q: %v", strings.TrimSpace(s), err)
		return ""
	}
	return d
}

func normDomain(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "@"), ".")
	d, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", err
	}
	if !strings.Contains(d, ".") {
		return "", fmt.Errorf("want a name with a dot, like example.com")
	}
	return d, nil
}

// freeMail are mail providers whose domain must never be taken for ours,
// even when an account's address is there.
var freeMail = []string{
	"aol.com", "gmail.com", "gmx.de", "gmx.net", "googlemail.com", "hotmail.com",
	"icloud.com", "live.com", "me.com", "outlook.com", "proton.me",
	"protonmail.com", "web.de", "yahoo.com",
}

// internalDomains normalises internal_domains. When the key is empty, the
// domains of the accounts' addresses are ours (free-mail providers
// excepted): that is right for a team on its own domain, and saves
// repeating it.
func (b *builder) internalDomains(rs []string, accounts []Account) []string {
	var out []string
	for i, s := range rs {
		key := fmt.Sprintf("internal_domains[%d]", i)
		if d := b.domain(key, s); d != "" && !b.publicSuffix(key, d, "our") && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(rs) > 0 {
		return out
	}
	for _, a := range accounts {
		_, d, ok := strings.Cut(a.Email, "@")
		if ok && !slices.Contains(out, d) && !slices.Contains(freeMail, d) {
			out = append(out, d)
		}
	}
	return out
}
