package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
)

// clock is the CLI's wall clock: the "now" of --at and --until lengths, of
// evaluations read from the store without a daemon, and of the webhook
// commands. Tests fix it so that outputs are stable.
var clock = time.Now

// apiTimeout bounds one request to the daemon: an evaluation of a large
// history takes seconds, not minutes.
const apiTimeout = time.Minute

// errBadRequest marks a 400 answer from the daemon: the arguments were
// wrong (exit status 2).
var errBadRequest = errors.New("bad request")

// apiError is a non-2xx answer from the daemon's API. Its message is the
// daemon's error text alone, so that a command prints the same line
// whether the daemon or the store answered.
type apiError struct {
	msg  string
	kind error // errBadRequest, or the not-found sentinel the caller named
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.kind }

// backend answers the data commands: the running daemon over its unix
// socket when one answers, else the store in data_dir directly (SPEC: the
// CLI works without a daemon by reading the store).
type backend struct {
	cfg    *config.Config
	socket string
	log    *zap.Logger
	st     *store.Store // opened on first use, closed by close
}

// newBackend loads the configuration: the data commands need it for the
// socket, the time zone and the store, so a broken file is a usage error
// (exit 2) even when a daemon still runs on an older one.
func newBackend(g *globals, socket string) (*backend, error) {
	cfg, err := daemon.LoadConfig(g.config)
	if err != nil {
		return nil, err
	}
	if socket == "" {
		socket = cfg.Listen.Socket
	}
	// No logs: a command reports its one failure as its error, on one
	// line, and the components' logs would repeat it as JSON.
	return &backend{cfg: cfg, socket: socket, log: zap.NewNop()}, nil
}

func (b *backend) close() {
	if b.st != nil {
		b.st.Close()
	}
	_ = b.log.Sync()
}

// loc is the display zone, for printing times and reading dates: the
// configured timezone, or the machine's local zone when the configuration
// names none.
func (b *backend) loc() *time.Location { return displayZone(b.cfg) }

func displayZone(cfg *config.Config) *time.Location {
	if cfg == nil || !cfg.TimezoneSet || cfg.Timezone == nil {
		return time.Local
	}
	return cfg.Timezone
}

// openStore opens the store in data_dir when no daemon answers: read-only
// (no migration, no write: an operator in the service's group can read the
// service's files but not write them) unless write, for the commands that
// change state. It never creates a store: a store made by a CLI user could
// belong to the wrong user, and an empty one answers nothing useful.
// Errors say what to do instead: start the daemon, or run as the store's
// owner.
func (b *backend) openStore(ctx context.Context, write bool) (*store.Store, error) {
	if b.st != nil {
		return b.st, nil
	}
	if b.cfg.Store == config.StorePostgres {
		return b.openPostgres(ctx)
	}
	path := filepath.Join(b.cfg.DataDir, store.FileName)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s: start the daemon or run `touchbase run --once` first", path)
		}
		return nil, storeAdvice(fmt.Errorf("open store: %w", err))
	}
	open := store.OpenReadOnly
	if write {
		open = store.Open
	}
	st, err := open(ctx, b.cfg.DataDir)
	if err != nil {
		return nil, storeAdvice(err)
	}
	b.st = st
	return st, nil
}

// openPostgres opens the configured Postgres store. Who may change it is
// the database role's business (the DSN), not file modes'.
func (b *backend) openPostgres(ctx context.Context) (*store.Store, error) {
	ok, err := daemon.StoreExists(ctx, b.cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("no store at %s: start the daemon or run `touchbase run --once` first", daemon.StoreLocation(b.cfg))
	}
	st, err := daemon.OpenStore(ctx, b.cfg)
	if err != nil {
		return nil, storeAdvice(err)
	}
	b.st = st
	return st, nil
}

// storeAdvice adds to err what a user who cannot use the store directly
// can do instead.
func storeAdvice(err error) error {
	switch {
	case errors.Is(err, store.ErrNotWritable):
		return fmt.Errorf("%w; start the daemon, which makes changes for the CLI (systemctl start touchbase), "+
			"or run this command as the store's owner", err)
	case errors.Is(err, store.ErrOlderSchema):
		return fmt.Errorf("%w; start the daemon, which migrates it (systemctl start touchbase), "+
			"or run `touchbase run --once` as the store's owner", err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w; the data_dir folder and the store must be readable by your group "+
			"(join it: usermod -aG touchbase $USER, then log in again)", err)
	}
	return err
}

// ownerAdvice says, for the commands that must write the store themselves
// (daemon, run --once), who can run them.
func ownerAdvice(err error) error {
	if errors.Is(err, store.ErrNotWritable) {
		return fmt.Errorf("%w; run this command as the store's owner", err)
	}
	return err
}

// reopen closes the store so that the next openStore looks again.
func (b *backend) reopen() {
	if b.st != nil {
		b.st.Close()
		b.st = nil
	}
}

// readStore runs fn over the store, opened read-only unless it is open
// already. A snapshot that a writer changed while fn read it
// (store.ErrChanged) is read again, once: the answer must not mix two
// states of the store.
func readStore[T any](ctx context.Context, b *backend, fn func(*store.Store) (T, error)) (T, error) {
	for try := 0; ; try++ {
		st, err := b.openStore(ctx, false)
		if err != nil {
			var zero T
			return zero, err
		}
		v, err := fn(st)
		if cerr := st.Unchanged(); cerr != nil {
			if try == 0 {
				b.reopen()
				continue
			}
			return v, cerr
		}
		return v, err
	}
}

// runner is an evaluation runner over st, for when no daemon runs.
func (b *backend) runner(st *store.Store) *evaluate.Runner {
	r := evaluate.New(b.cfg, st, b.log)
	r.Now = clock
	return r
}

// apiReq is one request to the daemon's API.
type apiReq struct {
	method   string // default GET
	path     string
	body     any   // sent as JSON when not nil
	notFound error // the sentinel a 404 answer wraps
}

// ask sends req to the daemon and decodes the answer (if any) into a T;
// raw is the daemon's body, which --json prints as it is. When no daemon
// answers, local computes the answer from the store instead (raw is nil).
func ask[T any](ctx context.Context, b *backend, req apiReq,
	local func(context.Context, *evaluate.Runner) (T, error)) (v T, raw []byte, err error) {
	raw, err = b.call(ctx, req)
	switch {
	case err == nil:
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &v); err != nil {
				return v, nil, fmt.Errorf("read daemon answer to %s: %w", req.path, err)
			}
		}
		return v, raw, nil
	case !errors.Is(err, errNoDaemon):
		return v, nil, err
	}
	write := cmp.Or(req.method, http.MethodGet) != http.MethodGet
	if _, err := b.openStore(ctx, write); err != nil {
		return v, nil, fmt.Errorf("%w; %w", noDaemon(b.socket), err)
	}
	v, err = readStore(ctx, b, func(st *store.Store) (T, error) { return local(ctx, b.runner(st)) })
	return v, nil, err
}

// noDaemon is errNoDaemon naming the socket, for errors of the store path.
func noDaemon(socket string) error {
	if socket == "" {
		return fmt.Errorf("%w (listen.socket is not set)", errNoDaemon)
	}
	return fmt.Errorf("%w on %s", errNoDaemon, socket)
}

// call sends one request with an optional JSON body to the daemon's API
// and returns the body of a 2xx answer. It returns an error wrapping
// errNoDaemon when the socket is missing or refuses connections, and an
// *apiError for any other answer.
func (b *backend) call(ctx context.Context, r apiReq) ([]byte, error) {
	if b.socket == "" {
		return nil, errNoDaemon
	}
	method, path := cmp.Or(r.method, http.MethodGet), r.path
	var rd io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode request %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://touchbase"+path, rd)
	if err != nil {
		return nil, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := socketClient(b.socket).Do(req)
	if err != nil {
		return nil, socketError(b.socket, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("query daemon on %s: %w", b.socket, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	e := &apiError{msg: fmt.Sprintf("daemon: %s %s: %s", method, path, resp.Status)}
	var answer struct{ Error string }
	if json.Unmarshal(data, &answer) != nil || answer.Error == "" {
		return nil, e // not the API's answer: a daemon without the route, or a proxy
	}
	e.msg = answer.Error
	switch resp.StatusCode {
	case http.StatusBadRequest:
		e.kind = errBadRequest
	case http.StatusNotFound:
		e.kind = r.notFound
	}
	return nil, e
}

func socketClient(socket string) *http.Client {
	return &http.Client{
		Timeout: apiTimeout,
		Transport: &http.Transport{
			DisableKeepAlives: true, // one request per command
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
		},
	}
}

// dataError maps the errors of the data commands to exit statuses: a
// customer ID the configuration lacks, a bad time or a bad target is a
// usage error (2), like any other wrong argument. Records looked up in
// the store (a silence, a delivery) that do not exist are runtime
// failures (1): they may have been removed in the meantime.
func dataError(err error) error {
	var arg *evaluate.ArgError
	if errors.As(err, &arg) || errors.Is(err, evaluate.ErrNoCustomer) || errors.Is(err, errBadRequest) {
		return &exitError{code: exitUsage, err: err}
	}
	return err
}

// parseTime reads the value of a time flag (--at, --until) with
// evaluate.ParseTime in the display zone, naming the flag when it cannot.
// A day means its end ("slipped by Friday", "silenced through Friday").
func (b *backend) parseTime(flag, value string) (time.Time, error) {
	return timeFlag(evaluate.ParseTime, flag, value, b.loc())
}

// parseStart is parseTime for --from, where a day means its start:
// "silence from Monday" begins as Monday does.
func (b *backend) parseStart(flag, value string) (time.Time, error) {
	return timeFlag(evaluate.ParseStart, flag, value, b.loc())
}

func timeFlag(parse func(string, time.Time, *time.Location) (time.Time, error), flag, value string, loc *time.Location) (time.Time, error) {
	t, err := parse(value, clock(), loc)
	var arg *evaluate.ArgError
	switch {
	case errors.As(err, &arg):
		return t, usageError("--%s %q: %s", flag, value, arg.Msg)
	case err != nil:
		return t, usageError("--%s %q: %v", flag, value, err)
	}
	return t, nil
}

// printJSON prints the daemon's answer as it came when there is one, so
// fields of a newer daemon survive, else v, indented as the daemon does.
func printJSON(w io.Writer, raw []byte, v any) error {
	if raw != nil {
		_, err := w.Write(raw)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
