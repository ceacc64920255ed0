package config

// The raw* types mirror the YAML file one to one. They are the schema: the
// node walk (schema.go) derives the known keys and expected types from their
// mapstructure tags, and viper decodes into them. Durations stay strings so
// each can be parsed with the right rules and reported with its key; ints
// that have a non-zero default are pointers so "absent" differs from 0.

type rawConfig struct {
	DataDir         string      `mapstructure:"data_dir"`
	Store           string      `mapstructure:"store"`
	Postgres        rawPostgres `mapstructure:"postgres"`
	Timezone        string      `mapstructure:"timezone"`
	LogLevel        string      `mapstructure:"log_level"`
	InternalDomains []string    `mapstructure:"internal_domains"`
	Holidays        string      `mapstructure:"holidays"`
	ExtraHolidays   []rawDate   `mapstructure:"extra_holidays"`

	Listen    rawListen    `mapstructure:"listen"`
	Sync      rawSync      `mapstructure:"sync"`
	Alerting  rawAlerting  `mapstructure:"alerting"`
	Cluster   rawCluster   `mapstructure:"cluster"`
	Retention rawRetention `mapstructure:"retention"`

	Accounts  []rawAccount         `mapstructure:"accounts"`
	Customers []rawCustomer        `mapstructure:"customers"`
	Policies  map[string]rawPolicy `mapstructure:"policies"`
	Tiers     map[string][]string  `mapstructure:"tiers"`
	Defaults  []string             `mapstructure:"defaults"`
	Webhooks  []rawWebhook         `mapstructure:"webhooks"`
}

// rawDate is a date in a list: YAML reads an unquoted 2026-06-05 as a
// timestamp (time.Time), a quoted one as a string; the builder takes both.
type rawDate any

type rawPostgres struct {
	DSNFile string `mapstructure:"dsn_file"`
}

type rawListen struct {
	Socket    string `mapstructure:"socket"`
	HTTP      string `mapstructure:"http"`
	TokenFile string `mapstructure:"token_file"`
	Dashboard bool   `mapstructure:"dashboard"`
}

type rawSync struct {
	Backfill     string `mapstructure:"backfill"`
	PollInterval string `mapstructure:"poll_interval"`
	Idle         bool   `mapstructure:"idle"`
	Horizon      string `mapstructure:"horizon"`
	StaleAfter   string `mapstructure:"stale_after"`
}

type rawCluster struct {
	Enabled       bool   `mapstructure:"enabled"`
	LeaseDuration string `mapstructure:"lease_duration"`
}

type rawRetention struct {
	Delivered      string `mapstructure:"delivered"`
	Failed         string `mapstructure:"failed"`
	ResolvedAlerts string `mapstructure:"resolved_alerts"`
	Interactions   string `mapstructure:"interactions"`
}

type rawAlerting struct {
	RepeatInterval string `mapstructure:"repeat_interval"`
	AtRiskBefore   string `mapstructure:"at_risk_before"`
}

// rawSecret is the choice of where a password comes from.
type rawSecret struct {
	PasswordFile    string `mapstructure:"password_file"`
	PasswordCommand string `mapstructure:"password_command"`
	PasswordEnv     string `mapstructure:"password_env"`
}

type rawAccount struct {
	Name   string     `mapstructure:"name"`
	Email  string     `mapstructure:"email"`
	IMAP   *rawIMAP   `mapstructure:"imap"`
	CalDAV *rawCalDAV `mapstructure:"caldav"`
}

type rawIMAP struct {
	Addr      string    `mapstructure:"addr"`
	TLS       string    `mapstructure:"tls"`
	TLSCAFile string    `mapstructure:"tls_ca_file"`
	Username  string    `mapstructure:"username"`
	Auth      string    `mapstructure:"auth"`
	Folders   []string  `mapstructure:"folders"`
	MaxConns  *int      `mapstructure:"max_connections"`
	Secret    rawSecret `mapstructure:",squash"`
	OAuth     rawOAuth  `mapstructure:",squash"`
}

type rawCalDAV struct {
	URL       string    `mapstructure:"url"`
	Username  string    `mapstructure:"username"`
	TLSCAFile string    `mapstructure:"tls_ca_file"`
	Calendars []string  `mapstructure:"calendars"`
	Auth      string    `mapstructure:"auth"`
	Secret    rawSecret `mapstructure:",squash"`
	OAuth     rawOAuth  `mapstructure:",squash"`
}

// rawOAuth is what `auth: oauth2` needs, on an imap or a caldav block.
type rawOAuth struct {
	Provider         string   `mapstructure:"provider"`
	ClientID         string   `mapstructure:"client_id"`
	ClientSecretFile string   `mapstructure:"client_secret_file"`
	Tenant           string   `mapstructure:"tenant"`
	Scopes           []string `mapstructure:"scopes"`
	AuthURL          string   `mapstructure:"auth_url"`
	DeviceAuthURL    string   `mapstructure:"device_auth_url"`
	TokenURL         string   `mapstructure:"token_url"`
	RevokeURL        string   `mapstructure:"revoke_url"`
}

// set reports whether any key of the block is set.
func (r rawOAuth) set() bool {
	return r.Provider != "" || r.ClientID != "" || r.ClientSecretFile != "" || r.Tenant != "" ||
		len(r.Scopes) > 0 || r.AuthURL != "" || r.DeviceAuthURL != "" || r.TokenURL != "" || r.RevokeURL != ""
}

type rawCustomer struct {
	ID       string   `mapstructure:"id"`
	Name     string   `mapstructure:"name"`
	Domains  []string `mapstructure:"domains"`
	Contacts []string `mapstructure:"contacts"`
	Exclude  []string `mapstructure:"exclude"`
	Owner    string   `mapstructure:"owner"`
	Timezone string   `mapstructure:"timezone"`
	Tier     string   `mapstructure:"tier"`
	Holidays string   `mapstructure:"holidays"`
	// extra_holidays adds to the top-level ones.
	ExtraHolidays []rawDate `mapstructure:"extra_holidays"`
	// Each item is a policy name (string) or an inline policy (a mapping
	// shaped like rawInline). The schema walk checks items by that rule.
	Commitments []any `mapstructure:"commitments"`
}

type rawPolicy struct {
	Type        string `mapstructure:"type"`
	Kind        string `mapstructure:"kind"`
	Direction   string `mapstructure:"direction"`
	Subject     string `mapstructure:"subject"`
	Every       string `mapstructure:"every"`
	Per         string `mapstructure:"per"`
	Min         *int   `mapstructure:"min"`
	Grace       string `mapstructure:"grace"`
	Within      string `mapstructure:"within"`
	Before      string `mapstructure:"before"`
	MinContacts *int   `mapstructure:"min_contacts"`
	Window      string `mapstructure:"window"`
}

// rawInline is a policy written inside a customer's commitments list.
type rawInline struct {
	Name   string    `mapstructure:"name"`
	Policy rawPolicy `mapstructure:",squash"`
}

type rawWebhook struct {
	Name           string   `mapstructure:"name"`
	URL            string   `mapstructure:"url"`
	SecretFile     string   `mapstructure:"secret_file"`
	SecretFileNext string   `mapstructure:"secret_file_next"`
	Events         []string `mapstructure:"events"`
	Format         string   `mapstructure:"format"`
}
