package main

import (
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/daemon"
)

// The fixture's accounts: a pass without them syncs nothing and fails
// nothing, so only the deliveries can fail it.
const fixtureAccounts = `accounts:
  - name: alice
    email: alice@us.example
    imap:
      addr: 127.0.0.1:1
      tls: none
      password_file: secret.password
    caldav:
      url: http://127.0.0.1:1/alice/
      password_file: secret.password
`

// TestRunOnceFailedDeliveries: a pass whose every webhook delivery got a
// 500 exits 1 naming the endpoints, and says so in its summary, although
// no source failed.
func TestRunOnceFailedDeliveries(t *testing.T) {
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusInternalServerError)
	f := newFixture(t, rcv.URL)
	writeConfig(t, f.config, "data.yaml", "RECEIVER", rcv.URL, fixtureAccounts, "", "    owner: alice\n", "")
	if b, _ := os.ReadFile(f.config); strings.Contains(string(b), "accounts:") {
		t.Fatal("the accounts are still in the configuration")
	}
	code, out, errOut := runCLI(t, "run", "--once", "--config", f.config)
	last := errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:]
	if code != 1 || !strings.HasPrefix(last, "touchbase: deliver: ") || !strings.Contains(last, "webhook deliveries failed (endpoints chat, ops;") {
		t.Fatalf("run --once: exit %d, last line %q; want 1 and the failing endpoints named", code, last)
	}
	if rcv.count() == 0 {
		t.Fatal("the receiver got nothing")
	}
	// The pass evaluates at the wall clock's now, so how many alerts it
	// opens depends on the day: only their place is checked.
	want := regexp.MustCompile(`^Sources: 0 synced, 0 failed\. Stored 0 mails and 0 meetings\. Alerts: \d+ opened, \d+ resolved\. ` +
		`Webhook deliveries: 0 sent, ` + strconv.Itoa(rcv.count()) + ` failed \(chat, ops\)\.\n$`)
	if !want.MatchString(out) {
		t.Errorf("summary:\n%s\nwant it to match %s", out, want)
	}

	// The next pass: the receiver is back, and the retries are not due
	// yet, so nothing is sent and nothing fails.
	rcv.status.Store(http.StatusOK)
	code, out, errOut = runCLI(t, "run", "--once", "--config", f.config)
	if code != 0 || !strings.Contains(out, "Webhook deliveries: 0 sent, 0 failed.") {
		t.Errorf("second run --once: exit %d, stdout %q, stderr %q; want 0, nothing sent", code, out, errOut)
	}
}

// count is how many requests the receiver got.
func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// On a terminal, log lines are zap's console lines, not JSON.
func TestLoggerConsole(t *testing.T) {
	var buf strings.Builder
	log, _ := newLogger(&buf, false, true)
	log.Info("shown", zap.String("k", "v"))
	line := buf.String()
	if strings.HasPrefix(line, "{") || !strings.Contains(line, "INFO\tshown\t{\"k\": \"v\"}") {
		t.Errorf("console line %q, want a readable INFO line with its fields", line)
	}
}

// In a cluster, the summary names what the pass left to a running daemon.
func TestPassSummarySkipped(t *testing.T) {
	got := passSummary(daemon.PassResult{Synced: []string{"imap:alice"}, Skipped: []string{"evaluation", "imap:bob"}})
	want := "Sources: 1 synced, 0 failed, 2 skipped: another daemon holds evaluation, imap:bob. Stored 0 mails"
	if !strings.HasPrefix(got, want) {
		t.Errorf("summary %q; want it to start %q", got, want)
	}
}
