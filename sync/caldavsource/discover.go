package caldavsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
)

// calendarInfo is one calendar collection as listed in the home set.
type calendarInfo struct {
	path      string // decoded path
	url       string // absolute URL: the calendar's key in the store
	name      string // display name
	ctag      string // CalendarServer getctag, "" when unsupported or not read
	syncToken string // RFC 6578 DAV:sync-token, "" when unsupported or not read
	stateless bool   // answered neither: not asked again until listed again
}

var (
	errUnauthorized  = errors.New("authentication failed (401): check username and password")
	errBearerRefused = errors.New("the server refused the OAuth access token (401): check the scopes and that the calendar URL belongs to the signed-in account; the next pass refreshes the token")
)

// unauthorized is the error for a 401 answer, by auth mechanism.
func (s *Source) unauthorized() error {
	if s.acct.CalDAV.Auth == config.AuthOAuth2 {
		return errBearerRefused
	}
	return errUnauthorized
}

// homeSet finds the calendar home set from the configured URL (RFC 4791
// 6.2.1 via RFC 5397 current-user-principal), with go-webdav's client.
// When the server offers neither property, the configured URL itself is
// listed (it may be the home set or a calendar).
func (s *Source) homeSet(ctx context.Context, c *davClient) (string, error) {
	if s.home != "" {
		return s.home, nil
	}
	fallback := c.base.Path
	wc, err := webdav.NewClient(c, s.acct.CalDAV.URL)
	if err != nil {
		return "", fmt.Errorf("caldav url: %w", err)
	}
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil {
		if c.lastStatus == http.StatusUnauthorized {
			return "", s.unauthorized()
		}
		if ctx.Err() != nil || c.lastStatus == 0 {
			return "", fmt.Errorf("find current-user-principal: %w", err)
		}
		s.log.Debug("no current-user-principal, listing the configured url", zap.Error(err))
		return fallback, nil
	}
	cc, err := caldav.NewClient(c, s.acct.CalDAV.URL)
	if err != nil {
		return "", fmt.Errorf("caldav url: %w", err)
	}
	home, err := cc.FindCalendarHomeSet(ctx, principal)
	if err != nil {
		if c.lastStatus == http.StatusUnauthorized {
			return "", s.unauthorized()
		}
		if ctx.Err() != nil || c.lastStatus == 0 {
			return "", fmt.Errorf("find calendar-home-set of %s: %w", principal, err)
		}
		s.log.Debug("no calendar-home-set, listing the configured url", zap.Error(err))
		return fallback, nil
	}
	s.home = home
	return home, nil
}

// calendars lists the home set's calendars (PROPFIND Depth 1), skips
// collections whose supported-calendar-component-set lacks VEVENT
// (task lists) and keeps the configured ones (display name or last path
// segment, case-insensitive; all when none are configured). missing names
// the configured calendars not found.
func (s *Source) calendars(ctx context.Context, c *davClient, stats counters) (cals []calendarInfo, missing []string, err error) {
	home, err := s.homeSet(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	// Not getctag nor sync-token: Radicale computes both from every item
	// (0.3–0.4 s each for 5,000 events), and a calendar never synced needs
	// neither (see calendarStates).
	ms, err := c.multistatus(ctx, "PROPFIND", home, "1", propfindReq{Prop: propList{Names: append(
		names(nsDAV, "resourcetype", "displayname"),
		names(nsCal, "supported-calendar-component-set")...)}})
	if err != nil {
		s.home = "" // rediscover next time: the home set may have moved
		if statusCode(err) == http.StatusUnauthorized {
			return nil, nil, s.unauthorized()
		}
		return nil, nil, fmt.Errorf("list calendars: %w", err)
	}
	wanted := s.acct.CalDAV.Calendars
	found := map[string]bool{}
	for _, r := range ms.Responses {
		p, ok := r.props()
		if !ok || p.ResourceType == nil || p.ResourceType.Calendar == nil {
			continue
		}
		info := calendarInfo{path: r.href(), name: p.DisplayName, ctag: p.GetCTag, syncToken: p.SyncToken}
		if !strings.HasSuffix(info.path, "/") {
			info.path += "/"
		}
		info.url = c.resolve(info.path)
		if p.CompSet != nil && !slices.ContainsFunc(p.CompSet.Comps, func(cp compName) bool {
			return strings.EqualFold(cp.Name, ical.CompEvent)
		}) {
			stats.add("calendars_skipped_no_events", 1)
			continue
		}
		if len(wanted) > 0 {
			name := matchName(wanted, info)
			if name == "" {
				continue
			}
			found[name] = true
		}
		cals = append(cals, info)
	}
	for _, w := range wanted {
		if !found[w] {
			missing = append(missing, w)
		}
	}
	return cals, missing, nil
}

func matchName(wanted []string, info calendarInfo) string {
	seg := path.Base(strings.TrimSuffix(info.path, "/"))
	for _, w := range wanted {
		if strings.EqualFold(w, info.name) || strings.EqualFold(w, seg) {
			return w
		}
	}
	return ""
}

// errRelist: a cached calendar is gone or no longer a calendar.
var errRelist = errors.New("calendar list out of date")

// currentCalendars returns the calendars to sync, with the current getctag
// and sync token of those synced before (synced reports which). It lists
// the home set (one Depth-1 PROPFIND) on the first pass, every relistEvery
// and when a listed calendar has gone, and then reads the states (one
// Depth-0 PROPFIND per synced calendar, which is all a no-change pass
// costs). A listing with configured calendars missing is not cached.
func (s *Source) currentCalendars(ctx context.Context, c *davClient, now time.Time, synced func(url string) bool, stats counters) ([]calendarInfo, []string, error) {
	if s.cals != nil && now.Sub(s.listedAt) < s.relistEvery {
		cals, err := s.calendarStates(ctx, c, s.cals, synced)
		if err == nil {
			s.cals = cals
		}
		if err == nil || !errors.Is(err, errRelist) {
			return cals, nil, err
		}
		s.log.Info("listed calendar gone, listing the home set again", zap.Error(err))
	}
	s.cals, s.listedAt = nil, time.Time{}
	cals, missing, err := s.calendars(ctx, c, stats)
	if err != nil {
		return nil, nil, err
	}
	if cals, err = s.calendarStates(ctx, c, cals, synced); err != nil {
		return nil, nil, err
	}
	if len(missing) == 0 && len(cals) > 0 {
		s.cals, s.listedAt = cals, now
	}
	return cals, missing, nil
}

// calendarStates reads the getctag and sync token of every calendar synced
// before with a Depth-0 PROPFIND each. A calendar never synced is not
// asked: its first sync records no state, and the next pass, finding no
// stored token, compares ETags, which a state read before it covers (the
// read costs Radicale as much as the first sync's REPORT). Neither is a
// calendar that answered neither property before (stateless: nothing to
// compare, it is read through the ETag listing).
func (s *Source) calendarStates(ctx context.Context, c *davClient, cals []calendarInfo, synced func(url string) bool) ([]calendarInfo, error) {
	out := make([]calendarInfo, 0, len(cals))
	for _, cal := range cals {
		cal.ctag, cal.syncToken = "", ""
		if cal.stateless || !synced(cal.url) {
			out = append(out, cal)
			continue
		}
		ms, err := c.multistatus(ctx, "PROPFIND", cal.path, "0", propfindReq{Prop: propList{Names: append(
			names(nsDAV, "resourcetype", "sync-token"), names(nsCS, "getctag")...)}})
		switch code := statusCode(err); {
		case code == http.StatusUnauthorized:
			return nil, s.unauthorized()
		case code == http.StatusNotFound || code == http.StatusGone || code == http.StatusForbidden:
			return nil, fmt.Errorf("%w: %v", errRelist, err)
		case err != nil:
			return nil, fmt.Errorf("read state of %s: %w", cal.path, err)
		}
		if len(ms.Responses) == 0 {
			return nil, fmt.Errorf("%w: %s answered no state", errRelist, cal.path)
		}
		p, ok := ms.Responses[0].props()
		if !ok || p.ResourceType == nil || p.ResourceType.Calendar == nil {
			return nil, fmt.Errorf("%w: %s is no longer a calendar", errRelist, cal.path)
		}
		cal.ctag, cal.syncToken = p.GetCTag, p.SyncToken
		cal.stateless = cal.ctag == "" && cal.syncToken == ""
		out = append(out, cal)
	}
	return out, nil
}
