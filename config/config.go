// Package config loads and validates Touchbase's YAML configuration
// (SPEC "Configuration") into an immutable snapshot. A Config is never
// changed after Load returns; a reload builds a new one.
package config

import (
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// Config is a validated configuration snapshot.
type Config struct {
	Path     string // the file it was loaded from
	DataDir  string
	Store    string // StoreSQLite or StorePostgres
	Postgres Postgres
	Timezone *time.Location // UTC when the file names none
	// TimezoneSet: the file or the environment names timezone. The CLI
	// shows times in Timezone then, and in the machine's local zone when not.
	TimezoneSet     bool
	InternalDomains []string // lower-case
	Listen          Listen
	Sync            Sync
	Accounts        []Account
	// Customers with their commitments resolved (own + tier + defaults).
	Customers []cadence.Customer
	// Origins says, by customer ID and parallel to its Commitments, where
	// each commitment came from: "own", "tier NAME" or "defaults"
	// (`touchbase check --effective`).
	Origins map[string][]string
	// Policies by name, as declared (for `check` and `suggest`).
	Policies  map[string]cadence.Commitment
	Webhooks  []Webhook
	Alerting  cadence.Alerting
	Cluster   Cluster
	Retention Retention
	LogLevel  string // "debug", "info" (default), "warn", "error"
	// Holidays is the country (ISO 3166 code, like "SE") whose public
	// holidays business days skip, for customers that name none; "" or
	// "none" for no country.
	Holidays string
	// ExtraHolidays are more days off for every customer, as YYYY-MM-DD,
	// sorted. A customer's own are added to these.
	ExtraHolidays []string
	// Warnings are doubtful values that did not stop loading (a customer
	// domain below another customer's), in the order found.
	Warnings []Warning
}

// Store backends.
const (
	StoreSQLite   = "sqlite"   // embedded, data_dir/touchbase.db
	StorePostgres = "postgres" // a PostgreSQL database shared by several daemons
)

// Postgres configures the PostgreSQL store. The DSN names a password, so it
// is read from a file when needed and never kept in the Config.
type Postgres struct {
	DSNFile string // "" when not configured
	DSN     Secret // File: DSNFile
}

// Listen configures the daemon's API listeners.
type Listen struct {
	Socket    string // unix socket path for the CLI
	HTTP      string // optional TCP address for /healthz, /readyz, /metrics, API
	TokenFile string // bearer token required on HTTP when not loopback
	Token     Secret
	// Dashboard serves the read-only HTML dashboard under /dashboard/ on
	// the HTTP listener, behind the same token; it requires HTTP.
	Dashboard bool
}

// Sync configures how sources are read.
type Sync struct {
	Backfill     cadence.Span  // default 365d
	PollInterval time.Duration // default 5m
	Idle         bool          // IMAP IDLE push, default true
	Horizon      cadence.Span  // default 180d
	StaleAfter   time.Duration // a source not synced for this long is stale; default 3 × poll_interval, at least 1h
}

// Cluster configures several daemons sharing this configuration and one
// store: each source and the evaluation pass is worked on by the daemon
// holding its lease.
type Cluster struct {
	// Enabled makes the daemon (and run --once) take a lease before
	// syncing a source or evaluating. Off (the default), a daemon does all
	// the work itself, as when it is the only one.
	Enabled bool
	// LeaseDuration is how long a lease lasts unless renewed (every third
	// of it): how soon another daemon takes over the work of one that
	// died (default 30s).
	LeaseDuration time.Duration
}

// DefaultLeaseDuration is cluster.lease_duration when unset.
const DefaultLeaseDuration = 30 * time.Second

// MinLeaseDuration is the shortest cluster.lease_duration: a lease is
// renewed every third of it, and a renewal is a write to the store.
const MinLeaseDuration = time.Second

// Retention is how long the store keeps what is finished. The daemon
// deletes older rows in small batches; nothing evaluation reads is ever
// deleted (see InteractionsKept).
type Retention struct {
	Delivered      time.Duration // delivered webhook deliveries and their attempt logs; default 30d
	Failed         time.Duration // failed deliveries (replayable until then); default 90d
	ResolvedAlerts time.Duration // resolved alerts; default 365d
	Interactions   time.Duration // 0 (the default): as long as evaluation needs
}

// Retention defaults.
const (
	DefaultRetainDelivered      = 30 * 24 * time.Hour
	DefaultRetainFailed         = 90 * 24 * time.Hour
	DefaultRetainResolvedAlerts = 365 * 24 * time.Hour
)

// minHistoryWindow is how far back evaluation reads interactions at
// least: a year of `per: year` and rolling windows, plus a margin.
const minHistoryWindow = 400 * 24 * time.Hour

// HistoryWindow is how far back evaluation reads interactions: the
// backfill, at least 400 days (a year of `per: year` and rolling windows,
// plus a margin), and twice the longest span of any commitment.
func (c *Config) HistoryWindow() time.Duration {
	w := max(c.Sync.Backfill.Approx(), minHistoryWindow)
	for _, cu := range c.Customers {
		for _, cm := range cu.Commitments {
			for _, sp := range []cadence.Span{cm.Every, cm.Within, cm.Window, cm.Before} {
				w = max(w, 2*sp.Approx())
			}
		}
	}
	return w
}

// InteractionsKept is how long interactions are kept: retention.interactions,
// but never less than HistoryWindow.
func (c *Config) InteractionsKept() time.Duration {
	return max(c.Retention.Interactions, c.HistoryWindow())
}

// Account is one person's mailbox and/or calendar.
type Account struct {
	Name   string
	Email  string // lower-case
	IMAP   *IMAP  // nil when not configured
	CalDAV *CalDAV
	// OAuth is set when the imap or caldav block (or both) has auth:
	// oauth2: the account then signs in once, for both.
	OAuth *OAuth
}

// TLS modes for IMAP.
const (
	TLSImplicit = "implicit"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

// Auth mechanisms. IMAP: plain (default), xoauth2 (a token from the
// password source) or oauth2; CalDAV: basic (default) or oauth2.
const (
	AuthPlain   = "plain"
	AuthXOAuth2 = "xoauth2"
	AuthBasic   = "basic"
	// AuthOAuth2 is Touchbase's own OAuth 2.0 client: `touchbase auth
	// login` signs in, the daemon refreshes the token (package oauth).
	AuthOAuth2 = "oauth2"
)

// IMAP is an account's mail server.
type IMAP struct {
	Addr      string // host:port
	TLS       string // TLSImplicit (default), TLSStartTLS, TLSNone
	TLSCAFile string // extra CA bundle (PEM) for private CAs
	Username  string
	Password  Secret
	Auth      string   // AuthPlain (default), AuthXOAuth2 or AuthOAuth2
	Folders   []string // names or special-use attributes like `\Sent`; default INBOX and \Sent
	// MaxConns caps the connections a sync pass opens to read folders in
	// parallel (DefaultIMAPMaxConns when unset, at least 1). IDLE's
	// connection is not counted.
	MaxConns int
}

// DefaultIMAPMaxConns is imap.max_connections when unset: two folders
// read at once keep a server busy while the store writes, and stay well
// under servers' per-user limits (Gmail 15, Dovecot 10 per IP by default).
const DefaultIMAPMaxConns = 2

// CalDAV is an account's calendar server.
type CalDAV struct {
	URL       string
	Username  string
	Password  Secret // zero with AuthOAuth2
	TLSCAFile string
	Calendars []string // names (display name or last path segment); default all
	Auth      string   // AuthBasic (default) or AuthOAuth2
}

// Webhook is one endpoint that receives events.
type Webhook struct {
	Name    string
	URL     string
	Secrets []Secret // whsec_…; two during rotation (secret_file, secret_file_next)
	Events  []string // event types; empty means all
	Format  string   // "standard" (default) or "slack"
}

// Wants reports whether the webhook subscribes to the event type.
func (w Webhook) Wants(eventType string) bool {
	if len(w.Events) == 0 {
		return true
	}
	for _, e := range w.Events {
		if e == eventType {
			return true
		}
	}
	return false
}
