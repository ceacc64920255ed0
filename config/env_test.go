package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// envBase is a valid config without the keys the environment tests set.
const envBase = `
sync:
  poll_interval: 5m
accounts:
  - name: alice
    email: alice@example.com
    caldav:
      url: https://dav.example.com/
      password_env: TOUCHBASE_TEST_ENV_PW
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "touchbase.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnvOverrides(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"poll interval in file is overridden", map[string]string{"TOUCHBASE_SYNC_POLL_INTERVAL": "1m"}, func(t *testing.T, c *Config) {
			if c.Sync.PollInterval != time.Minute {
				t.Errorf("PollInterval = %s, want 1m", c.Sync.PollInterval)
			}
		}},
		{"stale_after follows an overridden poll interval", map[string]string{"TOUCHBASE_SYNC_POLL_INTERVAL": "30m"}, func(t *testing.T, c *Config) {
			if c.Sync.StaleAfter != 90*time.Minute {
				t.Errorf("StaleAfter = %s, want 1h30m", c.Sync.StaleAfter)
			}
		}},
		{"data_dir absent from the file", map[string]string{"TOUCHBASE_DATA_DIR": "/srv/touchbase"}, func(t *testing.T, c *Config) {
			if c.DataDir != "/srv/touchbase" {
				t.Errorf("DataDir = %q, want /srv/touchbase", c.DataDir)
			}
		}},
		{"relative data_dir resolves against the config dir", map[string]string{"TOUCHBASE_DATA_DIR": "state"}, func(t *testing.T, c *Config) {
			if want := filepath.Join(filepath.Dir(c.Path), "state"); c.DataDir != want {
				t.Errorf("DataDir = %q, want %q", c.DataDir, want)
			}
		}},
		{"listen socket", map[string]string{"TOUCHBASE_LISTEN_SOCKET": "/tmp/tb.sock"}, func(t *testing.T, c *Config) {
			if c.Listen.Socket != "/tmp/tb.sock" {
				t.Errorf("Socket = %q, want /tmp/tb.sock", c.Listen.Socket)
			}
		}},
		{"repeat interval zero", map[string]string{"TOUCHBASE_ALERTING_REPEAT_INTERVAL": "0"}, func(t *testing.T, c *Config) {
			if c.Alerting.RepeatInterval != 0 {
				t.Errorf("RepeatInterval = %s, want 0", c.Alerting.RepeatInterval)
			}
		}},
		{"at_risk_before in days", map[string]string{"TOUCHBASE_ALERTING_AT_RISK_BEFORE": "2d"}, func(t *testing.T, c *Config) {
			if c.Alerting.AtRiskBefore != 48*time.Hour {
				t.Errorf("AtRiskBefore = %s, want 48h", c.Alerting.AtRiskBefore)
			}
		}},
		{"timezone", map[string]string{"TOUCHBASE_TIMEZONE": "Europe/Berlin"}, func(t *testing.T, c *Config) {
			if c.Timezone.String() != "Europe/Berlin" {
				t.Errorf("Timezone = %s, want Europe/Berlin", c.Timezone)
			}
		}},
		{"bool absent from the file", map[string]string{"TOUCHBASE_SYNC_IDLE": "false"}, func(t *testing.T, c *Config) {
			if c.Sync.Idle {
				t.Error("Idle = true, want false")
			}
		}},
		{"list of strings, comma-separated", map[string]string{"TOUCHBASE_INTERNAL_DOMAINS": "a.example,B.Example"}, func(t *testing.T, c *Config) {
			if want := []string{"a.example", "b.example"}; !slices.Equal(c.InternalDomains, want) {
				t.Errorf("InternalDomains = %q, want %q", c.InternalDomains, want)
			}
		}},
		{"log level", map[string]string{"TOUCHBASE_LOG_LEVEL": "debug"}, func(t *testing.T, c *Config) {
			if c.LogLevel != "debug" {
				t.Errorf("LogLevel = %q, want debug", c.LogLevel)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TOUCHBASE_TEST_ENV_PW", "pw")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Load(writeConfig(t, envBase))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, c)
		})
	}
}

// TestEnvBad checks that a bad value from the environment is blamed on the
// variable, not on a line of the file.
func TestEnvBad(t *testing.T) {
	for _, tc := range []struct {
		name, env, value, key, msg string
	}{
		{"month where a fixed duration is needed", "TOUCHBASE_SYNC_POLL_INTERVAL", "1mo", "sync.poll_interval", "months and business days are not allowed here"},
		{"not a bool", "TOUCHBASE_SYNC_IDLE", "maybe", "sync.idle", "want true or false"},
		{"unknown zone", "TOUCHBASE_TIMEZONE", "Mars/Base", "timezone", "unknown time zone"},
		{"unknown store", "TOUCHBASE_STORE", "mysql", "store", `unknown store "mysql" (want sqlite or postgres)`},
		{"list of mappings", "TOUCHBASE_ACCOUNTS", "alice", "accounts", "cannot be set from the environment"},
		{"map", "TOUCHBASE_POLICIES", "weekly", "policies", "cannot be set from the environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TOUCHBASE_TEST_ENV_PW", "pw")
			t.Setenv(tc.env, tc.value)
			_, err := Load(writeConfig(t, envBase))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Load: %v, want config.Errors", err)
			}
			if len(es) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(es), err)
			}
			e := es[0]
			if e.Key != tc.key || e.Line != 0 || !strings.Contains(e.Msg, tc.msg) || !strings.Contains(e.Msg, "$"+tc.env) {
				t.Errorf("got %+v, want key %s, line 0, a message with %q naming $%s", *e, tc.key, tc.msg, tc.env)
			}
		})
	}
}
