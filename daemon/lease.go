package daemon

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/store"
)

// Lease names besides the sources' own ("imap:<account>", ...).
const (
	evaluationLease = "evaluation"
	// memberPrefix starts the lease each running daemon holds on itself:
	// the live ones are the daemons the sources are shared among.
	memberPrefix = "daemon:"
	// forgetMembersAfter is how long a dead daemon's member lease is kept,
	// for the record, before a starting daemon deletes it.
	forgetMembersAfter = 24 * time.Hour
	// releaseTimeout bounds giving a lease back at stop: SIGTERM must
	// still exit within 10 s.
	releaseTimeout = 2 * time.Second
)

// Lease kinds, the label of touchbase_leases_held.
const (
	kindSource     = "source"
	kindEvaluation = "evaluation"
	kindMember     = "member"
)

// errLeaseReleased ends a held lease's context when this daemon gives the
// lease up (stop, reload, or handing a source to a less busy daemon).
var errLeaseReleased = errors.New("lease released")

// newHolderID names this daemon process in the leases it holds: host and
// pid for the person reading `touchbase status`, and a random part so that
// no two processes share one, even on hosts with equal names.
func newHolderID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	b := make([]byte, 3)
	crand.Read(b) // never fails (Go 1.24+)
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b)
}

// lessor takes and keeps this daemon's leases (cluster.enabled) and
// decides how many sources this daemon should work on: a fair share,
// ceil(sources / live daemons), so that the work spreads over the daemons
// instead of staying with the first one started.
type lessor struct {
	st      *store.Store
	holder  string
	ttl     time.Duration
	now     func() time.Time
	log     *zap.Logger
	m       *metrics
	sources int // sources in the plan, shared among the daemons

	mu      sync.Mutex
	held    map[string]bool // source leases held now
	members int             // live daemons, this one included, as last counted
}

func newLessor(st *store.Store, holder string, ttl time.Duration, sources int, m *metrics, log *zap.Logger, now func() time.Time) *lessor {
	return &lessor{st: st, holder: holder, ttl: ttl, now: now, log: log, m: m, sources: sources,
		held: map[string]bool{}, members: 1}
}

// held is a lease this daemon holds. A goroutine renews it every third of
// its duration until it is released or lost; ctx, fenced by the lease
// (store.WithLease), ends as soon as either happens, so work under it
// stops and nothing it still tries to commit lands.
type held struct {
	l      *lessor
	kind   string
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // the renewer ended
	lostMu sync.Once

	mu    sync.Mutex
	lease store.Lease
}

// take acquires lease name of kind when it is free, or already this
// daemon's. It returns nil and how long to wait before asking again when
// another daemon holds it, or when this daemon has its share of sources
// and the lease has not been free for long (a busier daemon gives sources
// up for the others to take). The held lease's context derives from ctx.
func (l *lessor) take(ctx context.Context, name, kind string) (*held, time.Duration, error) {
	cur, found, err := l.st.GetLease(ctx, name)
	if err != nil {
		return nil, l.ttl, err
	}
	now := l.now()
	live := found && cur.Live(now)
	if live && cur.Holder != l.holder {
		return nil, cur.ExpiresAt.Sub(now) + l.spread(), nil
	}
	if found && !live && kind == kindSource && !l.wantsMore() {
		// Free, but this daemon has its share (or gave this one up just
		// now): leave it to one that has not, unless none took it for two
		// lease durations.
		if wait := cur.ExpiresAt.Add(2 * l.ttl).Sub(now); wait > 0 {
			return nil, wait + l.spread(), nil
		}
	}
	return l.acquire(ctx, name, kind)
}

// takeAny is take without the fair share: for `run --once`, which is no
// member of the cluster and holds leases only for its pass.
func (l *lessor) takeAny(ctx context.Context, name, kind string) (*held, store.Lease, error) {
	h, _, err := l.acquire(ctx, name, kind)
	if h != nil || err != nil {
		return h, store.Lease{}, err
	}
	cur, _, err := l.st.GetLease(ctx, name)
	return nil, cur, err
}

// acquire takes lease name when the store lets it, and starts its renewer.
func (l *lessor) acquire(ctx context.Context, name, kind string) (*held, time.Duration, error) {
	lease, ok, err := l.st.AcquireLease(ctx, name, l.holder, l.now(), l.ttl)
	if err != nil {
		return nil, l.ttl, err
	}
	if !ok {
		return nil, lease.ExpiresAt.Sub(l.now()) + l.spread(), nil
	}
	hctx, cancel := context.WithCancelCause(ctx)
	h := &held{l: l, kind: kind, ctx: store.WithLease(hctx, lease), cancel: cancel, done: make(chan struct{}), lease: lease}
	if kind == kindSource {
		l.mu.Lock()
		l.held[name] = true
		l.mu.Unlock()
	}
	l.m.leasesHeld.WithLabelValues(kind).Inc()
	if kind != kindMember {
		l.log.Info("lease acquired", zap.String(keyLease, name), zap.Int64(keyGeneration, lease.Generation),
			zap.Time(keyUntil, lease.ExpiresAt))
	}
	go h.renew()
	return h, 0, nil
}

// spread is a small random delay, so that daemons waiting for the same
// lease do not all ask at the same instant.
func (l *lessor) spread() time.Duration { return rand.N(l.ttl/10 + 1) }

// share is how many sources this daemon should hold: ceil(sources /
// live daemons).
func (l *lessor) share() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return (l.sources + l.members - 1) / max(l.members, 1)
}

// wantsMore reports whether this daemon holds fewer sources than its share.
func (l *lessor) wantsMore() bool {
	share := l.share()
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held) < share
}

// shed reports whether this daemon holds more sources than its share; it
// then counts name as given up already, so that of several loops asking at
// once only as many as needed give theirs up.
func (l *lessor) shed(name string) bool {
	share := l.share()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) <= share || !l.held[name] {
		return false
	}
	delete(l.held, name)
	return true
}

// countMembers counts the live daemons from their member leases.
func (l *lessor) countMembers(ctx context.Context) error {
	ls, err := l.st.Leases(ctx)
	if err != nil {
		return err
	}
	n, now := 0, l.now()
	for _, ls := range ls {
		if strings.HasPrefix(ls.Name, memberPrefix) && (ls.Live(now) || ls.Holder == l.holder) {
			n++
		}
	}
	l.mu.Lock()
	l.members = max(n, 1)
	l.mu.Unlock()
	return nil
}

// memberLoop holds this daemon's member lease while ctx lasts, counting
// the live daemons at each renewal. Once, at start, it deletes member
// leases of daemons gone for long.
func (l *lessor) memberLoop(ctx context.Context) {
	if n, err := l.st.DeleteLeases(ctx, memberPrefix, l.now().Add(-forgetMembersAfter)); err != nil {
		l.log.Warn("delete old daemon leases", zap.Error(err))
	} else if n > 0 {
		l.log.Debug("deleted old daemon leases", zap.Int64("deleted", n))
	}
	var h *held
	defer func() {
		if h != nil {
			h.release()
		}
	}()
	for {
		if h == nil || h.lost() {
			if h != nil {
				h.release()
			}
			var err error
			if h, _, err = l.acquire(ctx, memberPrefix+l.holder, kindMember); err != nil && ctx.Err() == nil {
				l.log.Warn("register this daemon", zap.Error(err))
			}
		}
		if err := l.countMembers(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("count daemons", zap.Error(err))
		}
		if !sleep(ctx, l.ttl/3) {
			return
		}
	}
}

// Name is the lease's name.
func (h *held) Name() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease.Name
}

// lost reports whether the lease was lost (not merely released, or its
// work stopped).
func (h *held) lost() bool { return errors.Is(context.Cause(h.ctx), store.ErrLeaseLost) }

// renew renews the lease every third of its duration until it is released
// or lost: lost when the store says another generation holds it, or when
// renewals failed until it expired by this daemon's clock (another daemon
// may have taken it then).
func (h *held) renew() {
	defer close(h.done)
	l := h.l
	every := l.ttl / 3
	for sleep(h.ctx, every) {
		h.mu.Lock()
		cur := h.lease
		h.mu.Unlock()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), every)
		next, err := l.st.RenewLease(rctx, cur, l.now(), l.ttl)
		cancel()
		switch {
		case err == nil:
			h.mu.Lock()
			h.lease = next
			h.mu.Unlock()
		case errors.Is(err, store.ErrLeaseLost):
			h.lose(err)
			return
		case !l.now().Before(cur.ExpiresAt):
			h.lose(fmt.Errorf("renewals failed until it expired: %w", err))
			return
		default:
			l.log.Warn("renew lease", zap.String(keyLease, cur.Name), zap.Error(err))
		}
	}
}

// lose ends the lease's context and counts it no longer held; only the
// first call, by the renewer or by work that found the lease gone, logs.
func (h *held) lose(err error) {
	h.lostMu.Do(func() {
		name := h.Name()
		if context.Cause(h.ctx) != errLeaseReleased {
			h.l.log.Warn("lease lost: work under it stops", zap.String(keyLease, name), zap.Error(err))
		}
		h.cancel(fmt.Errorf("lease %s: %w", name, store.ErrLeaseLost))
		h.forget(name)
	})
}

// forget counts the lease no longer held (once).
func (h *held) forget(name string) {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	if h.kind == kindSource {
		delete(h.l.held, name)
	}
}

// release gives the lease up, after its renewer stopped, so that another
// daemon may take it at once. Call it once, when the work under the lease
// has stopped; a lost lease is only forgotten.
func (h *held) release() {
	wasLost := h.lost()
	h.cancel(errLeaseReleased)
	<-h.done
	h.l.m.leasesHeld.WithLabelValues(h.kind).Dec()
	h.mu.Lock()
	lease := h.lease
	h.mu.Unlock()
	h.forget(lease.Name)
	if wasLost {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if err := h.l.st.ReleaseLease(ctx, lease, h.l.now()); err != nil {
		h.l.log.Warn("release lease; it expires on its own", zap.String(keyLease, lease.Name), zap.Error(err))
		return
	}
	if h.kind != kindMember {
		h.l.log.Info("lease released", zap.String(keyLease, lease.Name), zap.Int64(keyGeneration, lease.Generation))
	}
}
