package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/demo"
	"github.com/touchbase/touchbase/internal/testbed"
)

// The test bed accounts of the test of one account failing beside another
// (testbed.Users): frank carries the customer north's mail, grace south's.
var teamAccounts = map[string]string{"frank@example.test": "frank-pass", "grace@example.test": "grace-pass"}

// staleAfter is the configuration's sync.stale_after: short, so that the
// failing account turns stale within the test, long enough that a slow
// pass (under -race, on a loaded machine) does not leave the other stale.
const staleAfter = 10 * time.Second

// team is frank's and grace's mailboxes on the test bed with a month of
// answered questions, and a configuration for them.
type team struct {
	env  testbed.Env
	sink *demo.Sink
	dir  string
	cfg  string
	http string
}

func setUpTeam(t *testing.T) *team {
	t.Helper()
	env := testbed.Up(t)
	tm := &team{env: env, dir: t.TempDir(), http: freeAddr(t)}
	now := time.Now()
	for user, pass := range teamAccounts {
		emptyMailbox(t, env, user, pass)
		if err := os.WriteFile(filepath.Join(tm.dir, strings.Split(user, "@")[0]+".password"), []byte(pass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A question and its answer a month ago on each account.
	tm.append(t, "frank@example.test",
		mailAt("q1@north.example", "ann@north.example", "frank@example.test", "Question", "", now.Add(-30*24*time.Hour)),
		mailAt("a1@example.test", "frank@example.test", "ann@north.example", "Re: Question", "q1@north.example", now.Add(-29*24*time.Hour)))
	tm.append(t, "grace@example.test",
		mailAt("q1@south.example", "bob@south.example", "grace@example.test", "Question", "", now.Add(-30*24*time.Hour)),
		mailAt("a1s@example.test", "grace@example.test", "bob@south.example", "Re: Question", "q1@south.example", now.Add(-29*24*time.Hour)))
	secret, err := demo.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tm.dir, "hook.whsec"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tm.sink, err = demo.NewSink(secret, demo.SinkOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.sink.Close() })
	var accounts strings.Builder
	for _, name := range []string{"frank", "grace"} {
		fmt.Fprintf(&accounts, `  - name: %[1]s
    email: %[1]s@example.test
    imap: {addr: %[2]q, tls: starttls, tls_ca_file: %[3]q, password_file: %[4]q}
`, name, env["TESTBED_IMAP_ADDR"], env["TESTBED_TLS_CA"], filepath.Join(tm.dir, name+".password"))
	}
	cfg := fmt.Sprintf(`data_dir: %q
timezone: UTC
internal_domains: [example.test]
listen: {socket: %q, http: %q}
sync: {backfill: 60d, poll_interval: 1s, idle: false, stale_after: %s}
accounts:
%scustomers:
  - {id: north, name: North, domains: [north.example], owner: frank, commitments: [reply]}
  - {id: south, name: South, domains: [south.example], owner: grace, commitments: [reply]}
policies:
  reply: {type: reply, within: 1d}
webhooks:
  - {name: sink, url: %q, secret_file: %q}
`, filepath.Join(tm.dir, "data"), filepath.Join(tm.dir, "tb.sock"), tm.http, staleAfter, accounts.String(),
		tm.sink.URL(), filepath.Join(tm.dir, "hook.whsec"))
	tm.cfg = filepath.Join(tm.dir, "touchbase.yaml")
	if err := os.WriteFile(tm.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return tm
}

func (tm *team) append(t *testing.T, user string, mails ...demo.Mail) {
	t.Helper()
	if err := demo.AppendIMAP(t.Context(), tm.env["TESTBED_IMAP_ADDR"], user, teamAccounts[user], mails); err != nil {
		t.Fatal(err)
	}
}

// breakFrank changes frank's password in the configuration's secret file
// (his password changed on the server, say), and brings each account a
// new question from its customer, three days old: only grace's can be
// seen.
func (tm *team) breakFrank(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(tm.dir, "frank.password"), []byte("an-old-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ago := time.Now().Add(-3 * 24 * time.Hour)
	tm.append(t, "frank@example.test", mailAt("q2@north.example", "ann@north.example", "frank@example.test", "Another question", "", ago))
	tm.append(t, "grace@example.test", mailAt("q2@south.example", "bob@south.example", "grace@example.test", "Another question", "", ago))
}

// mailAt is a plain mail; the sender's domain decides its folder.
func mailAt(id, from, to, subject, inReplyTo string, at time.Time) demo.Mail {
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "Message-ID: <%s>\r\nDate: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n", id, at.Format(time.RFC1123Z), from, to, subject)
	if inReplyTo != "" {
		fmt.Fprintf(&raw, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", inReplyTo, inReplyTo)
	}
	raw.WriteString("Content-Type: text/plain\r\n\r\nHello.\r\n")
	folder := demo.Inbox
	if strings.HasSuffix(from, "@example.test") {
		folder = demo.Sent
	}
	return demo.Mail{Folder: folder, MessageID: id, Subject: subject, Date: at, Raw: raw.Bytes()}
}

// checkOnlyFranksCustomerUnknown checks what arrived once frank's account
// was stale: south's unanswered question slipped, frank's mailbox is
// announced failing, nothing about north, which is unknown.
func (tm *team) checkOnlyFranksCustomerUnknown(t *testing.T) {
	t.Helper()
	var got []string
	for _, d := range tm.sink.Events() {
		key := d.Type
		if d.Alert != nil {
			key += " " + d.Alert.Customer.ID + "/" + d.Alert.Commitment.Name
		} else {
			var data struct {
				Source string `json:"source"`
			}
			if err := json.Unmarshal(d.Data, &data); err == nil && data.Source != "" {
				key += " " + data.Source
			}
		}
		if !slices.Contains(got, key) {
			got = append(got, key)
		}
	}
	slices.Sort(got)
	want := []string{"commitment.slipped south/reply", "sync.failing imap:frank"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q; want %q", got, want)
	}
	out, err := exec.Command(binary(t), "customers", "--json", "--config", tm.cfg).Output()
	if err != nil {
		t.Fatalf("customers --json: %v", err)
	}
	var rows []struct{ ID, State string }
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range rows {
		states[r.ID] = r.State
	}
	if states["north"] != "unknown" || states["south"] != "slipped" {
		t.Errorf("states %v; want north unknown (its mail came through frank's mailbox), south slipped", states)
	}
}

// One account loses its login after a first sync, run from cron: only the
// customer whose mail it carried goes unknown, a new slip on the other
// account's customer fires, and sync.failing arrives.
func TestOneAccountFailsRunOnce(t *testing.T) {
	tm := setUpTeam(t)
	run := func() (int, string) {
		cmd := exec.Command(binary(t), "run", "--once", "--config", tm.cfg)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stderr.String()
	}
	if code, stderr := run(); code != 0 {
		t.Fatalf("first run --once: exit %d\n%s", code, stderr)
	}
	if evs := tm.sink.Events(); len(evs) != 0 {
		t.Fatalf("first pass sent %d events; want none (every question was answered)", len(evs))
	}
	tm.breakFrank(t)
	time.Sleep(staleAfter + time.Second)
	code, stderr := run()
	if code != 1 || !strings.Contains(stderr, "imap:frank") {
		t.Fatalf("second run --once: exit %d; want 1 naming imap:frank\n%s", code, stderr)
	}
	tm.checkOnlyFranksCustomerUnknown(t)
}

// The same in the daemon: frank's password changes and the daemon reloads
// (SIGHUP), so his mailbox fails from then on.
func TestOneAccountFailsDaemon(t *testing.T) {
	tm := setUpTeam(t)
	p := startDaemon(t, tm.cfg, filepath.Join(tm.dir, "daemon.log"))
	a := api{base: "http://" + tm.http}
	waitFor(t, 30*time.Second, "both mailboxes synced", func(ctx context.Context) (bool, error) {
		st, err := a.status(ctx)
		if err != nil {
			return false, err
		}
		n := 0
		for _, s := range st.Sources {
			if s.LastSuccessAt != nil {
				n++
			}
		}
		return n == 2, nil
	})
	tm.breakFrank(t)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "south's slip and frank's failure announced", func(ctx context.Context) (bool, error) {
		n := 0
		for _, d := range tm.sink.Events() {
			if d.Type == "sync.failing" || (d.Alert != nil && d.Alert.Customer.ID == "south") {
				n++
			}
		}
		return n >= 2, nil
	})
	tm.checkOnlyFranksCustomerUnknown(t)
	if t.Failed() {
		log, _ := os.ReadFile(filepath.Join(tm.dir, "daemon.log"))
		t.Logf("daemon log:\n%s", log)
	}
	p.stop(t)
}
