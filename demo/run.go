package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/store"
)

// RunOptions configures Run.
type RunOptions struct {
	// Dir holds everything the demo writes: touchbase.yaml, secrets/, the
	// store in data/, the API socket and daemon.log. It must exist.
	Dir string
	// Keep keeps the demo running after the story is told, until ctx ends,
	// so the CLI can be pointed at its socket.
	Keep bool
	// Out receives the narration; webhook lines have the form
	// WebhookLinePrefix … "signature=verified" (see Narrator).
	Out io.Writer
	// Build wires the daemon's components, exactly as `touchbase daemon`
	// does (cmd/touchbase planBuilder).
	Build   func(*config.Config, *store.Store, *zap.Logger) (*daemon.Plan, error)
	Version string
	// Wait bounds each step of the story (first sync, expected alerts,
	// recovery). Zero: one minute.
	Wait time.Duration
	// Recover ends the story by sending the overdue Litware report over
	// IMAP and showing its commitment.recovered arrive.
	Recover bool
	// Now is the moment the history is built for (Scenario(Now)); zero:
	// the time Run starts. The daemon evaluates at the real time.
	Now time.Time
}

// The demo's poll interval: IMAP changes arrive by IDLE at once, CalDAV
// ones within this.
const demoPoll = "10s"

// Run tells the demo's story: it serves Scenario(now)'s history from
// embedded loopback IMAP and CalDAV servers, writes a configuration for it
// under opts.Dir, runs the real daemon against it with a local webhook
// sink, and narrates to opts.Out what was synced, each customer's observed
// cadence and each webhook as it arrives. It returns nil when the story
// is told (or, with Keep, when ctx ends afterwards) and also when ctx ends
// early: stopping the demo is not a failure. Everything it started is
// stopped before it returns.
func Run(ctx context.Context, opts RunOptions) (err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = nil // interrupted while starting or stopping: not a failure
		}
	}()
	if opts.Wait <= 0 {
		opts.Wait = time.Minute
	}
	start := time.Now()
	if opts.Now.IsZero() {
		opts.Now = start
	}
	h := Scenario(opts.Now)
	nar := newNarrator(opts.Out, start, h)
	env, err := setUp(ctx, opts.Dir, h, nar)
	if err != nil {
		return err
	}
	defer env.close()
	nar.intro(env)

	logFile, err := os.OpenFile(env.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open daemon log: %w", err)
	}
	defer logFile.Close()
	d, err := daemon.New(ctx, daemon.Options{ConfigPath: env.configPath, Version: opts.Version,
		Logger: fileLogger(logFile), Build: opts.Build})
	if err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	defer d.Close()
	runCtx, cancel := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(runCtx) }()
	defer func() {
		cancel()
		if rerr := <-runErr; rerr != nil && err == nil {
			err = fmt.Errorf("stop daemon: %w", rerr)
		}
	}()

	err = tell(ctx, d, env, h, nar, opts)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		nar.say("Stopping (interrupted).")
		return nil
	}
	if err != nil || !opts.Keep {
		return err
	}
	nar.keep(env)
	<-ctx.Done()
	nar.say("Stopping.")
	return nil
}

// tell waits for each step of the story and narrates it.
func tell(ctx context.Context, d *daemon.Daemon, env *runEnv, h *History, nar *narrator, opts RunOptions) error {
	step := func(what string, fn func(context.Context) error) error {
		sctx, cancel := context.WithTimeout(ctx, opts.Wait)
		defer cancel()
		if err := fn(sctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err := step("wait for the first sync", func(ctx context.Context) error { return nar.watchSync(ctx, d) }); err != nil {
		return err
	}
	err := step("read customers", func(ctx context.Context) error { return nar.cadence(ctx, env.socket) })
	nar.release()
	if err != nil {
		return err
	}
	if err := step("wait for the expected alerts", func(ctx context.Context) error {
		return nar.waitAlerts(ctx, env.sink, h.Expected)
	}); err != nil {
		return err
	}
	if opts.Recover {
		if err := step("recover litware", func(ctx context.Context) error { return recoverLitware(ctx, env, h, nar) }); err != nil {
			return err
		}
	}
	nar.summary(env, opts.Keep)
	return nil
}

// recoverLitware appends the overdue Litware report to Ben's Sent folder
// and waits for the commitment.recovered it must cause.
func recoverLitware(ctx context.Context, env *runEnv, h *History, nar *narrator) error {
	mail, want := h.RecoveryMail(time.Now())
	nar.recovering(mail, want)
	if err := AppendIMAP(ctx, env.imapAddr, mail.Owner, env.passwords[mail.Owner], []Mail{mail}); err != nil {
		return err
	}
	return nar.waitAlerts(ctx, env.sink, []ExpectedAlert{want})
}

// runEnv is what setUp started and wrote.
type runEnv struct {
	dir, configPath, logPath, socket string
	dashboard                        string // the dashboard's URL
	imapAddr, caldavURL              string
	passwords                        map[string]string // account email → password
	sink                             *Sink
	stops                            []func()
}

func (e *runEnv) close() {
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
}

// setUp writes the secrets, starts the servers and the sink, and writes
// the configuration. On error it stops what it started.
func setUp(ctx context.Context, dir string, h *History, nar *narrator) (_ *runEnv, err error) {
	env := &runEnv{dir: dir, configPath: filepath.Join(dir, "touchbase.yaml"), logPath: filepath.Join(dir, "daemon.log"),
		socket: filepath.Join(dir, "touchbase.sock"), passwords: map[string]string{}}
	defer func() {
		if err != nil {
			env.close()
		}
	}()
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", secrets, err)
	}
	var accounts []AccountOptions
	for _, a := range h.Accounts {
		pw, err := randomHex(16)
		if err != nil {
			return nil, err
		}
		env.passwords[a.Email] = pw
		file := filepath.Join(secrets, a.Name+".password")
		if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", file, err)
		}
		accounts = append(accounts, AccountOptions{Name: a.Name, Email: a.Email, PasswordFile: file})
	}
	addr, stop, err := StartIMAP(ctx, env.passwords, h.Mails)
	if err != nil {
		return nil, err
	}
	env.imapAddr, env.stops = addr, append(env.stops, stop)
	url, stop, err := StartCalDAV(ctx, env.passwords, h.Events)
	if err != nil {
		return nil, err
	}
	env.caldavURL, env.stops = url, append(env.stops, stop)
	secret, err := NewWebhookSecret()
	if err != nil {
		return nil, err
	}
	whsec := filepath.Join(secrets, "webhook.whsec")
	if err := os.WriteFile(whsec, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", whsec, err)
	}
	if env.sink, err = NewSink(secret, SinkOptions{OnEvent: nar.webhook}); err != nil {
		return nil, err
	}
	env.stops = append(env.stops, func() { env.sink.Close() })
	for i := range accounts {
		accounts[i].IMAPAddr, accounts[i].CalDAVURL = env.imapAddr, env.caldavURL
	}
	httpAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	env.dashboard = "http://" + httpAddr + "/dashboard/"
	y, err := h.ConfigYAML(ConfigOptions{DataDir: filepath.Join(dir, "data"), Socket: env.socket,
		HTTP: httpAddr, Dashboard: true, PollInterval: demoPoll, Accounts: accounts, WebhookURL: env.sink.URL(), WebhookSecretFile: whsec})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(env.configPath, y, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", env.configPath, err)
	}
	return env, nil
}

// freeLoopbackAddr finds a free port on 127.0.0.1 for the daemon's HTTP
// listener (and its dashboard). The port is released before the daemon
// binds it; another process taking it meanwhile makes the daemon fail to
// start with "address already in use", which a second run gets past.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port for the dashboard: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port for the dashboard: %w", err)
	}
	return addr, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// fileLogger is the daemon's usual JSON log, written to the demo's
// daemon.log so it does not drown the narration.
func fileLogger(w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), zapcore.InfoLevel))
}
