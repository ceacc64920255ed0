// Package daemon runs Touchbase: it loads the configuration, opens the store,
// schedules every sync source, the cadence evaluation and webhook delivery,
// and serves the JSON API on a unix socket (and optionally over TCP with
// /healthz, /readyz and /metrics). It talks to systemd through sd_notify but
// never touches signals: cmd/touchbase turns SIGHUP into Reload and
// SIGTERM/SIGINT into cancelling Run's context, so the daemon can be run
// and reloaded in-process by tests.
package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Plan is what one configuration runs. Options.Build makes a new Plan for
// every configuration: at start and on each successful reload.
type Plan struct {
	Sources []Source
	// Evaluate evaluates every commitment as of now and records alert
	// transitions (and the webhook events they produce). nil: nothing to
	// evaluate.
	Evaluate func(ctx context.Context, now time.Time) (Evaluated, error)
	// Deliver makes one pass over the webhook deliveries that are due.
	// nil: nothing to deliver.
	Deliver func(ctx context.Context) (Delivered, error)
	// Routes registers extra API routes (customers, alerts, ...) on the mux
	// served on the socket and the TCP listener. nil: none.
	Routes func(mux *http.ServeMux)
}

// Evaluated counts the alerts one evaluation pass opened and resolved.
type Evaluated struct {
	Opened, Resolved int
}

// Delivered counts one delivery pass's attempts. Failed counts attempts a
// receiver refused (non-2xx) or that reached no receiver, retried later or
// not; FailedEndpoints names their endpoints.
type Delivered struct {
	Sent, Failed    int
	FailedEndpoints []string
}

// Options configures New.
type Options struct {
	ConfigPath string
	Version    string // reported by /v1/status and touchbase_build_info
	Logger     *zap.Logger
	// Level is the logger's level, set from the config's log_level at start
	// and on every reload. The zero value leaves the level alone.
	Level zap.AtomicLevel
	// Registry receives the daemon's metrics and is served on /metrics.
	// nil: a private registry.
	Registry *prometheus.Registry
	// Build wires the components for a configuration. st is nil when the
	// plan is only used to Check sources (`touchbase check --connect`), so
	// constructors must not use the store before Sync. nil: an empty Plan.
	Build func(cfg *config.Config, st *store.Store, log *zap.Logger) (*Plan, error)
	Now   func() time.Time // nil: time.Now
	// Holder names this daemon in the leases it takes (cluster.enabled).
	// "": one of its own, hostname:pid:random.
	Holder string
}

// ConfigError is an invalid configuration, or a reload that would change a
// setting that needs a restart. cmd/touchbase maps it to exit status 2.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Daemon is a loaded configuration with its open store. Use Run for the
// long-running daemon or RunOnce for a single pass, then Close.
type Daemon struct {
	opts      Options
	log       *zap.Logger
	store     *store.Store
	metrics   *metrics
	startedAt time.Time
	holder    string // in leases: hostname:pid:random

	state    atomic.Pointer[snapshot]       // the running configuration
	rejected atomic.Pointer[RejectedReload] // the last reload, when it was refused
	current  atomic.Pointer[runner]         // the running plan's loops, for the watchdog
	ready    atomic.Bool                    // Run is serving with a started plan

	mu     sync.Mutex // serialises reloads with starting and stopping the plan
	runCtx context.Context
	runner *runner
}

// snapshot is one configuration with everything derived from it. It is
// replaced as a whole on reload, never changed.
type snapshot struct {
	cfg      *config.Config
	plan     *Plan
	mux      *http.ServeMux
	token    string // bearer token for the TCP listener; "" when none
	loadedAt time.Time
}

// New loads and validates the configuration at opts.ConfigPath, opens the
// store in its data_dir and builds the plan. Configuration problems are
// returned as *ConfigError.
func New(ctx context.Context, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Holder == "" {
		opts.Holder = newHolderID()
	}
	if opts.Build == nil {
		opts.Build = func(*config.Config, *store.Store, *zap.Logger) (*Plan, error) { return &Plan{}, nil }
	}
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d := &Daemon{opts: opts, log: opts.Logger, store: st, startedAt: opts.Now(), holder: opts.Holder}
	if d.metrics, err = newMetrics(opts.Registry, opts.Version, st, opts.Logger); err != nil {
		st.Close()
		return nil, err
	}
	snap, err := d.prepare(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	d.state.Store(snap)
	d.setLevel(cfg.LogLevel)
	d.logWarnings(cfg)
	return d, nil
}

// logWarnings logs the configuration's warnings once per load, so that a
// daemon whose file never went through `touchbase check` still shows them.
func (d *Daemon) logWarnings(cfg *config.Config) {
	if len(cfg.Warnings) == 0 {
		return
	}
	ws := make([]string, len(cfg.Warnings))
	for i, w := range cfg.Warnings {
		ws[i] = w.String()
	}
	d.log.Warn("configuration has warnings", zap.String(keyConfig, cfg.Path), zap.Strings(keyWarnings, ws))
}

// Close closes the store. Call it after Run or RunOnce returned.
func (d *Daemon) Close() error { return d.store.Close() }

// Config returns the running configuration.
func (d *Daemon) Config() *config.Config { return d.state.Load().cfg }

// LoadConfig loads the configuration at path (config.Load) and applies the
// daemon's own checks, so that `touchbase check` rejects what the daemon
// would. Problems are returned as *ConfigError.
func LoadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	if cfg.Listen.HTTP != "" && !isLoopback(cfg.Listen.HTTP) && cfg.Listen.Token.IsZero() {
		return nil, &ConfigError{Err: fmt.Errorf("%s: listen.http %s is not loopback: set listen.token_file", path, cfg.Listen.HTTP)}
	}
	return cfg, nil
}

// prepare reads the API token and builds the plan and routes for cfg.
func (d *Daemon) prepare(ctx context.Context, cfg *config.Config) (*snapshot, error) {
	snap := &snapshot{cfg: cfg, loadedAt: d.opts.Now()}
	if !cfg.Listen.Token.IsZero() {
		tok, err := cfg.Listen.Token.Value(ctx)
		if err != nil {
			return nil, &ConfigError{Err: fmt.Errorf("%s: listen.token_file: %w", cfg.Path, err)}
		}
		if tok == "" {
			return nil, &ConfigError{Err: fmt.Errorf("%s: listen.token_file: token is empty", cfg.Path)}
		}
		snap.token = tok
	}
	plan, err := d.opts.Build(cfg, d.store, d.log)
	if err != nil {
		return nil, fmt.Errorf("build plan: %w", err)
	}
	snap.plan = plan
	if snap.mux, err = d.routes(plan); err != nil {
		return nil, err
	}
	return snap, nil
}

// Reload re-reads the configuration file. When it is valid it replaces the
// running configuration atomically: the old plan's loops are stopped (and
// waited for), a new plan is built and started, and the log level applied.
// When it is not, or when it changes data_dir, listen.socket or listen.http
// (which need a restart), the old configuration keeps running and the
// error, a *ConfigError for configuration problems, is logged, returned
// and shown by Status until a reload succeeds. systemd is told RELOADING=1 before and READY=1 after, whatever the outcome.
func (d *Daemon) Reload(ctx context.Context) error {
	d.notify(reloadingState())
	defer d.notify(stateReady)
	err := d.reload(ctx)
	if err != nil {
		ps := problems(err)
		if len(ps) == 0 {
			ps = []string{"reload failed"}
		}
		d.rejected.Store(&RejectedReload{At: d.opts.Now().UTC(), Error: ps[0], Problems: len(ps)})
		d.metrics.reloadOK.Set(0)
		d.log.Error("reload rejected, keeping the running configuration",
			zap.String(keyConfig, d.opts.ConfigPath), zap.Strings(keyProblems, ps))
		return err
	}
	d.rejected.Store(nil)
	d.metrics.reloadOK.Set(1)
	d.metrics.reloadTime.SetToCurrentTime()
	cfg := d.Config()
	d.log.Info("configuration reloaded", zap.String(keyConfig, cfg.Path),
		zap.String(keyLevel, levelName(cfg.LogLevel)), zap.Int(keySources, len(d.state.Load().plan.Sources)))
	d.logWarnings(cfg)
	return nil
}

func (d *Daemon) reload(ctx context.Context) error {
	cfg, err := LoadConfig(d.opts.ConfigPath)
	if err != nil {
		return err
	}
	old := d.state.Load().cfg
	for _, c := range []struct{ key, old, new string }{
		{"data_dir", old.DataDir, cfg.DataDir},
		{"store", old.Store, cfg.Store},
		{"postgres.dsn_file", old.Postgres.DSNFile, cfg.Postgres.DSNFile},
		{"listen.socket", old.Listen.Socket, cfg.Listen.Socket},
		{"listen.http", old.Listen.HTTP, cfg.Listen.HTTP},
	} {
		if c.old != c.new {
			return &ConfigError{Err: fmt.Errorf("%s: %s changed from %q to %q: restart needed", cfg.Path, c.key, c.old, c.new)}
		}
	}
	snap, err := d.prepare(ctx, cfg)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.runner != nil {
		<-d.runner.stop()
		d.runner = nil
		d.current.Store(nil)
	}
	d.state.Store(snap)
	d.setLevel(cfg.LogLevel)
	if d.runCtx != nil {
		d.startPlan(d.runCtx, snap)
	}
	return nil
}

// startPlan starts snap's loops; d.mu must be held.
func (d *Daemon) startPlan(ctx context.Context, snap *snapshot) {
	r := d.newRunner(snap)
	r.start(ctx)
	d.runner = r
	d.current.Store(r)
}

func (d *Daemon) setLevel(name string) {
	if d.opts.Level == (zap.AtomicLevel{}) {
		return
	}
	lvl, err := zapcore.ParseLevel(name)
	if err != nil {
		d.log.Warn("unknown log_level, using info", zap.String(keyLevel, name))
		lvl = zapcore.InfoLevel
	}
	d.opts.Level.SetLevel(lvl)
}

func levelName(name string) string {
	if name == "" {
		return "info"
	}
	return name
}

// problems splits an error into its lines, so that each configuration
// problem (config.Errors and errors.Join print one per line) is its own
// entry in the log.
func problems(err error) []string {
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func pid() int { return os.Getpid() }
