package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// setupConfig copies testdata/name into a new temporary folder as
// touchbase.yaml, replacing old with new strings (pairs), and returns its path.
func setupConfig(t *testing.T, name string, replace ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "touchbase.yaml")
	writeConfig(t, path, name, replace...)
	return path
}

func writeConfig(t *testing.T, path, name string, replace ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(replace...).Replace(string(b))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// listenNotify stands in for systemd: it sets NOTIFY_SOCKET to a unixgram
// socket and returns the states sent to it, in order.
func listenNotify(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	states := make(chan string, 1000)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			states <- string(buf[:n])
		}
	}()
	return states
}

// nextState returns the next notification other than WATCHDOG=1.
func nextState(t *testing.T, states <-chan string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-states:
			if s != "WATCHDOG=1" {
				return s
			}
		case <-timeout:
			t.Fatal("no sd_notify state within 10s")
		}
	}
}

func waitState(t *testing.T, states <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-states:
			if s == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %s within 10s", want)
		}
	}
}

// getStatus asks the daemon on socket for /v1/status.
func getStatus(t *testing.T, socket string) Status {
	t.Helper()
	client := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	resp, err := client.Get("http://touchbase/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/status: %s %s", resp.Status, body)
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("decode status %s: %v", body, err)
	}
	return st
}

// The daemon tells systemd READY=1, RELOADING=1 + READY=1 around each
// reload, WATCHDOG=1 while healthy and STOPPING=1; a good reload changes
// what status reports and the log level, a bad one changes nothing.
func TestRunReloadNotify(t *testing.T) {
	path := setupConfig(t, "daemon.yaml")
	socket := filepath.Join(filepath.Dir(path), "tb.sock")
	states := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	core, logs := observer.New(zapcore.InfoLevel)
	level := zap.NewAtomicLevel()
	d, err := New(t.Context(), Options{ConfigPath: path, Version: "test-1", Logger: zap.New(core), Level: level})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	if got := nextState(t, states); got != "READY=1" {
		t.Fatalf("first state %q, want READY=1", got)
	}
	waitState(t, states, "WATCHDOG=1")
	st := getStatus(t, socket)
	if st.Version != "test-1" || st.PID != os.Getpid() || !st.Ready || st.Config.PollInterval != "5m0s" || st.Config.Path != path {
		t.Errorf("status %+v: want version test-1, this pid, ready, poll 5m0s, config %s", st, path)
	}
	if len(st.Sources) != 1 || st.Sources[0].Name != "imap:alice" || !st.Sources[0].Stale || st.Sources[0].LastSuccessAt != nil {
		t.Errorf("sources %+v: want imap:alice, never synced, stale", st.Sources)
	}

	writeConfig(t, path, "daemon.yaml", "poll_interval: 5m", "poll_interval: 2m", "log_level: info", "log_level: debug")
	if err := d.Reload(ctx); err != nil {
		t.Fatalf("reload good config: %v", err)
	}
	expectReload(t, states)
	st2 := getStatus(t, socket)
	if st2.Config.PollInterval != "2m0s" || st2.Config.LogLevel != "debug" || !st2.Config.LoadedAt.After(st.Config.LoadedAt) {
		t.Errorf("after reload: config %+v, want poll 2m0s, debug, loaded after %v", st2.Config, st.Config.LoadedAt)
	}
	if level.Level() != zapcore.DebugLevel {
		t.Errorf("log level %v after reload, want debug", level.Level())
	}

	writeConfig(t, path, "daemon.yaml", "poll_interval: 5m", "poll_interval: 1m", "sync:", "bogus_key: 1\nsync:")
	err = d.Reload(ctx)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "bogus_key") {
		t.Errorf("reload bad config = %v, want a ConfigError naming bogus_key", err)
	}
	expectReload(t, states)
	if st3 := getStatus(t, socket); st3.Config.PollInterval != "2m0s" || !st3.Config.LoadedAt.Equal(st2.Config.LoadedAt) {
		t.Errorf("after bad reload: config %+v, want the previous one kept", st3.Config)
	}
	rejected := logs.FilterMessage("reload rejected, keeping the running configuration").All()
	if len(rejected) != 1 || !strings.Contains(fmt.Sprint(rejected[0].ContextMap()[keyProblems]), "bogus_key") {
		t.Errorf("log of the rejected reload: %+v, want one entry naming bogus_key", rejected)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if got := nextState(t, states); got != "STOPPING=1" {
		t.Errorf("state at shutdown %q, want STOPPING=1", got)
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind after shutdown: %v", err)
	}
}

func expectReload(t *testing.T, states <-chan string) {
	t.Helper()
	if got := nextState(t, states); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Errorf("state %q, want RELOADING=1 with MONOTONIC_USEC", got)
	}
	if got := nextState(t, states); got != "READY=1" {
		t.Errorf("state %q after reloading, want READY=1", got)
	}
}

// Settings the running daemon cannot change are rejected on reload.
func TestReloadRejectsRestartSettings(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
	}{
		{"data_dir", "data_dir: data", "data_dir: other"},
		{"listen.socket", "socket: tb.sock", "socket: other.sock"},
		{"listen.http", "socket: tb.sock", "socket: tb.sock\n  http: 127.0.0.1:9464"},
		{"store", "data_dir: data", "data_dir: data\nstore: postgres\npostgres: {dsn_file: pg.dsn}"},
		{"postgres.dsn_file", "data_dir: data", "data_dir: data\npostgres: {dsn_file: pg.dsn}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := setupConfig(t, "daemon.yaml")
			dsn := "postgres://touchbase@127.0.0.1:1/touchbase\n" // never connected to: the reload stops first
			if err := os.WriteFile(filepath.Join(filepath.Dir(path), "pg.dsn"), []byte(dsn), 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := New(t.Context(), Options{ConfigPath: path})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			before := d.Config()
			writeConfig(t, path, "daemon.yaml", tc.old, tc.new)
			err = d.Reload(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.name+" changed") || !strings.Contains(err.Error(), "restart needed") {
				t.Errorf("Reload = %v, want %s rejected: restart needed", err, tc.name)
			}
			if d.Config() != before {
				t.Error("the configuration was replaced")
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	path := setupConfig(t, "daemon.yaml", "data_dir: data", "data_dir: data\nlisten_typo: 1\ntimezone: Mars/Base")
	_, err := New(t.Context(), Options{ConfigPath: path})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New = %v, want a *ConfigError", err)
	}
	for _, want := range []string{"listen_typo", "timezone"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// A configuration with warnings loads, and the daemon logs them: the
// journal is where a file that never went through `check` shows them.
func TestNewLogsWarnings(t *testing.T) {
	path := setupConfig(t, "daemon.yaml", "domains: [acme.example]", "domains: [acme.example]\n  - id: acme-eu\n    domains: [eu.acme.example]")
	core, logs := observer.New(zapcore.InfoLevel)
	d, err := New(t.Context(), Options{ConfigPath: path, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := logs.FilterMessage("configuration has warnings").All()
	if len(got) != 1 || !strings.Contains(fmt.Sprint(got[0].ContextMap()[keyWarnings]), `customers[1].domains[0]: domain "eu.acme.example" lies under "acme.example"`) {
		t.Errorf("warning logs %+v, want one naming customers[1].domains[0]", got)
	}
}

// A refused reload shows in Status — when, the first problem, how many —
// until a reload succeeds.
func TestStatusShowsRejectedReload(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	path := setupConfig(t, "daemon.yaml")
	d, err := New(t.Context(), Options{ConfigPath: path, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := d.Status(t.Context())
	if err != nil || st.Config.RejectedReload != nil {
		t.Fatalf("status before any reload: %+v, %v; want no rejected reload", st.Config.RejectedReload, err)
	}
	writeConfig(t, path, "daemon.yaml", "data_dir: data", "data_dir: data\nlisten_typo: 1\ntimezone: Mars/Base")
	if err := d.Reload(t.Context()); err == nil {
		t.Fatal("Reload of a broken file succeeded")
	}
	st, err = d.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r := st.Config.RejectedReload
	if r == nil || !r.At.Equal(now) || r.Problems != 2 || !strings.Contains(r.Error, "listen_typo") {
		t.Fatalf("rejected reload %+v; want at %v, 2 problems, the first naming listen_typo", r, now)
	}
	writeConfig(t, path, "daemon.yaml")
	if err := d.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, _ = d.Status(t.Context()); st.Config.RejectedReload != nil {
		t.Errorf("after a good reload: %+v; want none", st.Config.RejectedReload)
	}
}
