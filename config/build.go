package config

import (
	"cmp"
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
	// declared holds every policy name under `policies:`, also those too
	// broken to use, so references to them are not reported again.
	declared map[string]bool
	// calendars are the holiday calendars built so far, by country and
	// extra dates, shared by the customers that have the same days off.
	calendars map[string]*calendar
}

func (b *builder) build(r rawConfig) *Config {
	c := &Config{
		DataDir:     b.path(r.DataDir),
		Store:       b.store(r.Store),
		Timezone:    b.location("timezone", cmp.Or(r.Timezone, DefaultTimezone), time.UTC),
		TimezoneSet: r.Timezone != "",
		LogLevel:    b.oneOf("log_level", r.LogLevel, DefaultLogLevel, "log level", "debug", "info", "warn", "error"),
		Listen:      b.listen(r.Listen),
		Sync:        b.sync(r.Sync),
		Alerting:    b.alerting(r.Alerting),
		Cluster:     b.cluster(r.Cluster),
		Postgres:    b.postgres(r.Postgres),

		Holidays:      b.holidayCountry("holidays", r.Holidays),
		ExtraHolidays: b.extraHolidays("extra_holidays", r.ExtraHolidays),
	}
	c.Accounts = b.accounts(r.Accounts, c.DataDir)
	c.InternalDomains = b.internalDomains(r.InternalDomains, c.Accounts)
	c.Policies = b.policies(r.Policies)
	rs := resolver{
		policies: c.Policies,
		tiers:    b.tiers(r.Tiers, c.Policies),
		defaults: b.refs("defaults", r.Defaults, c.Policies),
	}
	c.Customers = b.customers(r.Customers, c, rs)
	c.Webhooks = b.webhooks(r.Webhooks)
	if c.Store == StorePostgres && c.Postgres.DSNFile == "" {
		b.p.add("postgres.dsn_file", "required when store is postgres")
	}
	c.Retention = b.retention(r.Retention, c)
	return c
}

// retention reads `retention:`; c must have its customers, whose
// commitments decide how long interactions must stay.
func (b *builder) retention(r rawRetention, c *Config) Retention {
	or := func(key, s string, def time.Duration) time.Duration {
		if s == "" {
			return def
		}
		return b.positiveDuration(key, s)
	}
	ret := Retention{
		Delivered:      or("retention.delivered", r.Delivered, DefaultRetainDelivered),
		Failed:         or("retention.failed", r.Failed, DefaultRetainFailed),
		ResolvedAlerts: or("retention.resolved_alerts", r.ResolvedAlerts, DefaultRetainResolvedAlerts),
		Interactions:   or("retention.interactions", r.Interactions, 0),
	}
	if need := c.HistoryWindow(); ret.Interactions > 0 && ret.Interactions < need {
		b.p.warn("retention.interactions", "%s is shorter than evaluation reads back (%s, from sync.backfill and the longest commitment): %s is kept",
			r.Interactions, days(need), days(need))
	}
	return ret
}

// days formats a whole number of days as "Nd".
func days(d time.Duration) string { return strconv.Itoa(int(d/(24*time.Hour))) + "d" }

func (b *builder) store(s string) string {
	switch s {
	case "", DefaultStore:
		return DefaultStore
	case StorePostgres:
		return s
	}
	b.p.add("store", "unknown store %q (want %s or %s)", s, StoreSQLite, StorePostgres)
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
	l := Listen{Socket: b.path(r.Socket), HTTP: r.HTTP, Dashboard: r.Dashboard}
	if r.Socket == "" {
		b.p.add("listen.socket", "must not be empty")
	}
	if r.TokenFile != "" {
		l.TokenFile = b.path(r.TokenFile)
		l.Token = Secret{File: l.TokenFile}
		b.checkSecretFile("listen.token_file", l.TokenFile)
	}
	if r.HTTP == "" {
		if r.Dashboard {
			b.p.add("listen.dashboard", "requires listen.http: the dashboard is served on the HTTP listener")
		}
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
		Backfill: b.span("sync.backfill", r.Backfill),
		Idle:     r.Idle,
		Horizon:  b.span("sync.horizon", r.Horizon),
	}
	s.PollInterval = b.positiveDuration("sync.poll_interval", r.PollInterval)
	if r.StaleAfter == "" {
		s.StaleAfter = max(3*s.PollInterval, time.Hour)
		return s
	}
	s.StaleAfter = b.positiveDuration("sync.stale_after", r.StaleAfter)
	return s
}

func (b *builder) cluster(r rawCluster) Cluster {
	c := Cluster{Enabled: r.Enabled, LeaseDuration: DefaultLeaseDuration}
	if r.LeaseDuration == "" {
		return c
	}
	d, ok := b.duration("cluster.lease_duration", r.LeaseDuration)
	if ok && d < MinLeaseDuration {
		b.p.add("cluster.lease_duration", "must be at least %s", MinLeaseDuration)
	}
	c.LeaseDuration = d
	return c
}

func (b *builder) alerting(r rawAlerting) cadence.Alerting {
	repeat, _ := b.duration("alerting.repeat_interval", r.RepeatInterval)
	atRisk, _ := b.duration("alerting.at_risk_before", r.AtRiskBefore)
	return cadence.Alerting{RepeatInterval: repeat, AtRiskBefore: atRisk}
}

// span parses a duration with calendar units (cadence.ParseSpan); "" is 0.
func (b *builder) span(key, s string) cadence.Span {
	sp, _ := b.spanOK(key, s)
	return sp
}

// spanOK is span that also reports whether s parsed.
func (b *builder) spanOK(key, s string) (cadence.Span, bool) {
	if s == "" {
		return cadence.Span{}, true
	}
	if negative(s) {
		b.p.add(key, "invalid duration %q: must not be negative", s)
		return cadence.Span{}, false
	}
	sp, err := cadence.ParseSpan(s)
	if err != nil {
		b.p.add(key, "%v", err)
		return sp, false
	}
	return sp, true
}

// positiveSpan is span for keys that must not be zero.
func (b *builder) positiveSpan(key, s string) cadence.Span {
	sp, ok := b.spanOK(key, s)
	if ok && sp.IsZero() {
		b.p.add(key, "must be longer than 0")
	}
	return sp
}

// duration parses a key that is a plain time.Duration: Go syntax plus d
// (24h) and w (7 × 24h). Months and business days have no fixed length, so
// they are refused rather than approximated. "" is 0. ok is false after a
// problem was recorded.
func (b *builder) duration(key, s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	if negative(s) {
		b.p.add(key, "invalid duration %q: must not be negative", s)
		return 0, false
	}
	sp, err := cadence.ParseSpan(s)
	if err != nil {
		b.p.add(key, "invalid duration %q: want Go syntax (90m, 36h) or N followed by d or w", s)
		return 0, false
	}
	switch sp.Unit {
	case cadence.Month, cadence.BusinessDay:
		b.p.add(key, "invalid duration %q: months and business days are not allowed here; use h, d or w", s)
		return 0, false
	}
	// Day and week are fixed here: these keys measure elapsed time.
	return sp.Approx(), true
}

// negative reports whether s is a length with a minus sign ("-1d"): said
// plainly, since "want Go syntax" would send the user looking for a
// syntax error when Go itself reads "-24h".
func negative(s string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "-")
	if !ok {
		return false
	}
	_, err := cadence.ParseSpan(rest)
	return err == nil
}

// positiveDuration is duration for keys that must not be zero.
func (b *builder) positiveDuration(key, s string) time.Duration {
	d, ok := b.duration(key, s)
	if ok && d <= 0 {
		b.p.add(key, "must be longer than 0")
	}
	return d
}

// readFile reads a file the configuration names to check it; the caller
// must not keep or print the content. It returns nil after recording a
// problem.
func (b *builder) readFile(key, path string) []byte {
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

// readSecretFile is readFile for a password, token or webhook key, and
// warns when the file's mode lets others at it, or its group write it: the
// daemon still runs, but anyone on the host could log in as it or forge
// its webhooks. Group read is how the README's systemd setup works (root's
// file, the service's group reads it).
func (b *builder) readSecretFile(key, path string) []byte {
	data := b.readFile(key, path)
	if data == nil {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o027 != 0 {
		b.p.warn(key, "secret file %q is open to others (mode %04o): chmod 640 it (600 if the daemon's user owns it)", path, fi.Mode().Perm())
	}
	return data
}

// checkSecretFile checks that a secret file is readable, not empty and
// private to its owner and group.
func (b *builder) checkSecretFile(key, path string) {
	clear(b.readSecretFile(key, path))
}

// checkFile checks that a file that is not a secret (a CA certificate) is
// readable and not empty.
func (b *builder) checkFile(key, path string) {
	b.readFile(key, path)
}

// required records a missing value; it reports whether v is set.
func (b *builder) required(key, v string) bool {
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
