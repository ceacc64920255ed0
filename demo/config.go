package demo

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// ConfigOptions says where the servers, files and webhook receiver of a
// scenario run are. Secrets are referenced (files or environment
// variables), never written into the configuration.
type ConfigOptions struct {
	DataDir      string // required
	Socket       string // default DataDir/touchbase.sock
	HTTP         string // optional listen.http address
	Dashboard    bool   // serve the dashboard on HTTP (listen.dashboard)
	PollInterval string // default 30s
	Accounts     []AccountOptions

	WebhookName       string // default "demo-sink"
	WebhookURL        string
	WebhookSecretFile string // a file holding the whsec_ secret
}

// AccountOptions is one account to sync. Customers owned (in the
// scenario) by an email no account has go to the first account, so the
// whole history can be read through a single test-bed account.
type AccountOptions struct {
	Name         string
	Email        string
	IMAPAddr     string // host:port; empty: no IMAP
	IMAPTLS      string // implicit, starttls or none (default none: loopback servers)
	TLSCAFile    string // extra CA bundle (PEM) for IMAP and CalDAV; optional
	CalDAVURL    string // empty: no CalDAV
	Username     string // default Email
	PasswordFile string // one of PasswordFile and PasswordEnv
	PasswordEnv  string
}

// The YAML shape of SPEC "Configuration" (only the keys the scenario uses).
type (
	yamlConfig struct {
		DataDir         string                `yaml:"data_dir"`
		Store           string                `yaml:"store"`
		Timezone        string                `yaml:"timezone"`
		InternalDomains []string              `yaml:"internal_domains"`
		Listen          yamlListen            `yaml:"listen"`
		Sync            yamlSync              `yaml:"sync"`
		Accounts        []yamlAccount         `yaml:"accounts"`
		Customers       []yamlCustomer        `yaml:"customers"`
		Policies        map[string]yamlPolicy `yaml:"policies"`
		Tiers           map[string][]string   `yaml:"tiers,omitempty"`
		Defaults        []string              `yaml:"defaults,omitempty"`
		Webhooks        []yamlWebhook         `yaml:"webhooks,omitempty"`
		Alerting        yamlAlerting          `yaml:"alerting"`
	}
	yamlListen struct {
		Socket    string `yaml:"socket"`
		HTTP      string `yaml:"http,omitempty"`
		Dashboard bool   `yaml:"dashboard,omitempty"`
	}
	yamlSync struct {
		Backfill     string `yaml:"backfill"`
		PollInterval string `yaml:"poll_interval"`
		Idle         bool   `yaml:"idle"`
		Horizon      string `yaml:"horizon"`
	}
	yamlAccount struct {
		Name   string      `yaml:"name"`
		Email  string      `yaml:"email"`
		IMAP   *yamlIMAP   `yaml:"imap,omitempty"`
		CalDAV *yamlCalDAV `yaml:"caldav,omitempty"`
	}
	yamlIMAP struct {
		Addr         string `yaml:"addr"`
		TLS          string `yaml:"tls"`
		TLSCAFile    string `yaml:"tls_ca_file,omitempty"`
		Username     string `yaml:"username"`
		PasswordFile string `yaml:"password_file,omitempty"`
		PasswordEnv  string `yaml:"password_env,omitempty"`
	}
	yamlCalDAV struct {
		URL          string `yaml:"url"`
		TLSCAFile    string `yaml:"tls_ca_file,omitempty"`
		Username     string `yaml:"username"`
		PasswordFile string `yaml:"password_file,omitempty"`
		PasswordEnv  string `yaml:"password_env,omitempty"`
	}
	yamlCustomer struct {
		ID          string   `yaml:"id"`
		Name        string   `yaml:"name"`
		Domains     []string `yaml:"domains"`
		Contacts    []string `yaml:"contacts,omitempty"`
		Exclude     []string `yaml:"exclude,omitempty"`
		Owner       string   `yaml:"owner"`
		Timezone    string   `yaml:"timezone,omitempty"`
		Tier        string   `yaml:"tier,omitempty"`
		Commitments []string `yaml:"commitments,omitempty"`
	}
	yamlPolicy struct {
		Type      string `yaml:"type"`
		Kind      string `yaml:"kind,omitempty"`
		Direction string `yaml:"direction,omitempty"`
		Subject   string `yaml:"subject,omitempty"`
		Every     string `yaml:"every,omitempty"`
		Per       string `yaml:"per,omitempty"`
		Within    string `yaml:"within,omitempty"`
		Grace     string `yaml:"grace,omitempty"`
	}
	yamlWebhook struct {
		Name       string `yaml:"name"`
		URL        string `yaml:"url"`
		SecretFile string `yaml:"secret_file"`
	}
	yamlAlerting struct {
		RepeatInterval string `yaml:"repeat_interval"`
		AtRiskBefore   string `yaml:"at_risk_before"`
	}
)

// AtRiskBefore is the scenario's alerting.at_risk_before. Longer than the
// 1d default so an at_risk state lasts long enough to be placed a full day
// away from both of its boundaries (Expected relies on it).
const AtRiskBefore = "3d"

// ConfigYAML renders the touchbase configuration for the scenario: the
// accounts in opts, the scenario's customers, policies, tiers and defaults,
// and one webhook to opts.WebhookURL. It returns an error when opts lacks
// what a valid configuration needs.
func (h *History) ConfigYAML(opts ConfigOptions) ([]byte, error) {
	if opts.DataDir == "" || len(opts.Accounts) == 0 {
		return nil, fmt.Errorf("config options: data dir and at least one account are required")
	}
	c := yamlConfig{
		DataDir: opts.DataDir, Store: "sqlite", Timezone: h.Timezone,
		InternalDomains: h.internalDomains(opts.Accounts),
		Listen:          yamlListen{Socket: or(opts.Socket, filepath.Join(opts.DataDir, "touchbase.sock")), HTTP: opts.HTTP, Dashboard: opts.Dashboard},
		Sync:            yamlSync{Backfill: "365d", PollInterval: or(opts.PollInterval, "30s"), Idle: true, Horizon: "180d"},
		Policies:        map[string]yamlPolicy{},
		Tiers:           h.Tiers,
		Defaults:        h.Defaults,
		Alerting:        yamlAlerting{RepeatInterval: "24h", AtRiskBefore: AtRiskBefore},
	}
	for _, a := range opts.Accounts {
		ya, err := accountYAML(a)
		if err != nil {
			return nil, err
		}
		c.Accounts = append(c.Accounts, ya)
	}
	for _, cu := range h.Customers {
		c.Customers = append(c.Customers, yamlCustomer{ID: cu.ID, Name: cu.Name, Domains: cu.Domains,
			Contacts: cu.Contacts, Exclude: cu.Exclude, Owner: ownerName(cu.Owner, opts.Accounts),
			Timezone: cu.Timezone, Tier: cu.Tier, Commitments: cu.Commitments})
	}
	for _, p := range h.Policies {
		c.Policies[p.Name] = yamlPolicy{Type: p.Type, Kind: p.Kind, Direction: p.Direction, Subject: p.Subject,
			Every: p.Every, Per: p.Per, Within: p.Within, Grace: p.Grace}
	}
	if opts.WebhookURL != "" {
		if opts.WebhookSecretFile == "" {
			return nil, fmt.Errorf("config options: webhook %s needs a secret file", opts.WebhookURL)
		}
		c.Webhooks = []yamlWebhook{{Name: or(opts.WebhookName, "demo-sink"), URL: opts.WebhookURL, SecretFile: opts.WebhookSecretFile}}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Touchbase configuration for the Northwind Consulting demo scenario,\n# generated for %s. Secrets live in the files or variables named here.\n",
		h.Now.UTC().Format("2006-01-02T15:04:05Z"))
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return b.Bytes(), nil
}

func accountYAML(a AccountOptions) (yamlAccount, error) {
	if a.Name == "" || a.Email == "" {
		return yamlAccount{}, fmt.Errorf("config options: account without name or email")
	}
	if (a.PasswordFile == "") == (a.PasswordEnv == "") {
		return yamlAccount{}, fmt.Errorf("config options: account %s needs exactly one of password file and password env", a.Name)
	}
	user := or(a.Username, a.Email)
	ya := yamlAccount{Name: a.Name, Email: a.Email}
	if a.IMAPAddr != "" {
		ya.IMAP = &yamlIMAP{Addr: a.IMAPAddr, TLS: or(a.IMAPTLS, "none"), TLSCAFile: a.TLSCAFile, Username: user,
			PasswordFile: a.PasswordFile, PasswordEnv: a.PasswordEnv}
	}
	if a.CalDAVURL != "" {
		ya.CalDAV = &yamlCalDAV{URL: a.CalDAVURL, TLSCAFile: caFileForURL(a.TLSCAFile, a.CalDAVURL), Username: user,
			PasswordFile: a.PasswordFile, PasswordEnv: a.PasswordEnv}
	}
	if ya.IMAP == nil && ya.CalDAV == nil {
		return yamlAccount{}, fmt.Errorf("config options: account %s has neither IMAP nor CalDAV", a.Name)
	}
	return ya, nil
}

// internalDomains is the team's domains plus those of the synced accounts
// (a test-bed account reading the team's mail lives on another domain).
func (h *History) internalDomains(accounts []AccountOptions) []string {
	out := append([]string(nil), h.InternalDomains...)
	seen := map[string]bool{}
	for _, d := range out {
		seen[d] = true
	}
	for _, a := range accounts {
		_, d, _ := strings.Cut(a.Email, "@")
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func ownerName(email string, accounts []AccountOptions) string {
	for _, a := range accounts {
		if strings.EqualFold(a.Email, email) {
			return a.Name
		}
	}
	return accounts[0].Name
}

// caFileForURL keeps the CA bundle only for https URLs: over plain HTTP
// it would be a setting without effect.
func caFileForURL(ca, url string) string {
	if strings.HasPrefix(url, "https://") {
		return ca
	}
	return ""
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
