// Package caldavsource turns an account's CalDAV calendars (RFC 4791) into
// meeting interactions: one per occurrence inside the sync window (from
// now − sync.backfill to now + sync.horizon), past meetings and planned
// ones alike. Occurrences are keyed on UID + RECURRENCE-ID, so the same
// meeting on two colleagues' calendars is one interaction with the
// participants of both copies.
//
// A pass starts with one Depth-0 PROPFIND per calendar for its getctag and
// DAV:sync-token (the calendars themselves are listed from the home set on
// the first pass and every relistEvery); unchanged calendars cost nothing
// more unless objects are due (below). A calendar never synced is read
// with one calendar-query REPORT returning every event object up to the
// horizon with its data, stream-decoded and stored in batches (firstSync),
// without reading its state first: the next pass compares ETags once, then
// records the token. Changed ones are read with an RFC 6578
// sync-collection REPORT (ETags only), falling back to an ETag listing when
// the server has no sync token or refuses ours; only new or changed objects
// are fetched, with calendar-multiget in small batches. Each batch is
// stored with its ETags in one transaction and the new token last, so a
// crash loses nothing and the next pass fetches only what is missing.
// Objects deleted or moved remove their future occurrences; past meetings
// stay.
//
// The window moves with the clock, so occurrences enter it without any
// change on the server. Each object is stored with the start of its first
// instance at or after the window's end when it was expanded (its next
// instance; none for a single past event or an ended series). Every pass
// asks the store, not the server, for the objects whose next instance the
// window has now reached, and fetches those with calendar-multiget beside
// the changed ones; expanding them stores their new next instance. An
// unchanged calendar with nothing due costs only its state PROPFIND. As
// the instance time is stored (not when to look again), a horizon
// lengthened on reload makes the objects it reaches due at once.
package caldavsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/oauth"
	"github.com/touchbase/touchbase/store"
)

// Source syncs one account's calendars. It implements the daemon's Source
// and Checker contracts; Sync makes one pass and never retries or sleeps.
// A Source is not safe for concurrent use (the scheduler runs one pass at
// a time per source).
type Source struct {
	acct      config.Account
	sync      config.Sync
	defaultTZ *time.Location
	st        Store
	log       *zap.Logger
	hc        *http.Client
	base      *url.URL

	now   func() time.Time
	batch int // objects per calendar-multiget
	// applyEvery objects go in one store transaction. 500 rather than 200:
	// a 5,000-event first sync (26,000 occurrences) is ~10% faster, with a
	// peak RSS of ~70 MB instead of ~63 (1,000: ~84 MB; bench/caldav).
	applyEvery  int
	relistEvery time.Duration // home-set listing that finds added and removed calendars
	home        string        // discovered calendar home set, cached
	cals        []calendarInfo
	listedAt    time.Time // when cals was listed; zero: list on the next pass
}

// New returns the source of acct's calendars. acct.CalDAV must be set;
// defaultTZ places floating times and all-day events (nil means UTC).
// With auth: oauth2, tokens must give the account's OAuth client: every
// request then carries `Authorization: Bearer` (RFC 6750) instead of basic
// auth.
func New(acct config.Account, sync config.Sync, defaultTZ *time.Location, st Store, log *zap.Logger, tokens ...*oauth.Client) (*Source, error) {
	if acct.CalDAV == nil {
		return nil, fmt.Errorf("account %s has no caldav settings", acct.Name)
	}
	base, err := url.Parse(acct.CalDAV.URL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("account %s: caldav url %q is not an absolute URL", acct.Name, acct.CalDAV.URL)
	}
	if base.Path == "" {
		base.Path = "/"
	}
	hc, err := newHTTPClient(acct.CalDAV.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acct.Name, err)
	}
	if acct.CalDAV.Auth == config.AuthOAuth2 {
		if len(tokens) == 0 || tokens[0] == nil {
			return nil, fmt.Errorf("account %s: auth: oauth2 without an oauth client", acct.Name)
		}
		hc.Transport = tokens[0].Transport(hc.Transport)
	}
	if defaultTZ == nil {
		defaultTZ = time.UTC
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Source{
		acct: acct, sync: sync, defaultTZ: defaultTZ, st: st,
		log: log.With(zap.String(logSource, "caldav:"+acct.Name)),
		hc:  hc, base: base, now: time.Now,
		batch: 50, applyEvery: 500, relistEvery: time.Hour,
	}, nil
}

// Log field keys.
const (
	logSource   = "source"
	logCalendar = "calendar"
	logHref     = "href"
)

// Name is "caldav:<account>".
func (s *Source) Name() string { return "caldav:" + s.acct.Name }

// client returns a request client for one pass, reading the password now
// (a password_command may print a fresh one each time).
func (s *Source) client(ctx context.Context) (*davClient, error) {
	c := &davClient{hc: s.hc, base: s.base, user: s.acct.CalDAV.Username}
	if s.acct.CalDAV.Auth == config.AuthOAuth2 {
		c.user = "" // the transport adds the bearer token
		return c, nil
	}
	if !s.acct.CalDAV.Password.IsZero() {
		pass, err := s.acct.CalDAV.Password.Value(ctx)
		if err != nil {
			return nil, fmt.Errorf("caldav password of %s: %w", s.acct.Name, err)
		}
		c.pass = pass
	}
	return c, nil
}

// Check discovers the calendars without touching the store (`touchbase
// check --connect`): it fails on bad credentials, an unreachable server,
// no calendar with events, or a configured calendar that does not exist.
func (s *Source) Check(ctx context.Context) error {
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	s.home = ""
	cals, missing, err := s.calendars(ctx, c, counters{})
	if err != nil {
		return fmt.Errorf("check %s: %w", s.acct.Name, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("check %s: calendars not found: %s", s.acct.Name, strings.Join(missing, ", "))
	}
	if len(cals) == 0 {
		return fmt.Errorf("check %s: no calendar with events at %s", s.acct.Name, s.acct.CalDAV.URL)
	}
	return nil
}

// Sync makes one pass over every selected calendar. Errors name the
// account and calendar; one failing calendar does not stop the others.
// Stats count this pass: http_requests, http_bytes, fetched (due: of them,
// objects fetched because the window reached their next instance),
// occurrences, stored, updated, removed, skipped_* and time-zone fallbacks
// (tz_*).
func (s *Source) Sync(ctx context.Context) (map[string]int64, error) {
	stats := counters{}
	c, err := s.client(ctx)
	if err != nil {
		return stats, fmt.Errorf("sync %s: %w", s.acct.Name, err)
	}
	defer func() { stats.add("http_requests", c.requests); stats.add("http_bytes", c.bytes) }()
	now := s.now()
	stored, err := s.st.CalDAVCalendars(ctx, s.acct.Name)
	if err != nil {
		return stats, fmt.Errorf("sync %s: %w", s.acct.Name, err)
	}
	synced := func(url string) bool {
		return slices.ContainsFunc(stored, func(st store.CalDAVCalendar) bool { return st.URL == url })
	}
	cals, missing, err := s.currentCalendars(ctx, c, now, synced, stats)
	if err != nil {
		return stats, fmt.Errorf("sync %s: %w", s.acct.Name, err)
	}
	if len(cals) == 0 && len(missing) == 0 {
		// Never read an empty listing as "every calendar was deleted".
		return stats, fmt.Errorf("sync %s: no calendar with events at %s", s.acct.Name, s.acct.CalDAV.URL)
	}
	var errs []error
	for _, cal := range cals {
		prev := store.CalDAVCalendar{URL: cal.url}
		if i := slices.IndexFunc(stored, func(st store.CalDAVCalendar) bool { return st.URL == cal.url }); i >= 0 {
			prev = stored[i]
		}
		if err := s.syncCalendar(ctx, c, cal, prev, now, stats); err != nil {
			if ctx.Err() != nil {
				return stats, fmt.Errorf("sync %s/%s: %w", s.acct.Name, cal.path, err)
			}
			if code := statusCode(err); code == http.StatusNotFound || code == http.StatusGone {
				s.listedAt = time.Time{} // the calendar may be gone: list the home set next pass
			}
			errs = append(errs, fmt.Errorf("sync %s/%s: %w", s.acct.Name, cal.path, err))
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("sync %s: calendars not found: %s", s.acct.Name, strings.Join(missing, ", ")))
	} else {
		errs = append(errs, s.forgetGone(ctx, cals, stored, now, stats))
	}
	stats.add("calendars", int64(len(cals)))
	return stats, errors.Join(errs...)
}

// forgetGone drops calendars synced before that are no longer listed or
// selected: their future meetings disappear, past ones stay.
func (s *Source) forgetGone(ctx context.Context, cals []calendarInfo, stored []store.CalDAVCalendar, now time.Time, stats counters) error {
	for _, st := range stored {
		if slices.ContainsFunc(cals, func(c calendarInfo) bool { return c.url == st.URL }) {
			continue
		}
		n, err := s.st.ForgetCalDAVCalendar(ctx, s.acct.Name, st.URL, now)
		if err != nil {
			return fmt.Errorf("sync %s: %w", s.acct.Name, err)
		}
		s.log.Info("calendar gone, future meetings removed", zap.String(logCalendar, st.URL), zap.Int("removed", n))
		stats.add("removed", int64(n))
	}
	return nil
}

// window is the span of occurrences kept at now.
func (s *Source) window(now time.Time) window {
	return window{start: s.sync.Backfill.Before(now, s.defaultTZ).UTC(), end: s.sync.Horizon.After(now, s.defaultTZ).UTC()}
}

func (s *Source) parseOptions(now time.Time) parseOptions {
	return parseOptions{win: s.window(now), defaultTZ: s.defaultTZ, account: s.acct.Name, accountEmail: strings.ToLower(s.acct.Email)}
}
