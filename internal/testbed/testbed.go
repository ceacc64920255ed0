// Package testbed gives integration tests the real Dovecot and Radicale
// servers of ../shared/testbed (beside the repository). It starts them with
// `testbed/up` (idempotent) and returns the addresses it prints.
//
// When the testbed is absent (a developer's machine without shared/), tests
// are skipped with a loud message; under CI (CI=true) they fail instead, so
// CI can never pass by skipping.
package testbed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Users is the test bed's user list. alice, bob and carol are the test
// bed's defaults (CalDAV tests use alice; IMAP tests bob, the IMAP benchmark
// carol); dave is reserved for the end-to-end test, erin for the
// evaluation runner's integration test, frank and grace for the
// end-to-end test of one account failing beside another, henry, ivy, jack,
// kate, leo and mia for the end-to-end test of three daemons sharing one
// configuration and one store; bench1 for bench/caldav, which rewrites its
// calendar (no test touches it, so a benchmark can run beside the tests).
const Users = "alice@example.test:alice-pass,bob@example.test:bob-pass,carol@example.test:carol-pass,dave@example.test:dave-pass,erin@example.test:erin-pass,frank@example.test:frank-pass,grace@example.test:grace-pass,henry@example.test:henry-pass,ivy@example.test:ivy-pass,jack@example.test:jack-pass,kate@example.test:kate-pass,leo@example.test:leo-pass,mia@example.test:mia-pass,bench1@example.test:bench1-pass"

// Env is the KEY=VALUE output of testbed/up, e.g. TESTBED_IMAP_ADDR.
type Env map[string]string

var (
	once    sync.Once
	env     Env
	upError error
)

// Dir returns the testbed's script folder (../shared/testbed from the
// repository root), or TOUCHBASE_TESTBED when set.
func Dir() string {
	if d := os.Getenv("TOUCHBASE_TESTBED"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Join(root, "..", "shared", "testbed")
}

// Up starts the testbed once per test binary and returns its environment.
// It skips t (or fails it under CI) when the testbed cannot be started.
func Up(t testing.TB) Env {
	t.Helper()
	once.Do(func() { env, upError = up() })
	if upError != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testbed required under CI: %v", upError)
		}
		t.Skipf("\n*** SKIPPING INTEGRATION TEST: testbed unavailable: %v ***\n", upError)
	}
	return env
}

func up() (Env, error) {
	script := filepath.Join(Dir(), "up")
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("no testbed at %s", Dir())
	}
	// Combined output: the KEY=VALUE lines are told apart from the
	// "[testbed] ..." log lines below.
	out, err := run(script)
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", script, err, out)
	}
	e := Env{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && strings.HasPrefix(k, "TESTBED_") {
			e[k] = v
		}
	}
	if e["TESTBED_IMAP_ADDR"] == "" {
		return nil, fmt.Errorf("%s printed no TESTBED_IMAP_ADDR", script)
	}
	return e, nil
}

// Seed runs testbed/seed with args (e.g. "--user", "bob@example.test",
// "--messages", "50", "--reset") and fails t on error.
func Seed(t testing.TB, args ...string) {
	t.Helper()
	out, err := run(filepath.Join(Dir(), "seed"), args...)
	if err != nil {
		t.Fatalf("testbed seed %v: %v\n%s", args, err, out)
	}
}

// run runs a testbed script and returns its combined output, again when it
// dies of SIGPIPE (exit 141): the scripts' first_user pipes user_names into
// head under pipefail, which fails now and then, more often with more
// users, before the script has changed anything.
func run(script string, args ...string) ([]byte, error) {
	for try := 1; ; try++ {
		cmd := exec.Command(script, args...)
		cmd.Env = os.Environ()
		if os.Getenv("TESTBED_USERS") == "" {
			cmd.Env = append(cmd.Env, "TESTBED_USERS="+Users)
		}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if try < 5 && errors.As(err, &exit) && exit.ExitCode() == 141 {
			continue
		}
		return out, err
	}
}

// DAV sends one WebDAV request (a PUT of a calendar object, a DELETE) to
// the test bed's CalDAV server as user and returns the status code; a body
// is sent as text/calendar. Transport errors fail t.
func DAV(t testing.TB, method, url, user, pass string, body []byte) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
