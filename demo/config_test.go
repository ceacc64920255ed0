package demo

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/touchbase/touchbase/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

// writeConfig writes secrets and the scenario's config into a temp dir.
func writeConfig(t *testing.T, h *History, accounts []AccountOptions) string {
	t.Helper()
	dir := t.TempDir()
	secret, err := NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range accounts {
		if a.PasswordEnv != "" {
			t.Setenv(a.PasswordEnv, "pw-"+a.Name)
			continue
		}
		accounts[i].PasswordFile = filepath.Join(dir, a.Name+".password")
		if err := os.WriteFile(accounts[i].PasswordFile, []byte("pw-"+a.Name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	whsec := filepath.Join(dir, "webhook.whsec")
	if err := os.WriteFile(whsec, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	y, err := h.ConfigYAML(ConfigOptions{DataDir: filepath.Join(dir, "data"), Accounts: accounts,
		WebhookURL: "http://127.0.0.1:9/hook", WebhookSecretFile: whsec})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "touchbase.yaml")
	if err := os.WriteFile(path, y, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigYAMLLoads(t *testing.T) {
	h := Scenario(nows[0].now)
	for _, tc := range []struct {
		name     string
		accounts []AccountOptions
		owners   map[string]string // customer → owner account name
	}{
		{"demo: two accounts", []AccountOptions{
			{Name: "anna", Email: anna.addr, IMAPAddr: "127.0.0.1:1143", CalDAVURL: "http://127.0.0.1:8008/"},
			{Name: "ben", Email: ben.addr, IMAPAddr: "127.0.0.1:1143", CalDAVURL: "http://127.0.0.1:8008/"},
		}, map[string]string{"contoso": "anna", "litware": "ben", "fabrikam": "ben"}},
		{"test bed: one account reads everything", []AccountOptions{
			{Name: "dave", Email: "dave@example.test", IMAPAddr: "127.0.0.1:10143", CalDAVURL: "http://127.0.0.1:15232/",
				PasswordEnv: "TB_DEMO_TEST_DAVE_PASSWORD"},
		}, map[string]string{"contoso": "dave", "litware": "dave"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(writeConfig(t, h, tc.accounts))
			if err != nil {
				t.Fatalf("generated config does not load: %v", err)
			}
			if got := len(cfg.Customers); got != len(h.Customers) {
				t.Fatalf("customers: got %d, want %d", got, len(h.Customers))
			}
			for i, cu := range cfg.Customers {
				want := append(append(slices.Clone(h.Customers[i].Commitments), h.Tiers[h.Customers[i].Tier]...), h.Defaults...)
				var got []string
				for _, c := range cu.Commitments {
					got = append(got, c.Name)
				}
				sort.Strings(got)
				sort.Strings(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s commitments: got %v, want %v", cu.ID, got, want)
				}
				if o, ok := tc.owners[cu.ID]; ok && cu.Owner != o {
					t.Errorf("%s owner: got %q, want %q", cu.ID, cu.Owner, o)
				}
			}
			if cfg.Alerting.AtRiskBefore != 72*time.Hour {
				t.Errorf("at_risk_before: got %v, want 72h", cfg.Alerting.AtRiskBefore)
			}
			if len(cfg.Webhooks) != 1 || len(cfg.Accounts) != len(tc.accounts) {
				t.Errorf("got %d webhooks and %d accounts", len(cfg.Webhooks), len(cfg.Accounts))
			}
		})
	}
}

func TestConfigYAMLGolden(t *testing.T) {
	h := Scenario(nows[0].now)
	got, err := h.ConfigYAML(ConfigOptions{DataDir: "/tmp/touchbase-demo", Accounts: []AccountOptions{
		{Name: "anna", Email: anna.addr, IMAPAddr: "127.0.0.1:1143", CalDAVURL: "http://127.0.0.1:8008/", PasswordFile: "/tmp/touchbase-demo/anna.password"},
		{Name: "ben", Email: ben.addr, IMAPAddr: "127.0.0.1:1143", CalDAVURL: "http://127.0.0.1:8008/", PasswordFile: "/tmp/touchbase-demo/ben.password"},
	}, WebhookURL: "http://127.0.0.1:8009/hook", WebhookSecretFile: "/tmp/touchbase-demo/webhook.whsec"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "config.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("config differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

func TestConfigYAMLRejectsIncompleteOptions(t *testing.T) {
	h := Scenario(nows[0].now)
	ok := AccountOptions{Name: "anna", Email: anna.addr, IMAPAddr: "127.0.0.1:1", PasswordFile: "/x"}
	for _, tc := range []struct {
		name string
		opts ConfigOptions
	}{
		{"no data dir", ConfigOptions{Accounts: []AccountOptions{ok}}},
		{"no account", ConfigOptions{DataDir: "/d"}},
		{"no password", ConfigOptions{DataDir: "/d", Accounts: []AccountOptions{{Name: "a", Email: anna.addr, IMAPAddr: "x:1"}}}},
		{"two passwords", ConfigOptions{DataDir: "/d", Accounts: []AccountOptions{{Name: "a", Email: anna.addr, IMAPAddr: "x:1", PasswordFile: "/x", PasswordEnv: "X"}}}},
		{"no server", ConfigOptions{DataDir: "/d", Accounts: []AccountOptions{{Name: "a", Email: anna.addr, PasswordFile: "/x"}}}},
		{"webhook without secret", ConfigOptions{DataDir: "/d", Accounts: []AccountOptions{ok}, WebhookURL: "http://127.0.0.1:9/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.ConfigYAML(tc.opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

// A CA bundle reaches IMAP, and CalDAV only over https.
func TestConfigYAMLTLSCAFile(t *testing.T) {
	h := Scenario(nows[0].now)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		caldav, wantCalDAVCA string
	}{
		{"https://dav.example.test/", ca},
		{"http://127.0.0.1:8008/", ""},
	} {
		t.Run(tc.caldav, func(t *testing.T) {
			cfg, err := config.Load(writeConfig(t, h, []AccountOptions{{Name: "dave", Email: "dave@example.test",
				IMAPAddr: "127.0.0.1:10143", IMAPTLS: "starttls", TLSCAFile: ca, CalDAVURL: tc.caldav}}))
			if err != nil {
				t.Fatalf("generated config does not load: %v", err)
			}
			a := cfg.Accounts[0]
			if a.IMAP.TLS != config.TLSStartTLS || a.IMAP.TLSCAFile != ca || a.CalDAV.TLSCAFile != tc.wantCalDAVCA {
				t.Errorf("imap tls %q ca %q, caldav ca %q; want starttls, %q, %q",
					a.IMAP.TLS, a.IMAP.TLSCAFile, a.CalDAV.TLSCAFile, ca, tc.wantCalDAVCA)
			}
		})
	}
}
