package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/demo"
	"github.com/touchbase/touchbase/internal/pgtest"
	"github.com/touchbase/touchbase/internal/testbed"
)

// The test bed accounts of the three-daemon test (testbed.Users): the
// scenario's mail and meetings are spread over them.
var clusterUsers = []string{"henry", "ivy", "jack", "kate", "leo", "mia"}

// The cluster's timing: short, so that a takeover is seen within seconds.
const (
	clusterLease = 3 * time.Second
	clusterPoll  = time.Second
	// takeoverSlack is what a loaded CI machine may add to a takeover,
	// beyond lease expiry plus one poll: the sync itself, process start-up
	// of SQLite connections, scheduling.
	takeoverSlack = 4 * time.Second
	// resendWithin bounds the re-send of a delivery whose sender died: the
	// dispatcher's claim lasts 3 × its 10 s timeout.
	resendWithin = 45 * time.Second
)

// Three daemons on the built binary share one configuration and one
// SQLite store (WAL, one host). See runThreeDaemons.
func TestThreeDaemonsSQLite(t *testing.T) {
	runThreeDaemons(t, map[string]any{"store": "sqlite"})
}

// node is one of the cluster's daemons.
type node struct {
	*proc
	name string
	api  api
	sock string
	log  string
}

func (n *node) pid() int { return n.cmd.Process.Pid }

func (n *node) alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// cluster is the seeded test bed, the sink and the daemons.
type cluster struct {
	env   testbed.Env
	h     *demo.History
	sink  *demo.Sink
	stall chan chan demo.Delivery // armed: the next new event is handed over, and held until the channel sent on is read
	dir   string
	cfg   string
	kate  *throttle // kate's IMAP goes through it
	nodes []*node
}

// runThreeDaemons proves that several daemons share the work safely:
// three daemons sharing one configuration and the store that storeBlock
// configures (top-level keys: store, and the backend's own), six accounts
// on the test bed's Dovecot and Radicale with the e2e scenario's history
// spread over them. The exact expected set of webhooks arrives once each;
// then one daemon is SIGKILLed in the middle of a sync and another in the
// middle of a delivery: every source keeps syncing within lease expiry
// plus one poll, nothing is lost, and the delivery the dead daemon had
// sent is sent again with its webhook-id.
func runThreeDaemons(t *testing.T, storeBlock map[string]any) {
	c := setUpCluster(t, storeBlock)
	binary(t)
	start := time.Now()
	for i := range 3 {
		c.startNode(t, i)
	}
	defer c.dumpLogsOnFailure(t)
	waitFor(t, 60*time.Second, "the expected alerts", func(context.Context) (bool, error) {
		return missing(c.sink.Events(), c.h.Expected) == nil, nil
	})
	t.Logf("expected alerts all delivered %.1fs after the daemons started", time.Since(start).Seconds())
	c.waitSpread(t)
	c.settle(t)
	checkEvents(t, c.sink, c.h, c.h.Expected, clusterUsers[0])
	if n := c.sink.Duplicates(); n != 0 {
		t.Fatalf("%d deliveries repeated a webhook-id before any daemon died", n)
	}

	c.killMidSync(t)
	want := c.killMidDelivery(t)
	checkEvents(t, c.sink, c.h, want, clusterUsers[0])

	last := c.alive()[0]
	c.checkStatusCLI(t, last)
	if got := c.leasesHeld(t, last, "source"); got != 2*len(clusterUsers) {
		t.Errorf("the last daemon's touchbase_leases_held{kind=source} = %d, want %d", got, 2*len(clusterUsers))
	}
	last.stop(t)
	t.Logf("three daemons: %.1fs from the first start to the last stop", time.Since(start).Seconds())
}

// setUpCluster seeds the six accounts with the scenario (each mail and
// each event on one account, by a hash), starts the sink and kate's
// throttle, and writes the one configuration.
func setUpCluster(t *testing.T, storeBlock map[string]any) *cluster {
	t.Helper()
	env := testbed.Up(t)
	c := &cluster{env: env, h: demo.Scenario(time.Now()), dir: t.TempDir(), stall: make(chan chan demo.Delivery, 1)}
	mails := map[string][]demo.Mail{}
	for _, m := range c.h.Mails {
		u := spread(m.MessageID + " " + m.Owner)
		mails[u] = append(mails[u], m)
	}
	events := map[string][]demo.Event{}
	for _, e := range uniqueEvents(c.h) {
		u := spread(e.UID)
		events[u] = append(events[u], e)
	}
	var accounts []demo.AccountOptions
	c.kate = newThrottle(t, env["TESTBED_IMAP_ADDR"])
	for _, u := range clusterUsers {
		user, pass := u+"@example.test", u+"-pass"
		emptyMailbox(t, env, user, pass)
		if err := demo.AppendIMAP(t.Context(), env["TESTBED_IMAP_ADDR"], user, pass, mails[u]); err != nil {
			t.Fatal(err)
		}
		seedCalendar(t, env, user, pass, events[u])
		pw := filepath.Join(c.dir, u+".password")
		if err := os.WriteFile(pw, []byte(pass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := env["TESTBED_IMAP_ADDR"]
		if u == "kate" {
			addr = c.kate.addr()
		}
		accounts = append(accounts, demo.AccountOptions{Name: u, Email: user, IMAPAddr: addr, IMAPTLS: "starttls",
			TLSCAFile: env["TESTBED_TLS_CA"], CalDAVURL: env["TESTBED_CALDAV_URL"], PasswordFile: pw})
	}
	secret, err := demo.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	whsec := filepath.Join(c.dir, "webhook.whsec")
	if err := os.WriteFile(whsec, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.sink, err = demo.NewSink(secret, demo.SinkOptions{OnEvent: c.onEvent}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.sink.Close() })
	y, err := c.h.ConfigYAML(demo.ConfigOptions{DataDir: filepath.Join(c.dir, "data"), PollInterval: clusterPoll.String(),
		Accounts: accounts, WebhookURL: c.sink.URL(), WebhookSecretFile: whsec})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]any{"cluster": map[string]any{"enabled": true, "lease_duration": clusterLease.String()}}
	for k, v := range storeBlock {
		keys[k] = v
	}
	if y, err = withKeys(y, keys); err != nil {
		t.Fatal(err)
	}
	c.cfg = filepath.Join(c.dir, "touchbase.yaml")
	if err := os.WriteFile(c.cfg, y, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// spread picks the account a mail or an event is seeded into.
func spread(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return clusterUsers[h.Sum32()%uint32(len(clusterUsers))]
}

// withKeys sets top-level keys of a YAML configuration.
func withKeys(y []byte, keys map[string]any) ([]byte, error) {
	var m map[string]any
	if err := yaml.Unmarshal(y, &m); err != nil {
		return nil, err
	}
	for k, v := range keys {
		m[k] = v
	}
	return yaml.Marshal(m)
}

// onEvent is the sink's hook: when the test armed it, the event is handed
// over and its 2xx held back until the test says so.
func (c *cluster) onEvent(d demo.Delivery) {
	select {
	case held := <-c.stall:
		held <- d
		<-held // the test reads d back once the sender is dead
	default:
	}
}

// startNode starts daemon i on the shared configuration, with a socket
// and an HTTP listener of its own (the one setting daemons on one host
// cannot share).
func (c *cluster) startNode(t *testing.T, i int) {
	t.Helper()
	n := &node{name: fmt.Sprintf("d%d", i+1), sock: filepath.Join(c.dir, fmt.Sprintf("d%d.sock", i+1)),
		log: filepath.Join(c.dir, fmt.Sprintf("d%d.log", i+1))}
	addr := freeAddr(t)
	n.api = api{base: "http://" + addr}
	n.proc = startDaemonEnv(t, c.cfg, n.log, []string{"TOUCHBASE_LISTEN_SOCKET=" + n.sock, "TOUCHBASE_LISTEN_HTTP=" + addr})
	c.nodes = append(c.nodes, n)
}

func (c *cluster) alive() []*node {
	var out []*node
	for _, n := range c.nodes {
		if n.alive() {
			out = append(out, n)
		}
	}
	return out
}

// status asks a live daemon (all read the same store).
func (c *cluster) status(ctx context.Context) (*daemon.Status, error) {
	var err error
	for _, n := range c.alive() {
		var st *daemon.Status
		if st, err = n.api.status(ctx); err == nil {
			return st, nil
		}
	}
	return nil, fmt.Errorf("no daemon answers: %v", err)
}

// holderOf returns the live daemon holding lease name, or nil.
func (c *cluster) holderOf(st *daemon.Status, name string) *node {
	for _, l := range st.Cluster.Leases {
		if l.Name != name || !l.Live {
			continue
		}
		for _, n := range c.alive() {
			if holderPID(l.Holder) == n.pid() {
				return n
			}
		}
	}
	return nil
}

// holderPID is the pid in a holder id (hostname:pid:random).
func holderPID(holder string) int {
	parts := strings.Split(holder, ":")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// waitSpread waits until every lease is held and each daemon holds some
// sources: the work is shared, not done by the first daemon started.
func (c *cluster) waitSpread(t *testing.T) {
	t.Helper()
	waitFor(t, 10*clusterLease, "the sources spread over the three daemons", func(ctx context.Context) (bool, error) {
		st, err := c.status(ctx)
		if err != nil {
			return false, err
		}
		held := map[*node]int{}
		for _, l := range st.Cluster.Leases {
			n := c.holderOf(st, l.Name)
			if n == nil {
				return false, fmt.Errorf("%s not held", l.Name)
			}
			if l.Name != "evaluation" {
				held[n]++
			}
		}
		if len(held) != 3 || len(st.Cluster.Daemons) != 3 {
			return false, fmt.Errorf("sources held by %d daemons, %d daemons alive", len(held), len(st.Cluster.Daemons))
		}
		return true, nil
	})
}

// settle makes the cluster sync and evaluate once more with everything
// delivered: a newsletter (stored, never counted) appended to henry's
// mailbox is synced, the evaluation lease's holder evaluates after it, and
// the outbox is empty.
func (c *cluster) settle(t *testing.T) {
	t.Helper()
	st, err := c.status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	eval := c.holderOf(st, "evaluation")
	if eval == nil {
		t.Fatal("nobody holds the evaluation lease")
	}
	fetched := fetchedBy(st.Sources, "imap:henry")
	evals, err := eval.api.evaluations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.AppendIMAP(t.Context(), c.env["TESTBED_IMAP_ADDR"], "henry@example.test", "henry-pass",
		[]demo.Mail{c.h.Newsletter(time.Now(), 1)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the newsletter synced and evaluated, and an empty outbox", func(ctx context.Context) (bool, error) {
		st, err := c.status(ctx)
		if err != nil || fetchedBy(st.Sources, "imap:henry") <= fetched {
			return false, err
		}
		n, err := eval.api.evaluations(ctx)
		return err == nil && n > evals && st.Outbox.Pending == 0 && st.Outbox.Failed == 0, err
	})
	// The holder looks for changes every second: one more look, and what
	// it sent delivered.
	time.Sleep(2 * time.Second)
	waitFor(t, 20*time.Second, "an empty outbox", func(ctx context.Context) (bool, error) {
		st, err := c.status(ctx)
		return err == nil && st.Outbox.Pending == 0 && st.Outbox.Failed == 0, err
	})
}

// killMidSync slows kate's IMAP down, appends 200 newsletters to her Sent
// folder and, while the daemon holding imap:kate is fetching them, kills
// it. Another daemon must take kate over within lease expiry plus one
// poll and store every newsletter, once; every other source keeps syncing.
func (c *cluster) killMidSync(t *testing.T) {
	t.Helper()
	st, err := c.status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	before := filteredTotal(st)
	const newsletters = 200
	var mails []demo.Mail
	for i := range newsletters {
		mails = append(mails, c.h.Newsletter(time.Now(), 100+i))
	}
	c.kate.slow(4 << 10)
	if err := demo.AppendIMAP(t.Context(), c.env["TESTBED_IMAP_ADDR"], "kate@example.test", "kate-pass", mails); err != nil {
		t.Fatal(err)
	}
	c.kate.slow(4 << 10) // count afresh: only a FETCH moves this many bytes
	waitFor(t, 20*time.Second, "kate's holder fetching the newsletters", func(context.Context) (bool, error) {
		return c.kate.slowed.Load() > 8<<10, nil
	})
	if st, err = c.status(t.Context()); err != nil {
		t.Fatal(err)
	}
	victim := c.holderOf(st, "imap:kate")
	if victim == nil {
		t.Fatal("nobody holds imap:kate")
	}
	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	c.kate.fast()
	t.Logf("killed %s (pid %d) while it fetched kate's mail", victim.name, victim.pid())

	c.waitAllSynced(t, killed)
	waitFor(t, 20*time.Second, "every newsletter stored", func(ctx context.Context) (bool, error) {
		st, err := c.status(ctx)
		if err != nil {
			return false, err
		}
		if got := filteredTotal(st) - before; got > newsletters {
			t.Fatalf("%d newsletters stored, want %d: some twice", got, newsletters)
		}
		return filteredTotal(st)-before == newsletters, nil
	})
}

// waitAllSynced waits until every source synced successfully after since,
// no later than lease expiry plus one poll (plus slack) after it.
func (c *cluster) waitAllSynced(t *testing.T, since time.Time) {
	t.Helper()
	within := clusterLease + clusterPoll + takeoverSlack
	waitFor(t, within, "every source synced again after the kill", func(ctx context.Context) (bool, error) {
		st, err := c.status(ctx)
		if err != nil {
			return false, err
		}
		var behind []string
		for _, s := range st.Sources {
			if s.LastSuccessAt == nil || s.LastSuccessAt.Before(since) {
				behind = append(behind, s.Name)
			}
		}
		if len(behind) > 0 || len(st.Sources) != 2*len(clusterUsers) {
			return false, fmt.Errorf("not synced since: %v", behind)
		}
		return true, nil
	})
	t.Logf("every source synced again %.1fs after the kill (lease %s, poll %s)", time.Since(since).Seconds(), clusterLease, clusterPoll)
}

func filteredTotal(st *daemon.Status) int {
	n := 0
	for _, v := range st.Interactions.Filtered {
		n += v
	}
	return n
}

// killMidDelivery holds the sink's answer to the next new event (the
// Litware report's commitment.recovered), kills the daemon whose request
// it is, and waits for another daemon to send the event again with the
// same webhook-id. It returns the events now expected.
func (c *cluster) killMidDelivery(t *testing.T) []demo.ExpectedAlert {
	t.Helper()
	held := make(chan demo.Delivery)
	c.stall <- held
	mail, recovered := c.h.RecoveryMail(time.Now())
	if err := demo.AppendIMAP(t.Context(), c.env["TESTBED_IMAP_ADDR"], "leo@example.test", "leo-pass", []demo.Mail{mail}); err != nil {
		t.Fatal(err)
	}
	var d demo.Delivery
	select {
	case d = <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("commitment.recovered never reached the sink")
	}
	var pids []int
	for _, n := range c.alive() {
		pids = append(pids, n.pid())
	}
	pid, err := pidOfConn(d.RemoteAddr, pids)
	if err != nil {
		t.Fatal(err)
	}
	victim := c.nodes[slices.IndexFunc(c.nodes, func(n *node) bool { return n.pid() == pid })]
	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	held <- demo.Delivery{} // the sink answers a dead connection
	t.Logf("killed %s (pid %d) while it delivered %s %s", victim.name, pid, d.Type, d.ID)

	c.waitAllSynced(t, killed)
	waitFor(t, resendWithin, "the delivery sent again", func(context.Context) (bool, error) {
		return c.sink.Received(d.ID) >= 2, nil
	})
	t.Logf("%s re-sent with its webhook-id %.1fs after its sender died", d.Type, time.Since(killed).Seconds())
	want := append(slices.Clone(c.h.Expected), recovered)
	waitFor(t, 20*time.Second, "an empty outbox", func(ctx context.Context) (bool, error) {
		st, err := c.status(ctx)
		return err == nil && st.Outbox.Pending == 0 && missing(c.sink.Events(), want) == nil, err
	})
	return want
}

// checkStatusCLI runs `touchbase status` against n: it lists every lease,
// all held by n, the last daemon.
func (c *cluster) checkStatusCLI(t *testing.T, n *node) {
	t.Helper()
	out, err := exec.Command(binary(t), "status", "--config", c.cfg, "--socket", n.sock).CombinedOutput()
	if err != nil {
		t.Fatalf("touchbase status: %v\n%s", err, out)
	}
	rows := 0
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && (strings.Contains(f[0], ":") || f[0] == "evaluation") &&
			strings.Contains(line, "(this daemon)") && holderPID(f[1]) == n.pid() {
			rows++
		}
	}
	if rows != 2*len(clusterUsers)+1 {
		t.Errorf("touchbase status shows %d leases held by the last daemon, want %d:\n%s", rows, 2*len(clusterUsers)+1, out)
	}
}

// leasesHeld reads n's touchbase_leases_held gauge of kind.
func (c *cluster) leasesHeld(t *testing.T, n *node, kind string) int {
	t.Helper()
	b, err := n.api.get(t.Context(), "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	prefix := `touchbase_leases_held{kind="` + kind + `"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(f)
		}
	}
	t.Fatalf("no %s in /metrics", prefix)
	return 0
}

func (c *cluster) dumpLogsOnFailure(t *testing.T) {
	if !t.Failed() {
		return
	}
	if st, err := c.status(context.Background()); err == nil {
		b, _ := json.MarshalIndent(st, "", "  ")
		t.Logf("status:\n%s", b)
	}
	for _, n := range c.nodes {
		if n.alive() {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
		b, _ := os.ReadFile(n.log)
		t.Logf("%s (pid %d) log:\n%s", n.name, n.pid(), b)
	}
}

// TestThreeDaemonsPostgres is TestThreeDaemonsSQLite with the daemons on
// one PostgreSQL database (internal/pgtest), as daemons on several hosts
// would share it.
func TestThreeDaemonsPostgres(t *testing.T) {
	dsnFile := filepath.Join(t.TempDir(), "postgres.dsn")
	if err := os.WriteFile(dsnFile, []byte(pgtest.DSN(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runThreeDaemons(t, map[string]any{"store": "postgres", "postgres": map[string]any{"dsn_file": dsnFile}})
}
