package main

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/store"
)

// The systemd setup of the README, with test names: a service user
// (tbtest-svc, group tbtest) runs the daemon with the unit's UMask=0027
// over a StateDirectory and a RuntimeDirectory of mode 0750, and an
// operator (tbtest-op) in the group runs the CLI.
const (
	permGroup    = "tbtest"
	permService  = "tbtest-svc"
	permOperator = "tbtest-op"
	unitUmask    = "0027"
)

// TestOperatorPermissions runs the built binary as an operator in the
// service's group: with the daemon running every command works, the
// changes through the daemon; with the daemon stopped (cleanly, or killed)
// the read commands read the store read-only and the changes fail with
// advice; a store at an older schema is named as such. Nothing ever says
// "attempt to write a readonly database".
func TestOperatorPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the permission test needs root to create its users; CI runs as root")
		}
		t.Skip("SKIPPING PERMISSION TEST: needs root to create the test users and run as them")
	}
	env := newPermEnv(t)
	rcv := newReceiver(t)
	env.writeConfig(rcv.URL)

	// Daemon running: everything works, changes go through it.
	d := env.startDaemon()
	env.checkModes()
	env.expectReads(true)
	out := env.ok("silence", "add", "acme", "--until", "2d", "--reason", "holiday")
	silence := regexp.MustCompile(`sil_[0-9a-f]{8}`).FindString(out)
	if silence == "" {
		t.Fatalf("silence add printed no silence ID:\n%s", out)
	}
	if out := env.ok("silence", "list"); !strings.Contains(out, silence) || !strings.Contains(out, permOperator) {
		t.Errorf("silence list lacks %s added by %s:\n%s", silence, permOperator, out)
	}
	if out := env.ok("webhooks", "test", "ops"); !strings.HasPrefix(out, "ops: 200 OK in ") {
		t.Errorf("webhooks test ops printed %q, want ops: 200 OK in …", out)
	}
	rcv.last(t)
	delivery := env.testDelivery()
	env.ok("webhooks", "redeliver", delivery)
	env.ok("silence", "remove", silence)

	// Killed daemon: its -wal and -shm stay; reads go on under SQLite's
	// locks, with the read-only index.
	d.kill()
	env.expectReads(false)
	env.expectRefusals(delivery)

	// Stopped daemon: no -wal, the store is read as a snapshot.
	env.startDaemon().stop()
	if _, err := os.Stat(env.db + "-wal"); err == nil {
		t.Error("a cleanly stopped daemon left its -wal file: the snapshot case is not tested")
	}
	env.expectReads(false)
	env.expectRefusals(delivery)
	if out := env.ok("silence", "list", "--all"); !strings.Contains(out, silence) {
		t.Errorf("silence list --all lacks the removed %s:\n%s", silence, out)
	}
	if _, err := os.Stat(env.db + "-wal"); err == nil {
		t.Error("reading without a daemon created a -wal file")
	}

	// A store at an older schema: reads say who migrates it.
	env.olderSchema(func() {
		code, stdout, stderr := env.as(permOperator, "customers")
		if code != 1 || stdout != "" || !strings.Contains(stderr, "schema is older") ||
			!strings.Contains(stderr, "start the daemon, which migrates it") {
			t.Errorf("customers on an older schema: exit %d, stderr %q; want 1 and who migrates it", code, stderr)
		}
	})
}

// permEnv is the installed layout under one temporary root.
type permEnv struct {
	t                  *testing.T
	root, bin, config  string
	dataDir, runDir    string
	db, socket         string
	svc, op            *user.User
	gid                uint32
	outputs            bytes.Buffer // everything every command printed
	daemonLog          string
	secretFile, etcDir string
}

func newPermEnv(t *testing.T) *permEnv {
	gid, svc, op := ensurePermUsers(t)
	root, err := os.MkdirTemp("", "touchbase-perm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	e := &permEnv{t: t, root: root, svc: svc, op: op, gid: gid,
		bin: filepath.Join(root, "bin", "touchbase"), etcDir: filepath.Join(root, "etc"),
		dataDir: filepath.Join(root, "lib"), runDir: filepath.Join(root, "run")}
	e.config = filepath.Join(e.etcDir, "touchbase.yaml")
	e.secretFile = filepath.Join(e.etcDir, "ops.whsec")
	e.db = filepath.Join(e.dataDir, store.FileName)
	e.socket = filepath.Join(e.runDir, "touchbase.sock")
	e.daemonLog = filepath.Join(root, "daemon.log")
	must(t, os.Chmod(root, 0o755))
	must(t, os.MkdirAll(filepath.Dir(e.bin), 0o755))
	b, err := os.ReadFile(binary(t))
	must(t, err)
	must(t, os.WriteFile(e.bin, b, 0o755))
	// /etc/touchbase as the README installs it: root's, group-readable.
	e.mkdir(e.etcDir, 0, 0o750)
	// StateDirectory= and RuntimeDirectory= with their modes, owned by the
	// service user, as systemd creates them.
	svcUID, _ := strconv.Atoi(svc.Uid)
	e.mkdir(e.dataDir, svcUID, 0o750)
	e.mkdir(e.runDir, svcUID, 0o750)
	return e
}

func (e *permEnv) mkdir(path string, uid int, mode os.FileMode) {
	must(e.t, os.Mkdir(path, mode))
	must(e.t, os.Chown(path, uid, int(e.gid)))
	must(e.t, os.Chmod(path, mode))
}

// ensurePermUsers creates, once per machine, the test's system group and
// users: the service user with the group as its primary group, the
// operator with it as a supplementary group.
func ensurePermUsers(t *testing.T) (gid uint32, svc, op *user.User) {
	t.Helper()
	for _, tool := range []string{"groupadd", "useradd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: the permission test creates system users with it", tool)
		}
	}
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	if _, err := user.LookupGroup(permGroup); err != nil {
		run("groupadd", "--system", "--force", permGroup)
	}
	if _, err := user.Lookup(permService); err != nil {
		run("useradd", "--system", "--gid", permGroup, "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", permService)
	}
	if _, err := user.Lookup(permOperator); err != nil {
		run("useradd", "--system", "--user-group", "--groups", permGroup, "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", permOperator)
	}
	g, err := user.LookupGroup(permGroup)
	must(t, err)
	n, _ := strconv.ParseUint(g.Gid, 10, 32)
	svc, err = user.Lookup(permService)
	must(t, err)
	op, err = user.Lookup(permOperator)
	must(t, err)
	if svc.Gid != g.Gid {
		t.Fatalf("%s's primary group is %s, want %s (%s)", permService, svc.Gid, permGroup, g.Gid)
	}
	return uint32(n), svc, op
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeConfig writes the configuration and the webhook secret as root's,
// readable by the group (README: mode 0640, group touchbase).
func (e *permEnv) writeConfig(receiver string) {
	key := base64.StdEncoding.EncodeToString([]byte("touchbase-cli-test-signing-key!!"))
	conf := fmt.Sprintf(`data_dir: %s
timezone: Europe/Berlin
listen:
  socket: %s
customers:
  - id: acme
    name: ACME Corp
    domains: [acme.com]
    commitments: [weekly]
policies:
  weekly: {type: cadence, kind: email, direction: outbound, every: 1w}
webhooks:
  - name: ops
    url: %s/ops
    secret_file: %s
`, e.dataDir, e.socket, receiver, e.secretFile)
	for path, content := range map[string]string{e.config: conf, e.secretFile: "whsec_" + key + "\n"} {
		must(e.t, os.WriteFile(path, []byte(content), 0o640))
		must(e.t, os.Chown(path, 0, int(e.gid)))
	}
}

// command builds the binary's command line as name (the service user or
// the operator), with the groups and environment a login would give.
func (e *permEnv) command(name string, args ...string) *exec.Cmd {
	u := e.op
	if name == permService {
		u = e.svc
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	if name == permOperator {
		cred.Groups = []uint32{e.gid}
	}
	// The unit's UMask= for the service; sh applies it, then becomes the binary.
	cmd := exec.Command("/bin/sh", append([]string{"-c", "umask " + unitUmask + `; exec "$0" "$@"`, e.bin},
		append(args, "--config", e.config)...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = e.root
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "USER=" + u.Username, "HOME=/nonexistent"}
	return cmd
}

// as runs a command to its end as name and returns its exit status and
// output, which is also kept for the final check.
func (e *permEnv) as(name string, args ...string) (int, string, string) {
	e.t.Helper()
	cmd := e.command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("run %v as %s: %v", args, name, err)
		}
		code = ee.ExitCode()
	}
	fmt.Fprintf(&e.outputs, "$ %s %s\n%s%s", name, strings.Join(args, " "), stdout.String(), stderr.String())
	e.checkNoReadonlyError(args, stdout.String()+stderr.String())
	return code, stdout.String(), stderr.String()
}

func (e *permEnv) checkNoReadonlyError(args []string, out string) {
	e.t.Helper()
	if strings.Contains(out, "readonly database") {
		e.t.Errorf("%v printed SQLite's read-only error:\n%s", args, out)
	}
}

// ok runs a command as the operator and wants exit status 0.
func (e *permEnv) ok(args ...string) string {
	e.t.Helper()
	code, stdout, stderr := e.as(permOperator, args...)
	if code != 0 {
		e.t.Errorf("as %s: touchbase %s: exit %d, stderr %q", permOperator, strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// expectReads runs every command that only reads, as the operator.
func (e *permEnv) expectReads(daemonRuns bool) {
	e.t.Helper()
	for _, args := range [][]string{
		{"check"}, {"customers"}, {"customers", "--json"}, {"customer", "acme"}, {"customer", "acme", "--why"},
		{"alerts", "--all"}, {"suggest"}, {"unmatched"}, {"silence", "list", "--all"},
		{"webhooks", "list"}, {"webhooks", "deliveries"},
	} {
		out := e.ok(args...)
		if args[0] == "customers" && !strings.Contains(out, "acme") {
			e.t.Errorf("%v printed no acme:\n%s", args, out)
		}
	}
	code, stdout, stderr := e.as(permOperator, "status", "--json")
	var st struct{ PID int }
	switch {
	case daemonRuns && (json.Unmarshal([]byte(stdout), &st) != nil || st.PID == 0):
		e.t.Errorf("status --json with the daemon running: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	case !daemonRuns && (code != 1 || !strings.Contains(stderr, "no daemon running")):
		e.t.Errorf("status without a daemon: exit %d, stderr %q; want 1, no daemon running", code, stderr)
	}
}

// expectRefusals runs every command that changes state, as the operator
// without a daemon: each fails with advice and changes nothing.
func (e *permEnv) expectRefusals(delivery string) {
	e.t.Helper()
	before := e.ok("silence", "list", "--all", "--json")
	for _, args := range [][]string{
		{"silence", "add", "acme", "--until", "2d"}, {"silence", "remove", "sil_00000000"},
		{"webhooks", "test", "ops"}, {"webhooks", "redeliver", delivery},
	} {
		code, stdout, stderr := e.as(permOperator, args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "no daemon running") || !strings.Contains(stderr, "not writable by user "+permOperator) ||
			!strings.Contains(stderr, "start the daemon") || !strings.Contains(stderr, "store's owner") {
			e.t.Errorf("%v without a daemon: exit %d, stdout %q, stderr %q; want 1 and to start the daemon or run as the store's owner",
				args, code, stdout, stderr)
		}
	}
	code, _, stderr := e.as(permOperator, "run", "--once")
	if code != 1 || !strings.Contains(stderr, "not writable by user "+permOperator) || !strings.Contains(stderr, "belongs to "+permService) {
		e.t.Errorf("run --once as the operator: exit %d, stderr %q; want 1 and whose store it is", code, stderr)
	}
	if after := e.ok("silence", "list", "--all", "--json"); after != before {
		e.t.Errorf("silences changed by refused commands:\n%s\nwas\n%s", after, before)
	}
}

// testDelivery returns the ID of the logged webhook.test delivery.
func (e *permEnv) testDelivery() string {
	e.t.Helper()
	var ds []store.Delivery
	out := e.ok("webhooks", "deliveries", "--json")
	if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) == 0 || ds[0].EventType != "webhook.test" {
		e.t.Fatalf("deliveries after webhooks test: %v\n%s", err, out)
	}
	return strconv.FormatInt(ds[0].ID, 10)
}

// checkModes wants what the operator needs and nothing more: the data
// folder and the store readable by the group, the socket usable by it.
func (e *permEnv) checkModes() {
	e.t.Helper()
	for path, want := range map[string]os.FileMode{e.dataDir: 0o750 | os.ModeDir, e.db: 0o640, e.runDir: 0o750 | os.ModeDir,
		e.socket: 0o660 | os.ModeSocket} {
		fi, err := os.Stat(path)
		if err != nil {
			e.t.Errorf("stat %s: %v", path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != want || strconv.Itoa(int(st.Uid)) != e.svc.Uid || st.Gid != e.gid {
			e.t.Errorf("%s: mode %v, owner %d:%d; want %v, %s:%s", path, fi.Mode(), st.Uid, st.Gid, want, permService, permGroup)
		}
	}
}

// olderSchema runs check with the store's schema version lowered by one
// (as root, the store's files staying the service user's), then restores it.
func (e *permEnv) olderSchema(check func()) {
	e.t.Helper()
	setVersion := func(delta int) {
		db, err := sql.Open("sqlite", "file:"+e.db)
		must(e.t, err)
		defer db.Close()
		var v int
		must(e.t, db.QueryRow("PRAGMA user_version").Scan(&v))
		_, err = db.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+delta))
		must(e.t, err)
	}
	setVersion(-1)
	defer setVersion(+1)
	check()
}

// permDaemon is the daemon running as the service user.
type permDaemon struct {
	e      *permEnv
	cmd    *exec.Cmd
	exited chan error
}

func (e *permEnv) startDaemon() *permDaemon {
	e.t.Helper()
	log, err := os.OpenFile(e.daemonLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	must(e.t, err)
	defer log.Close()
	cmd := e.command(permService, "daemon")
	cmd.Stdout, cmd.Stderr = log, log
	must(e.t, cmd.Start())
	d := &permDaemon{e: e, cmd: cmd, exited: make(chan error, 1)}
	go func() { d.exited <- cmd.Wait() }()
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-d.exited
		}
		if e.t.Failed() {
			b, _ := os.ReadFile(e.daemonLog)
			e.t.Logf("daemon log:\n%s\ncommands:\n%s", b, e.outputs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _, _ := e.as(permOperator, "status"); code == 0 {
			return d
		}
		select {
		case err := <-d.exited:
			e.t.Fatalf("the daemon ended before serving: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatal("the daemon does not answer the operator's status within 20 s")
		}
	}
}

func (d *permDaemon) stop() {
	d.e.t.Helper()
	must(d.e.t, d.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-d.exited:
		if err != nil {
			d.e.t.Errorf("daemon exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		d.e.t.Fatal("daemon still running 15 s after SIGTERM")
	}
}

func (d *permDaemon) kill() {
	d.e.t.Helper()
	must(d.e.t, d.cmd.Process.Kill())
	<-d.exited
}
