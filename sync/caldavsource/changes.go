package caldavsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// errTokenRefused marks a sync-collection the server refused (RFC 6578
// 3.2 valid-sync-token, or no support at all): the caller falls back to
// comparing ETags.
var errTokenRefused = errors.New("sync token refused")

// maxSyncRounds bounds how many truncated (507) sync-collection answers a
// pass follows.
const maxSyncRounds = 50

// syncDelta asks for the changes since token with RFC 6578 sync-collection
// (ETags only, no bodies). changed maps href → ETag ("" when the server
// sent none); deleted are hrefs that answered 404.
func syncDelta(ctx context.Context, c *davClient, cal calendarInfo, token string) (changed map[string]string, deleted []string, newToken string, err error) {
	changed = map[string]string{}
	for round := 0; ; round++ {
		ms, err := c.multistatus(ctx, "REPORT", cal.path, "0", syncCollectionReq{
			SyncToken: token, SyncLevel: "1", Prop: propList{Names: names(nsDAV, "getetag")}})
		if err != nil {
			if code := statusCode(err); code != 0 && code != http.StatusUnauthorized {
				return nil, nil, "", fmt.Errorf("%w: %v", errTokenRefused, err)
			}
			return nil, nil, "", fmt.Errorf("sync-collection: %w", err)
		}
		truncated := false
		for _, r := range ms.Responses {
			href := r.href()
			if href == "" {
				continue
			}
			if sameCollection(href, cal.path) {
				truncated = truncated || code(r.Status) == http.StatusInsufficientStorage
				continue
			}
			if code(r.Status) == http.StatusNotFound {
				deleted = append(deleted, href)
				delete(changed, href)
				continue
			}
			p, _ := r.props()
			changed[href] = p.GetETag
		}
		if ms.SyncToken == "" {
			return nil, nil, "", fmt.Errorf("%w: answer without sync-token", errTokenRefused)
		}
		token = ms.SyncToken
		if !truncated || round+1 >= maxSyncRounds {
			return changed, deleted, token, nil
		}
	}
}

func sameCollection(a, b string) bool {
	trim := func(s string) string {
		for len(s) > 1 && s[len(s)-1] == '/' {
			s = s[:len(s)-1]
		}
		return s
	}
	return trim(a) == trim(b)
}

// listETags lists href → ETag of every object in the calendar, without
// bodies: a calendar-query for any VCALENDAR with only getetag (Radicale
// answers it ~15× faster than PROPFIND), or PROPFIND Depth 1 when the
// server refuses the REPORT.
func listETags(ctx context.Context, c *davClient, cal calendarInfo) (map[string]string, error) {
	ms, err := c.multistatus(ctx, "REPORT", cal.path, "1", calendarQueryReq{
		Prop: propList{Names: names(nsDAV, "getetag")}, Filter: calFilter{Comp: compFilter{Name: "VCALENDAR"}}})
	if code := statusCode(err); code != 0 && code != http.StatusUnauthorized {
		ms, err = c.multistatus(ctx, "PROPFIND", cal.path, "1", propfindReq{Prop: propList{Names: names(nsDAV, "getetag", "resourcetype")}})
	}
	if err != nil {
		return nil, fmt.Errorf("list etags: %w", err)
	}
	out := map[string]string{}
	for _, r := range ms.Responses {
		href := r.href()
		if href == "" || sameCollection(href, cal.path) || code(r.Status)/100 != 2 {
			continue
		}
		p, ok := r.props()
		if !ok || p.ResourceType != nil && p.ResourceType.Calendar != nil {
			continue
		}
		out[href] = p.GetETag
	}
	return out, nil
}

// fetcher fetches calendar objects with calendar-multiget (RFC 4791 7.9)
// in batches. A batch the server fails on (one unreadable object fails the
// whole multistatus on some servers) is split in halves down to single
// objects; an object that fails alone is skipped and reported in failed.
type fetcher struct {
	c       *davClient
	cal     calendarInfo
	batch   int
	log     *zap.Logger
	failed  []string
	gone    []string                            // hrefs that answered 404: deleted meanwhile
	receive func(href, etag, data string) error // called for every object fetched
}

func (f *fetcher) fetch(ctx context.Context, hrefs []string) error {
	for len(hrefs) > 0 {
		n := min(f.batch, len(hrefs))
		if err := f.multiget(ctx, hrefs[:n]); err != nil {
			return err
		}
		hrefs = hrefs[n:]
	}
	return nil
}

func (f *fetcher) multiget(ctx context.Context, hrefs []string) error {
	req := multigetReq{Prop: propList{Names: append(names(nsDAV, "getetag"), names(nsCal, "calendar-data")...)}}
	for _, h := range hrefs {
		req.Hrefs = append(req.Hrefs, escapedPath(h))
	}
	ms, err := f.c.multistatus(ctx, "REPORT", f.cal.path, "1", req)
	if err != nil {
		var ue *url.Error
		if ctx.Err() != nil || errors.As(err, &ue) || statusCode(err) == http.StatusUnauthorized {
			return fmt.Errorf("calendar-multiget: %w", err)
		}
		if len(hrefs) == 1 {
			f.log.Warn("skipping calendar object the server fails to return", zap.String(logHref, hrefs[0]), zap.Error(err))
			f.failed = append(f.failed, hrefs[0])
			return nil
		}
		mid := len(hrefs) / 2
		if err := f.multiget(ctx, hrefs[:mid]); err != nil {
			return err
		}
		return f.multiget(ctx, hrefs[mid:])
	}
	want := make(map[string]bool, len(hrefs))
	for _, h := range hrefs {
		want[h] = true
	}
	for _, r := range ms.Responses {
		href := r.href()
		if !want[href] {
			continue
		}
		delete(want, href)
		p, ok := r.props()
		switch {
		case code(r.Status) == http.StatusNotFound || !ok && notFound(r):
			f.gone = append(f.gone, href)
		case !ok:
			f.failed = append(f.failed, href)
		default:
			if err := f.receive(href, p.GetETag, p.CalendarData); err != nil {
				return err
			}
		}
	}
	for h := range want { // not answered at all
		f.failed = append(f.failed, h)
	}
	return nil
}

func notFound(r response) bool {
	for _, ps := range r.Propstats {
		if code(ps.Status) == http.StatusNotFound {
			return true
		}
	}
	return false
}
