package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// CalDAVCalendar is the sync state of one calendar collection of an
// account: the RFC 6578 sync token and the getctag last applied, and when
// every object was last read and expanded into occurrences (SyncedAt: the
// first sync, or an ETag listing with nothing stored; zero: never).
type CalDAVCalendar struct {
	URL       string
	SyncToken string
	CTag      string
	SyncedAt  time.Time
}

// CalDAVObject is one calendar object resource as fetched: its href (the
// decoded path), ETag, UID, every occurrence it produces inside the sync
// window, and Next: the start of its first instance at or after the
// window's end, which the moving window will take in (zero: none).
// Occurrences have Account set to the account that fetched them.
type CalDAVObject struct {
	Href        string
	ETag        string
	UID         string
	Occurrences []cadence.Interaction
	Next        time.Time
}

// CalDAVChanges is one atomic step of a calendar's sync.
type CalDAVChanges struct {
	Account  string
	Calendar string         // calendar collection URL
	Put      []CalDAVObject // new or changed objects
	Delete   []string       // hrefs gone from the server
	// State, when non-nil, is written last: the sync token and ctag that
	// cover everything applied so far. Nil leaves the stored state alone.
	State *CalDAVCalendar
}

// CalDAVResult counts what ApplyCalDAV changed.
type CalDAVResult struct {
	Created int // interactions that did not exist before
	Updated int // existing interactions upserted again
	Removed int // future interactions deleted because no source is left
}

// CalDAVLocator is the interaction_sources locator of an object:
// "caldav:" + calendar URL + the object's name inside the calendar (its
// full href when it is not below the calendar's path).
func CalDAVLocator(calendarURL, href string) string {
	cal := strings.TrimSuffix(calendarURL, "/") + "/"
	if i := strings.Index(cal, "://"); i >= 0 {
		if j := strings.IndexByte(cal[i+3:], '/'); j >= 0 {
			if name, ok := strings.CutPrefix(href, cal[i+3+j:]); ok && name != "" {
				return "caldav:" + cal + name
			}
		}
	}
	return "caldav:" + cal + href
}

// CalDAVCalendars returns the stored state of every calendar of account.
func (s *Store) CalDAVCalendars(ctx context.Context, account string) ([]CalDAVCalendar, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT url, sync_token, ctag, synced_at FROM caldav_calendars
		WHERE account = ? ORDER BY url`, account)
	if err != nil {
		return nil, fmt.Errorf("load calendars of %s: %w", account, err)
	}
	defer rows.Close()
	var out []CalDAVCalendar
	for rows.Next() {
		var c CalDAVCalendar
		var at int64
		if err := rows.Scan(&c.URL, &c.SyncToken, &c.CTag, &at); err != nil {
			return nil, fmt.Errorf("load calendars of %s: %w", account, err)
		}
		c.SyncedAt = fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// CalDAVETags returns href → ETag of every object stored for a calendar.
func (s *Store) CalDAVETags(ctx context.Context, account, calendar string) (map[string]string, error) {
	out, err := hrefETags(ctx, s.rdb, `SELECT href, etag FROM caldav_objects WHERE account = ? AND calendar = ?`, account, calendar)
	if err != nil {
		return nil, fmt.Errorf("load etags of %s: %w", calendar, err)
	}
	return out, nil
}

// hrefETags runs query, which selects (href, etag) rows, into a map.
func hrefETags(ctx context.Context, q execer, query string, args ...any) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var href, etag string
		if err := rows.Scan(&href, &etag); err != nil {
			return nil, err
		}
		out[href] = etag
	}
	return out, rows.Err()
}

// CalDAVDue returns href → stored ETag of the calendar's objects due at a
// window ending at end: those whose next instance (CalDAVObject.Next) starts
// before end, so that expanding them again adds occurrences. Objects
// without a next instance are never due.
func (s *Store) CalDAVDue(ctx context.Context, account, calendar string, end time.Time) (map[string]string, error) {
	out, err := hrefETags(ctx, s.rdb, `SELECT href, etag FROM caldav_objects
		WHERE account = ? AND calendar = ? AND next_start > 0 AND next_start < ?`, account, calendar, ms(end))
	if err != nil {
		return nil, fmt.Errorf("load objects of %s due: %w", calendar, err)
	}
	return out, nil
}

// ApplyCalDAV applies ch in one transaction: it upserts every occurrence of
// the Put objects (replacing time, subject, filter and PARTSTATs, merging
// participants with other accounts' copies of the same meeting), unlinks
// the FUTURE occurrences (At > now) that a Put object no longer produces or
// that a deleted object produced, deletes such an interaction when no
// source is left, records the objects' ETags and next instances, and
// finally writes ch.State.
// Past occurrences are never unlinked: meetings that happened stay.
// Applying the same changes twice leaves the store as applying them once.
func (s *Store) ApplyCalDAV(ctx context.Context, ch CalDAVChanges, now time.Time) (CalDAVResult, error) {
	var res CalDAVResult
	err := s.interactionTx(ctx, func(sqlTx *sql.Tx) error {
		res = CalDAVResult{}
		tx := newPreparedTx(sqlTx)
		defer tx.close()
		bulk, err := putCalDAVObjects(ctx, tx, ch.Account, ch.Calendar, ch.Put, now, &res)
		if err != nil {
			return err
		}
		for i := 0; !bulk && i < len(ch.Put); i++ { // a key twice in the batch: one by one
			if err := putCalDAVObject(ctx, tx, ch.Account, ch.Calendar, ch.Put[i], now, &res); err != nil {
				return err
			}
		}
		for _, href := range ch.Delete {
			n, err := unlinkFuture(ctx, tx, ch.Account, CalDAVLocator(ch.Calendar, href), nil, now)
			if err != nil {
				return err
			}
			res.Removed += n
			if _, err := tx.ExecContext(ctx, `DELETE FROM caldav_objects WHERE account = ? AND calendar = ? AND href = ?`,
				ch.Account, ch.Calendar, href); err != nil {
				return fmt.Errorf("delete object %s: %w", href, err)
			}
		}
		if ch.State != nil {
			return putCalDAVState(ctx, tx, ch.Account, ch.Calendar, *ch.State)
		}
		return nil
	})
	if err != nil {
		return CalDAVResult{}, fmt.Errorf("apply changes of %s: %w", ch.Calendar, err)
	}
	return res, nil
}

func putCalDAVObject(ctx context.Context, tx execer, account, calendar string, obj CalDAVObject, now time.Time, res *CalDAVResult) error {
	locator := CalDAVLocator(calendar, obj.Href)
	keep := make(map[string]bool, len(obj.Occurrences))
	for _, in := range obj.Occurrences {
		in.Account = account
		_, created, err := upsertInteraction(ctx, tx, in, locator, true, now)
		if err != nil {
			return err
		}
		if created {
			res.Created++
		} else {
			res.Updated++
		}
		keep[in.Key] = true
	}
	n, err := unlinkFuture(ctx, tx, account, locator, keep, now)
	if err != nil {
		return err
	}
	res.Removed += n
	_, err = tx.ExecContext(ctx, `INSERT INTO caldav_objects (account, calendar, href, etag, uid, next_start) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, calendar, href) DO UPDATE SET etag = excluded.etag, uid = excluded.uid, next_start = excluded.next_start`,
		account, calendar, obj.Href, obj.ETag, obj.UID, ms(obj.Next))
	if err != nil {
		return fmt.Errorf("record etag of %s: %w", obj.Href, err)
	}
	return nil
}

// unlinkFuture removes the (account, locator) source of every future
// interaction whose key is not in keep, and deletes those left without any
// source. It returns how many interactions it deleted.
func unlinkFuture(ctx context.Context, tx execer, account, locator string, keep map[string]bool, now time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT i.id, i.key FROM interaction_sources s JOIN interactions i ON i.id = s.interaction_id
		WHERE s.account = ? AND s.locator = ? AND i.at > ?`, account, locator, ms(now))
	if err != nil {
		return 0, fmt.Errorf("find occurrences of %s: %w", locator, err)
	}
	var drop []int64
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find occurrences of %s: %w", locator, err)
		}
		if !keep[key] {
			drop = append(drop, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find occurrences of %s: %w", locator, err)
	}
	removed := 0
	for _, id := range drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM interaction_sources WHERE interaction_id = ? AND account = ? AND locator = ?`,
			id, account, locator); err != nil {
			return 0, fmt.Errorf("unlink occurrence of %s: %w", locator, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM interactions WHERE id = ?
			AND NOT EXISTS (SELECT 1 FROM interaction_sources WHERE interaction_id = ?)`, id, id)
		if err != nil {
			return 0, fmt.Errorf("delete occurrence of %s: %w", locator, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			removed++
		}
	}
	return removed, nil
}

func putCalDAVState(ctx context.Context, tx execer, account, calendar string, st CalDAVCalendar) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO caldav_calendars (account, url, sync_token, ctag, synced_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account, url) DO UPDATE SET sync_token = excluded.sync_token, ctag = excluded.ctag, synced_at = excluded.synced_at`,
		account, calendar, st.SyncToken, st.CTag, ms(st.SyncedAt))
	if err != nil {
		return fmt.Errorf("record state of %s: %w", calendar, err)
	}
	return nil
}

// ForgetCalDAVCalendar drops a calendar that is gone from the server or no
// longer configured: its future occurrences are unlinked (and deleted when
// no other source has them), its objects and state removed. Past meetings
// stay. It returns how many interactions were deleted.
func (s *Store) ForgetCalDAVCalendar(ctx context.Context, account, calendar string, now time.Time) (int, error) {
	removed := 0
	err := s.interactionTx(ctx, func(tx *sql.Tx) error {
		removed = 0
		rows, err := tx.QueryContext(ctx, `SELECT href FROM caldav_objects WHERE account = ? AND calendar = ?`, account, calendar)
		if err != nil {
			return err
		}
		var hrefs []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			hrefs = append(hrefs, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, h := range hrefs {
			n, err := unlinkFuture(ctx, tx, account, CalDAVLocator(calendar, h), nil, now)
			if err != nil {
				return err
			}
			removed += n
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM caldav_objects WHERE account = ? AND calendar = ?`, account, calendar); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM caldav_calendars WHERE account = ? AND url = ?`, account, calendar)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("forget calendar %s: %w", calendar, err)
	}
	return removed, nil
}
