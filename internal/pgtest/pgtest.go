// Package pgtest gives tests a real PostgreSQL 15 server: a throwaway
// cluster under the system's temporary folder, started as a plain process
// (initdb and pg_ctl, no system service) on a loopback port, and shared by
// every test binary that asks for it, as the mail test bed is. Each test
// gets a database of its own, dropped when it ends.
//
// The server is found in TOUCHBASE_PG_BIN or Debian's
// /usr/lib/postgresql/15/bin (`apt-get install postgresql-15`; .ci/run
// installs it). TOUCHBASE_PGTEST_DSN names another server instead (a role
// allowed to create databases). When there is none, tests are skipped with
// a loud message; under CI (CI=true) they fail, so CI can never pass by
// skipping.
//
// The cluster stays up after the tests, for the next run to reuse (as the
// test bed does): `pg_ctl -D $TMPDIR/touchbase-pgtest/data stop` ends it.
// It runs with fsync off: its data is not meant to survive a crash.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// The shared cluster: its folder, port and superuser. The port is fixed so
// that every test binary (go test runs packages in parallel) finds the one
// server; TOUCHBASE_PGTEST_PORT moves it.
const (
	defaultBin  = "/usr/lib/postgresql/15/bin"
	defaultPort = 54329
	superuser   = "touchbase"
)

var (
	once     sync.Once
	adminDSN string
	upError  error
)

// DSN returns the DSN of a new, empty database for t, dropped (with any
// connection left to it) when t ends. It skips t, or fails it under CI,
// when no PostgreSQL server can be had.
func DSN(t testing.TB) string {
	t.Helper()
	dsn, drop := NewDatabase(t, t.Name())
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// NewDatabase creates a new, empty database named after label and returns
// its DSN and the function that drops it, for a database that outlives
// the test asking for it (a pool of them, emptied between tests). It
// skips t, or fails it under CI, when no PostgreSQL server can be had.
func NewDatabase(t testing.TB, label string) (dsn string, drop func() error) {
	t.Helper()
	admin := Admin(t)
	name := dbName(label)
	if err := adminExec(admin, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return withDatabase(admin, name), func() error {
		if err := adminExec(admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("pgtest: drop database %s: %w", name, err)
		}
		return nil
	}
}

// adminExec runs one statement on the maintenance database.
func adminExec(admin, stmt string) error {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(context.Background(), stmt)
	return err
}

// Admin returns the DSN of the server's maintenance database, as a role
// that may create databases, starting the shared cluster if it is not up.
// It skips t, or fails it under CI, when no server can be had.
func Admin(t testing.TB) string {
	t.Helper()
	once.Do(func() { adminDSN, upError = up() })
	if upError != nil {
		missing(t, upError)
	}
	return adminDSN
}

// missing skips t, loudly, because no server could be had; under CI it
// fails t instead.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("pgtest: PostgreSQL required under CI: %v", err)
		return
	}
	t.Skipf("\n*** SKIPPING POSTGRES TEST: %v ***\n", err)
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// dbName is a fresh database name that says which test made it.
func dbName(test string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	base := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	return "tb_" + base + "_" + hex.EncodeToString(b)
}

// withDatabase replaces the database of a postgres:// DSN.
func withDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // not a URL: the caller's DSN is used as it is
	}
	u.Path = "/" + name
	return u.String()
}

func up() (string, error) {
	if dsn := os.Getenv("TOUCHBASE_PGTEST_DSN"); dsn != "" {
		return dsn, ping(dsn)
	}
	bin := os.Getenv("TOUCHBASE_PG_BIN")
	if bin == "" {
		bin = defaultBin
	}
	for _, prog := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, prog)); err != nil {
			return "", fmt.Errorf("no PostgreSQL server programs in %s (apt-get install postgresql-15, or set TOUCHBASE_PG_BIN or TOUCHBASE_PGTEST_DSN)", bin)
		}
	}
	port := defaultPort
	if p := os.Getenv("TOUCHBASE_PGTEST_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return "", fmt.Errorf("TOUCHBASE_PGTEST_PORT=%q: want a port number", p)
		}
		port = n
	}
	c := &cluster{bin: bin, dir: filepath.Join(os.TempDir(), "touchbase-pgtest"), port: port}
	return c.start()
}

// cluster is the shared test server.
type cluster struct {
	bin  string
	dir  string // holds data/, the log, the socket and the start lock
	port int
	as   *user.User // the unprivileged user it runs as when we are root; nil otherwise
}

func (c *cluster) dsn() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", superuser, c.port)
}

// start brings the cluster up unless it already answers, under a file
// lock so that test binaries starting at once create it once.
func (c *cluster) start() (string, error) {
	if ping(c.dsn()) == nil {
		return c.dsn(), nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(c.dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if ping(c.dsn()) == nil { // another binary started it meanwhile
		return c.dsn(), nil
	}
	// PostgreSQL refuses to run as root: run it as a user without
	// privileges, in a folder that user owns.
	if os.Geteuid() == 0 {
		if c.as, err = unprivileged(); err != nil {
			return "", err
		}
		if err := chown(c.dir, c.as); err != nil {
			return "", err
		}
	}
	data := filepath.Join(c.dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		os.RemoveAll(data) // a half-made cluster from an interrupted initdb
		if out, err := c.run("initdb", "-D", data, "-U", superuser, "--auth=trust", "--encoding=UTF8",
			"--locale=C", "--no-sync"); err != nil {
			return "", fmt.Errorf("initdb: %w\n%s", err, out)
		}
	}
	// Loopback TCP only, the socket in our folder (the default one may
	// not be writable), and durability traded for speed.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300", c.port, c.dir)
	if out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		return "", fmt.Errorf("pg_ctl start: %w\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ping(c.dsn())
		if err == nil {
			return c.dsn(), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("started, but does not answer on port %d: %w (see %s)", c.port, err, filepath.Join(c.dir, "server.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs one of the server's programs, as c.as when set.
func (c *cluster) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	cmd := exec.Command(path, args...)
	if c.as != nil {
		cmd = exec.Command("runuser", append([]string{"-u", c.as.Username, "--", path}, args...)...)
	}
	cmd.Dir = c.dir // the user it runs as may not read the caller's folder
	return cmd.CombinedOutput()
}

// unprivileged is the user the cluster runs as under root: Debian's
// postgres user when the package made one, else nobody.
func unprivileged() (*user.User, error) {
	for _, name := range []string{"postgres", "nobody"} {
		if u, err := user.Lookup(name); err == nil {
			return u, nil
		}
	}
	return nil, errors.New("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as")
}

// chown gives dir (and what is in it) to u.
func chown(dir string, u *user.User) error {
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("user %s: %w", u.Username, err)
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// ping connects to dsn and runs a query.
func ping(dsn string) error {
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		// A quick look first: a closed port fails at once without pgx's
		// retries and messages.
		conn, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return err
		}
		conn.Close()
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}
