package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/internal/testbin"
)

const testVersion = "v0.0.0-test"

// binary builds ./cmd/touchbase once per test run, as a user would:
// CGO_ENABLED=0, version stamped with -ldflags.
func binary(t *testing.T) string {
	return testbin.Build(t, ".", "-ldflags", "-X main.version="+testVersion)
}

func TestMain(m *testing.M) {
	// The config fixtures' secret files as config's TestMain sets them (git
	// keeps no modes): private, but for the one a warning fixture is about.
	secrets, _ := filepath.Glob("../../config/testdata/secrets/*")
	shipped, _ := filepath.Glob("../../configs/secrets/*")
	for _, f := range append(secrets, shipped...) {
		mode := os.FileMode(0o600)
		if filepath.Base(f) == "open.password" {
			mode = 0o644
		}
		if err := os.Chmod(f, mode); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

// The binary is static: no ELF interpreter, so it runs on any Linux.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("binary has an ELF interpreter: it is dynamically linked")
		}
	}
	out, err := exec.Command(binary(t), "version", "--json").Output()
	var b buildInfo
	if err != nil || json.Unmarshal(out, &b) != nil || b.Version != testVersion {
		t.Errorf("version --json = %s, %v; want version %s from -ldflags", out, err, testVersion)
	}
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// notifySocket stands in for systemd's notification socket.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
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
	return path, states
}

// expectStates reads notifications (skipping WATCHDOG=1) and checks that
// each starts with the wanted prefix, in order.
func expectStates(t *testing.T, states <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		timeout := time.After(10 * time.Second)
	next:
		for {
			select {
			case s := <-states:
				if s == "WATCHDOG=1" {
					continue
				}
				if !strings.HasPrefix(s, w) {
					t.Fatalf("sd_notify state %q, want %q", s, w)
				}
				break next
			case <-timeout:
				t.Fatalf("no sd_notify %q within 10s", w)
			}
		}
	}
}

// statusOutput runs `touchbase status` and returns what it printed. Exit
// status 1 with the status printed is no error here: it means a source
// is failing or stale, as the fixtures' unreachable sources are.
func statusOutput(bin string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{"status"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && len(out) > 0 && strings.Contains(stderr.String(), "failing or stale") {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, stderr.Bytes())
	}
	return out, nil
}

// statusJSON runs `touchbase status --json`.
func statusJSON(t *testing.T, args ...string) daemon.Status {
	t.Helper()
	out, err := statusOutput(binary(t), append([]string{"--json"}, args...)...)
	if err != nil {
		t.Fatalf("status --json: %v", err)
	}
	var st daemon.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status --json printed %s: %v", out, err)
	}
	return st
}

func httpGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The real binary, as systemd runs it: READY=1 once serving, status over
// the socket, HTTP with token, SIGHUP with a good then a bad config
// (RELOADING=1/READY=1 each time, the bad one logged and ignored), SIGTERM
// ending with STOPPING=1 and exit 0 within 10 s.
func TestDaemonBinary(t *testing.T) {
	addr := freeAddr(t)
	path := setupConfig(t, "daemon.yaml", "HTTP_ADDR", addr)
	dir := filepath.Dir(path)
	notifyPath, states := notifySocket(t)
	stderrPath := filepath.Join(dir, "stderr.log")
	stderr, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	var fi syscall.Stat_t
	if err := syscall.Fstat(int(stderr.Fd()), &fi); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "daemon", "--config", path)
	cmd.Stderr = stderr
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifyPath, "WATCHDOG_USEC=2000000",
		fmt.Sprintf("JOURNAL_STREAM=%d:%d", fi.Dev, fi.Ino))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(stderrPath)
			t.Logf("daemon stderr:\n%s", b)
		}
	}()

	expectStates(t, states, "READY=1")
	st := statusJSON(t, "--config", path)
	if st.Version != testVersion || st.PID != cmd.Process.Pid || st.Config.PollInterval != "5m0s" || !st.Ready {
		t.Errorf("status %+v: want version %s, pid %d, poll 5m0s, ready", st, testVersion, cmd.Process.Pid)
	}
	out, err := statusOutput(binary(t), "--config", path)
	if err != nil || !strings.Contains(string(out), "imap:alice") || !strings.Contains(string(out), "SOURCE") {
		t.Errorf("status table: %v\n%s", err, out)
	}

	for _, tc := range []struct{ path, token string }{{"/healthz", ""}, {"/readyz", testToken}, {"/metrics", testToken}} {
		if code, body := httpGet(t, "http://"+addr+tc.path, tc.token); code != 200 {
			t.Errorf("GET %s: %d %s", tc.path, code, body)
		}
	}
	if code, _ := httpGet(t, "http://"+addr+"/v1/status", ""); code != 401 {
		t.Errorf("GET /v1/status without token: %d, want 401", code)
	}
	if _, body := httpGet(t, "http://"+addr+"/metrics", testToken); !strings.Contains(body, `touchbase_build_info{goversion=`) ||
		!strings.Contains(body, `version="`+testVersion+`"`) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics lacks build info or Go metrics")
	}

	writeConfig(t, path, "daemon.yaml", "HTTP_ADDR", addr, "poll_interval: 5m", "poll_interval: 2m", "log_level: info", "log_level: debug")
	cmd.Process.Signal(syscall.SIGHUP)
	expectStates(t, states, "RELOADING=1", "READY=1")
	if st := statusJSON(t, "--config", path); st.Config.PollInterval != "2m0s" || st.Config.LogLevel != "debug" {
		t.Errorf("after SIGHUP with a good config: %+v, want poll 2m0s, debug", st.Config)
	}

	writeConfig(t, path, "daemon.yaml", "HTTP_ADDR", addr, "poll_interval: 5m", "poll_interval: 1m", "sync:", "bogus_key: 1\nsync:")
	cmd.Process.Signal(syscall.SIGHUP)
	expectStates(t, states, "RELOADING=1", "READY=1")
	// The file on disk is broken now: name the socket instead.
	socket := filepath.Join(dir, "tb.sock")
	if st := statusJSON(t, "--socket", socket); st.Config.PollInterval != "2m0s" {
		t.Errorf("after SIGHUP with a bad config: poll %s, want the old 2m0s", st.Config.PollInterval)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	expectStates(t, states, "STOPPING=1")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon still running 10s after SIGTERM")
	}
	if code, _, errOut := runCLI(t, "status", "--socket", socket); code != 1 || !strings.Contains(errOut, "no daemon running") {
		t.Errorf("status after shutdown: exit %d, %q; want 1, no daemon running", code, errOut)
	}
	checkLogs(t, stderrPath)
}

// checkLogs wants JSON lines without a time key (stderr is the "journal"
// stream), the bad reload logged with its problem, and no secret.
func checkLogs(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(testToken)) {
		t.Error("the API token appears in the logs")
	}
	var rejected bool
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if _, ok := entry["ts"]; ok {
			t.Errorf("log line has a time key under journald: %q", line)
		}
		if entry["msg"] == "reload rejected, keeping the running configuration" && strings.Contains(line, "bogus_key: unknown key") {
			rejected = true
		}
	}
	if !rejected {
		t.Errorf("no log entry for the rejected reload naming bogus_key:\n%s", b)
	}
}
