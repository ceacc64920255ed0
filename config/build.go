package config

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve on hosts without /usr/share/zoneinfo

	"github.com/touchbase/touchbase/cadence"
)

// builder turns the raw config into a Config, recording every problem
// instead of stopping at the first.
type builder struct {
	p   *problems
	dir string // directory of the config file, for relative paths
}

func (b *builder) build(r rawConfig) *Config {
	c := &Config{
		DataDir:  b.path(r.DataDir),
		Store:    b.store(r.Store),
		Timezone: b.location("timezone", r.Timezone, time.UTC),
		LogLevel: b.oneOf("log_level", r.LogLevel, DefaultLogLevel, "log level", "debug", "info", "warn", "error"),
		Listen:   b.listen(r.Listen),
		Sync:     b.sync(r.Sync),
		Alerting: b.alerting(r.Alerting),
	}
	c.Accounts = b.accounts(r.Accounts)
	c.InternalDomains = b.internalDomains(r.InternalDomains, c.Accounts)
	c.Policies = b.policies(r.Policies)
	rs := resolver{
		policies: c.Policies,
		tiers:    b.tiers(r.Tiers, c.Policies),
		defaults: b.refs("defaults", r.Defaults, c.Policies),
	}
	c.Customers = b.customers(r.Customers, c, rs)
	c.Webhooks = b.webhooks(r.Webhooks)
	return c
}

func (b *builder) store(s string) string {
	switch s {
	case "", DefaultStore:
		return DefaultStore
	case "postgres":
		b.p.add("store", "postgres is planned but not supported yet; use sqlite")
	default:
		b.p.add("store", "unknown store %q (want sqlite)", s)
	}
	return s
}

// oneOf checks an enumerated value; "" means def.
func (b *builder) oneOf(key, s, def, what string, allowed ...string) string {
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	b.p.add(key, "unknown %s %q (want %s)", what, s, orList(allowed))
	return s
}

// orList formats "a, b or c".
func orList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// location loads an IANA zone; "" means def.
func (b *builder) location(key, name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		b.p.add(key, "unknown time zone %q (want an IANA name like Europe/Berlin)", name)
		return def
	}
	return loc
}

// path resolves a configured path against the config file's directory.
func (b *builder) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(b.dir, p)
}

func (b *builder) listen(r rawListen) Listen {
	l := Listen{Socket: b.path(r.Socket), HTTP: r.HTTP}
	if r.Socket == "" {
		b.p.add("listen.socket", "must not be empty")
	}
	if r.TokenFile != "" {
		l.TokenFile = b.path(r.TokenFile)
		l.Token = Secret{File: l.TokenFile}
		b.checkSecretFile("listen.token_file", l.TokenFile)
	}
	if r.HTTP == "" {
		return l
	}
	host, ok := b.hostPort("listen.http", r.HTTP)
	if ok && !isLoopback(host) && r.TokenFile == "" {
		b.p.add("listen.token_file", "required when listen.http is not a loopback address")
	}
	return l
}

// hostPort checks a host:port address and returns the host.
func (b *builder) hostPort(key, addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
			err = errors.New("bad port")
		}
	}
	if err != nil {
		b.p.add(key, "invalid address %q: want host:port", addr)
		return "", false
	}
	return host, true
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (b *builder) sync(r rawSync) Sync {
	s := Sync{
		Backfill:     b.span("sync.backfill", r.Backfill),
		PollInterval: b.duration("sync.poll_interval", r.PollInterval),
		Idle:         r.Idle,
		Horizon:      b.span("sync.horizon", r.Horizon),
	}
	if s.PollInterval <= 0 {
		b.p.add("sync.poll_interval", "must be longer than 0")
	}
	if r.StaleAfter == "" {
		s.StaleAfter = max(3*s.PollInterval, time.Hour)
		return s
	}
	if s.StaleAfter = b.duration("sync.stale_after", r.StaleAfter); s.StaleAfter <= 0 {
		b.p.add("sync.stale_after", "must be longer than 0")
	}
	return s
}

func (b *builder) alerting(r rawAlerting) cadence.Alerting {
	return cadence.Alerting{
		RepeatInterval: b.duration("alerting.repeat_interval", r.RepeatInterval),
		AtRiskBefore:   b.duration("alerting.at_risk_before", r.AtRiskBefore),
	}
}

// span parses a duration with calendar units (cadence.ParseSpan); "" is 0.
func (b *builder) span(key, s string) cadence.Span {
	if s == "" {
		return cadence.Span{}
	}
	sp, err := cadence.ParseSpan(s)
	if err != nil {
		b.p.add(key, "%v", err)
	}
	return sp
}

// duration parses a key that is a plain time.Duration: Go syntax plus d
// (24h) and w (7 × 24h). Months and business days have no fixed length, so
// they are refused rather than approximated. "" is 0.
func (b *builder) duration(key, s string) time.Duration {
	if s == "" {
		return 0
	}
	sp, err := cadence.ParseSpan(s)
	if err != nil {
		b.p.add(key, "invalid duration %q: want Go syntax (90m, 36h) or N followed by d or w", s)
		return 0
	}
	switch sp.Unit {
	case cadence.Month, cadence.BusinessDay:
		b.p.add(key, "invalid duration %q: months and business days are not allowed here; use h, d or w", s)
		return 0
	}
	// Day and week are fixed here: these keys measure elapsed time.
	return sp.Approx()
}

// readSecretFile reads a secret file to check it; the caller must not keep
// or print the content. It returns nil after recording a problem.
func (b *builder) readSecretFile(key, path string) []byte {
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		var data []byte
		// Secrets are short; a limit keeps a wrong path to a big file cheap.
		data, err = io.ReadAll(io.LimitReader(f, 64<<10))
		if err == nil {
			if len(strings.TrimSpace(string(data))) == 0 {
				b.p.add(key, "secret file %q is empty", path)
				return nil
			}
			return data
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	b.p.add(key, "cannot read %q: %v", path, err)
	return nil
}

// checkSecretFile checks that a secret file is readable and not empty.
func (b *builder) checkSecretFile(key, path string) {
	clear(b.readSecretFile(key, path))
}

func required(b *builder, key, v string) bool {
	if strings.TrimSpace(v) == "" {
		b.p.add(key, "required key is missing")
		return false
	}
	return true
}

// dupe records a value that must be unique within a list.
func (b *builder) dupe(key, what, v string, seen map[string]string, where string) {
	if first, ok := seen[v]; ok {
		b.p.add(key, "duplicate %s %q (first in %s)", what, v, first)
		return
	}
	seen[v] = where
}
