package caldavsource

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/store"
)

// firstQuery is the calendar-query (RFC 4791 7.8) of a first sync: every
// VEVENT object that starts before the window's end, with its ETag and
// data. The range is open at the start on purpose: Xandikos does not
// expand RRULEs in time-range filters, so a series that began before the
// backfill would be missing; occurrences outside the window are dropped
// when the objects are expanded, and Radicale answers the open range as
// fast as the closed one.
func firstQuery(end time.Time) calendarQueryReq {
	return calendarQueryReq{
		Prop: propList{Names: append(names(nsDAV, "getetag"), names(nsCal, "calendar-data")...)},
		Filter: calFilter{Comp: compFilter{Name: "VCALENDAR", Comps: []compFilter{{
			Name: "VEVENT", TimeRange: &timeRange{End: end.UTC().Format("20060102T150405Z")}}}}},
	}
}

// firstSync reads a calendar never synced before with one calendar-query
// REPORT, stream-decoded: objects are parsed as they arrive and stored
// applyEvery at a time, each batch in one transaction, by a second
// goroutine so the store writes overlap reading and parsing the answer. The last
// batch records the calendar as expanded now, with no sync token or ctag:
// those were not read (see calendarStates), so the next pass compares
// ETags, which also catches a change made during the REPORT. Objects the
// answer lacks or fails on are fetched again with calendar-multiget (which
// bisects); if some still fail, the state is not recorded and the next
// pass compares ETags, fetching only what is missing.
//
// A *statusError means the server refused the REPORT before anything was
// stored: the caller falls back to the ETag listing.
func (s *Source) firstSync(ctx context.Context, c *davClient, cal calendarInfo, now time.Time, log *zap.Logger, stats counters) error {
	opts := s.parseOptions(now)
	w := s.startWriter(ctx, cal, now)
	pending := make([]store.CalDAVObject, 0, s.applyEvery)
	receive := func(href, etag, data string) error {
		stats.add("fetched", 1)
		pending = append(pending, s.object(href, etag, data, opts, log, stats))
		if len(pending) < s.applyEvery {
			return nil
		}
		if err := w.send(pending); err != nil {
			return err
		}
		pending = make([]store.CalDAVObject, 0, s.applyEvery)
		return nil
	}
	var retry []string
	_, err := c.stream(w.ctx, "REPORT", cal.path, "1", firstQuery(s.window(now).end), func(r response) error {
		href := r.href()
		if href == "" || sameCollection(href, cal.path) {
			return nil
		}
		p, ok := r.props()
		switch {
		case code(r.Status) == 404 || !ok && notFound(r):
			return nil // deleted while the server was answering
		case code(r.Status)/100 != 2 || !ok || p.CalendarData == "":
			retry = append(retry, href)
			return nil
		}
		return receive(href, p.GetETag, p.CalendarData)
	})
	if err != nil {
		return w.stop(fmt.Errorf("calendar-query: %w", err))
	}
	f := &fetcher{c: c, cal: cal, batch: s.batch, log: log, receive: receive}
	if err := f.fetch(w.ctx, retry); err != nil {
		return w.stop(err)
	}
	if err := w.stop(nil); err != nil {
		return err
	}
	stats.add("skipped_fetch_error", int64(len(f.failed)))
	ch := store.CalDAVChanges{Account: s.acct.Name, Calendar: cal.url, Put: pending}
	if len(f.failed) == 0 {
		ch.State = &store.CalDAVCalendar{URL: cal.url, SyncToken: cal.syncToken, CTag: cal.ctag, SyncedAt: now}
	}
	res, err := s.st.ApplyCalDAV(ctx, ch, now)
	if err != nil {
		return err
	}
	w.res.Created += res.Created
	w.res.Updated += res.Updated
	w.res.Removed += res.Removed
	stats.add("stored", int64(w.res.Created))
	stats.add("updated", int64(w.res.Updated))
	stats.add("removed", int64(w.res.Removed))
	if len(f.failed) > 0 {
		return fmt.Errorf("%d calendar objects could not be fetched; will retry", len(f.failed))
	}
	return nil
}

// batchWriter applies batches of objects to the store on its own
// goroutine, one transaction each, so parsing and writing overlap. At most
// one batch waits while another is written: memory stays bounded.
type batchWriter struct {
	ctx     context.Context // cancelled when the writer fails or stops
	cancel  context.CancelFunc
	batches chan []store.CalDAVObject
	done    chan error
	res     store.CalDAVResult // totals, read after stop
}

func (s *Source) startWriter(ctx context.Context, cal calendarInfo, now time.Time) *batchWriter {
	w := &batchWriter{batches: make(chan []store.CalDAVObject, 1), done: make(chan error, 1)}
	w.ctx, w.cancel = context.WithCancel(ctx)
	go func() {
		for batch := range w.batches {
			res, err := s.st.ApplyCalDAV(w.ctx, store.CalDAVChanges{Account: s.acct.Name, Calendar: cal.url, Put: batch}, now)
			if err != nil {
				w.cancel() // stops the REPORT being read
				for range w.batches {
				}
				w.done <- err
				return
			}
			w.res.Created += res.Created
			w.res.Updated += res.Updated
			w.res.Removed += res.Removed
		}
		w.done <- nil
	}()
	return w
}

// send hands a batch to the writer; it fails once the writer has failed.
func (w *batchWriter) send(batch []store.CalDAVObject) error {
	select {
	case w.batches <- batch:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

// stop waits for the writer to finish the batches sent. A write error
// comes first: it is the cause of any cancellation err reports.
func (w *batchWriter) stop(err error) error {
	close(w.batches)
	werr := <-w.done
	w.cancel()
	if werr != nil {
		return werr
	}
	return err
}
