package caldavsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// unchanged reports whether the calendar is as last synced: the same
// getctag and sync token as stored (a server without getctag: the token
// alone). A server with neither is never known to be unchanged.
func unchanged(prev store.CalDAVCalendar, cal calendarInfo) bool {
	if cal.ctag == "" && cal.syncToken == "" {
		return false
	}
	return cal.ctag == prev.CTag && cal.syncToken == prev.SyncToken
}

// plan is what one calendar's pass must do.
type plan struct {
	fetch     []string          // hrefs to fetch
	listed    map[string]string // href → ETag the server reported
	deleted   []string
	token     string // sync token covering the plan
	expandAll bool   // every object is expanded: SyncedAt moves to now
}

// syncCalendar brings one calendar up to date (see the package doc): the
// objects changed on the server, and those whose next instance the moving
// window has reached (due; found locally, so an unchanged calendar with
// nothing due costs no request beyond its state).
func (s *Source) syncCalendar(ctx context.Context, c *davClient, cal calendarInfo, prev store.CalDAVCalendar, now time.Time, stats counters) error {
	log := s.log.With(zap.String(logCalendar, cal.url))
	due, err := s.st.CalDAVDue(ctx, s.acct.Name, cal.url, s.window(now).end)
	if err != nil {
		return err
	}
	var p plan
	if unchanged(prev, cal) {
		if len(due) == 0 {
			stats.add("calendars_unchanged", 1)
			return nil
		}
		p = plan{listed: map[string]string{}, token: cal.syncToken}
	} else {
		etags, err := s.st.CalDAVETags(ctx, s.acct.Name, cal.url)
		if err != nil {
			return err
		}
		if prev.SyncedAt.IsZero() && prev.SyncToken == "" && prev.CTag == "" && len(etags) == 0 {
			err := s.firstSync(ctx, c, cal, now, log, stats)
			if code := statusCode(err); code == 0 || code == http.StatusUnauthorized {
				return err
			}
			// Nothing was stored: read the calendar the incremental way.
			stats.add("calendar_query_refused", 1)
			log.Warn("calendar-query refused, listing etags", zap.Error(err))
		}
		if p, err = s.plan(ctx, c, cal, prev, etags, log, stats); err != nil {
			return err
		}
	}
	stats.add("due", int64(p.addDue(due)))
	state := prev
	failed, gone, err := s.fetchAndApply(ctx, c, cal, p, now, log, stats)
	if err != nil {
		return err
	}
	p.deleted = append(p.deleted, gone...)
	if failed == 0 {
		state.SyncToken, state.CTag = p.token, cal.ctag
		if p.expandAll {
			state.SyncedAt = now
		}
	}
	// Deletions and the new token go last, together: a crash before this
	// leaves the old token, and the next pass redoes the delta cheaply
	// (objects already stored have matching ETags and are not fetched).
	// Due objects that failed keep their next instance: due again.
	res, err := s.st.ApplyCalDAV(ctx, store.CalDAVChanges{Account: s.acct.Name, Calendar: cal.url, Delete: p.deleted, State: &state}, now)
	if err != nil {
		return err
	}
	stats.add("removed", int64(res.Removed))
	stats.add("deleted_objects", int64(len(p.deleted)))
	if failed > 0 {
		return fmt.Errorf("%d calendar objects could not be fetched; will retry", failed)
	}
	log.Debug("calendar synced", zap.Int("fetched", len(p.fetch)), zap.Int("deleted", len(p.deleted)))
	return nil
}

// addDue adds to p.fetch the due objects (href → stored ETag) it does not
// fetch or delete already, and returns how many it added.
func (p *plan) addDue(due map[string]string) int {
	skip := make(map[string]bool, len(p.fetch)+len(p.deleted))
	for _, h := range p.fetch {
		skip[h] = true
	}
	for _, h := range p.deleted {
		skip[h] = true
	}
	n := 0
	for href, etag := range due {
		if skip[href] {
			continue
		}
		p.fetch = append(p.fetch, href)
		if p.listed[href] == "" {
			p.listed[href] = etag
		}
		n++
	}
	sort.Strings(p.fetch)
	return n
}

// plan finds what changed: RFC 6578 sync-collection from the stored token,
// or an ETag listing when there is no token or the server refuses it.
func (s *Source) plan(ctx context.Context, c *davClient, cal calendarInfo, prev store.CalDAVCalendar, etags map[string]string, log *zap.Logger, stats counters) (plan, error) {
	if prev.SyncToken != "" && cal.syncToken != "" {
		changed, deleted, token, err := syncDelta(ctx, c, cal, prev.SyncToken)
		if err == nil {
			p := plan{listed: changed, deleted: deleted, token: token}
			for href, etag := range changed {
				if etag == "" || etags[href] != etag {
					p.fetch = append(p.fetch, href)
				}
			}
			sort.Strings(p.fetch)
			return p, nil
		}
		if !errors.Is(err, errTokenRefused) {
			return plan{}, err
		}
		stats.add("sync_token_refused", 1)
		log.Warn("sync token refused, comparing etags", zap.Error(err))
	}
	// The DAV:sync-token read with the listing before this ETag listing
	// covers it: a change in between shows up again next time.
	listed, err := listETags(ctx, c, cal)
	if err != nil {
		return plan{}, err
	}
	p := plan{listed: listed, token: cal.syncToken, expandAll: len(etags) == 0}
	for href, etag := range listed {
		if old, ok := etags[href]; !ok || etag == "" || old != etag {
			p.fetch = append(p.fetch, href)
		}
	}
	for href := range etags {
		if _, ok := listed[href]; !ok {
			p.deleted = append(p.deleted, href)
		}
	}
	sort.Strings(p.fetch)
	sort.Strings(p.deleted)
	return p, nil
}

// fetchAndApply fetches p.fetch and stores the objects' occurrences and
// ETags every applyEvery objects, each batch in one transaction. It
// returns how many objects could not be fetched and those that vanished
// meanwhile (to be deleted).
func (s *Source) fetchAndApply(ctx context.Context, c *davClient, cal calendarInfo, p plan, now time.Time, log *zap.Logger, stats counters) (failed int, gone []string, err error) {
	opts := s.parseOptions(now)
	var pending []store.CalDAVObject
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		res, err := s.st.ApplyCalDAV(ctx, store.CalDAVChanges{Account: s.acct.Name, Calendar: cal.url, Put: pending}, now)
		if err != nil {
			return err
		}
		stats.add("stored", int64(res.Created))
		stats.add("updated", int64(res.Updated))
		stats.add("removed", int64(res.Removed))
		pending = pending[:0]
		return nil
	}
	f := &fetcher{c: c, cal: cal, batch: s.batch, log: log}
	f.receive = func(href, etag, data string) error {
		stats.add("fetched", 1)
		if etag == "" {
			etag = p.listed[href]
		}
		pending = append(pending, s.object(href, etag, data, opts, log, stats))
		if len(pending) >= s.applyEvery {
			return flush()
		}
		return nil
	}
	if err := f.fetch(ctx, p.fetch); err != nil {
		return 0, nil, err
	}
	if err := flush(); err != nil {
		return 0, nil, err
	}
	stats.add("skipped_fetch_error", int64(len(f.failed)))
	return len(f.failed), f.gone, nil
}

// object parses one fetched object. A malformed object is stored with its
// ETag and no occurrences (counted), so it is not fetched again until it
// changes. Occurrences without anyone but the account itself are personal
// appointments, never meetings: they are dropped (counted).
func (s *Source) object(href, etag, data string, opts parseOptions, log *zap.Logger, stats counters) store.CalDAVObject {
	obj := store.CalDAVObject{Href: href, ETag: etag}
	p, err := parseObject([]byte(data), opts, stats)
	if err != nil {
		stats.add("skipped_malformed", 1)
		log.Warn("skipping malformed calendar object", zap.String(logHref, href), zap.Error(err))
		return obj
	}
	obj.UID, obj.Next = p.uid, p.next
	for _, in := range p.occurrences {
		if !hasOthers(in, opts.accountEmail) {
			stats.add("skipped_no_attendees", 1)
			continue
		}
		obj.Occurrences = append(obj.Occurrences, in)
	}
	stats.add("occurrences", int64(len(obj.Occurrences)))
	return obj
}

func hasOthers(in cadence.Interaction, self string) bool {
	for _, p := range in.Participants {
		if p.Address != self {
			return true
		}
	}
	return false
}
