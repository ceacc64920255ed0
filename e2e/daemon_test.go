package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/internal/testbin"
)

// binary builds ./cmd/touchbase once per test run, static as released.
func binary(t *testing.T) string { return testbin.Build(t, "../cmd/touchbase") }

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

// proc is a running `touchbase daemon`.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// startDaemon runs `touchbase daemon --config cfg`, appending its JSON log
// to logPath. The process is killed at the end of the test if still up.
func startDaemon(t *testing.T, cfg, logPath string) *proc {
	t.Helper()
	return startDaemonEnv(t, cfg, logPath, nil)
}

// startDaemonEnv is startDaemon with env (KEY=VALUE) added to the test's
// environment: TOUCHBASE_* overrides for this daemon alone.
func startDaemonEnv(t *testing.T, cfg, logPath string, env []string) *proc {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the child has its own descriptor
	p := &proc{cmd: exec.Command(binary(t), "daemon", "--config", cfg), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and requires a clean exit within SPEC's 10 s.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(12 * time.Second):
		t.Fatal("daemon still running 12 s after SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("daemon exit after SIGTERM: %v", p.err)
	}
}

// api reads the daemon's loopback HTTP listener.
type api struct{ base string }

func (a api) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, nil
}

func (a api) status(ctx context.Context) (*daemon.Status, error) {
	b, err := a.get(ctx, "/v1/status")
	if err != nil {
		return nil, err
	}
	var st daemon.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode status: %w", err)
	}
	return &st, nil
}

// evaluations is how many evaluations the running process has finished
// (the count of touchbase_evaluation_duration_seconds).
func (a api) evaluations(ctx context.Context) (int, error) {
	b, err := a.get(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "touchbase_evaluation_duration_seconds_count "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("no touchbase_evaluation_duration_seconds_count in /metrics")
}

// waitFor polls cond every 100 ms until it holds or timeout passes; the
// last error cond returned explains a timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeAddr is a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
