package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// Rows per multi-row statement of the CalDAV batch writer (SQLite allows
// 32766 parameters; beyond a few hundred rows the gain is nil).
const (
	meetingRowsPerStmt = 100 // interactions: 14 columns
)

// meetingRow is one occurrence to write, with the copy it comes from.
type meetingRow struct {
	in      cadence.Interaction
	locator string
	id      int64
	people  string // the stored row's packed participants (schema v5)
	created bool
}

// putCalDAVObjects is putCalDAVObject for a whole batch with multi-row
// statements: a first sync writes tens of thousands of occurrences, and
// per-row statements cost most of its time (bench/caldav profile). The
// result is the same as putting the objects one by one, provided no key
// occurs twice in the batch (ok is false then, and nothing was written:
// the caller puts the objects one by one).
func putCalDAVObjects(ctx context.Context, tx execer, account, calendar string, objs []CalDAVObject, now time.Time, res *CalDAVResult) (ok bool, err error) {
	var rows []*meetingRow
	seen := map[string]bool{}
	for _, obj := range objs {
		locator := CalDAVLocator(calendar, obj.Href)
		for _, in := range obj.Occurrences {
			if in.Key == "" {
				return false, fmt.Errorf("interaction without key")
			}
			if seen[in.Key] {
				return false, nil
			}
			seen[in.Key] = true
			in.Account = account
			rows = append(rows, &meetingRow{in: in, locator: locator})
		}
	}
	// In key order, B-tree inserts touch each index page once per batch.
	slices.SortFunc(rows, func(a, b *meetingRow) int { return strings.Compare(a.in.Key, b.in.Key) })
	if err := findMeetings(ctx, tx, rows); err != nil {
		return false, err
	}
	if err := writeMeetings(ctx, tx, rows, now, res); err != nil {
		return false, err
	}
	if err := writeMeetingSources(ctx, tx, rows); err != nil {
		return false, err
	}
	return true, finishCalDAVObjects(ctx, tx, account, calendar, objs, now, res)
}

// findMeetings sets the IDs of the rows whose key is stored.
func findMeetings(ctx context.Context, tx execer, rows []*meetingRow) error {
	for start := 0; start < len(rows); start += rowsPerStmt {
		chunk := rows[start:min(start+rowsPerStmt, len(rows))]
		keys := make([]any, len(chunk))
		byKey := make(map[string]*meetingRow, len(chunk))
		for i, r := range chunk {
			keys[i], byKey[r.in.Key] = r.in.Key, r
		}
		q, err := tx.QueryContext(ctx, `SELECT id, key, people FROM interactions WHERE key IN (`+placeholders(len(keys))+`)`, keys...)
		if err != nil {
			return fmt.Errorf("find meetings: %w", err)
		}
		ids, people := map[string]int64{}, map[int64]string{}
		if err := scanStored(q, ids, people); err != nil {
			return fmt.Errorf("find meetings: %w", err)
		}
		for key, id := range ids {
			byKey[key].id, byKey[key].people = id, people[id]
		}
	}
	return nil
}

// writeMeetings inserts the new rows (setting their IDs) and updates the
// stored ones as upsertInteraction with replace does.
func writeMeetings(ctx context.Context, tx execer, rows []*meetingRow, now time.Time, res *CalDAVResult) error {
	var fresh []*meetingRow
	for _, r := range rows {
		if r.id == 0 {
			fresh = append(fresh, r)
			continue
		}
		in := r.in
		// As upsertInteraction with replace: participants merged, names
		// and PARTSTATs of the latest version.
		people, _ := mergePacked(r.people, in.Participants, true)
		if _, err := tx.ExecContext(ctx, `UPDATE interactions SET at = ?, end_at = ?, all_day = ?, subject = ?, sender = ?, filter = ?, people = ? WHERE id = ?`,
			ms(in.At), ms(in.End), boolInt(in.AllDay), in.Subject, in.Sender, string(in.Filter), people, r.id); err != nil {
			return fmt.Errorf("update interaction %s: %w", in.Key, err)
		}
		res.Updated++
	}
	for start := 0; start < len(fresh); start += meetingRowsPerStmt {
		chunk := fresh[start:min(start+meetingRowsPerStmt, len(fresh))]
		args := make([]any, 0, 14*len(chunk))
		byKey := make(map[string]*meetingRow, len(chunk))
		for _, r := range chunk {
			in := r.in
			args = append(args, in.Key, string(in.Kind), ms(in.At), ms(in.End), boolInt(in.AllDay), in.Subject, in.Sender, in.Account,
				in.MessageID, in.InReplyTo, strings.Join(in.References, " "), string(in.Filter), ms(now), PackParticipants(in.Participants))
			byKey[in.Key] = r
		}
		q, err := tx.QueryContext(ctx, `INSERT INTO interactions
			(key, kind, at, end_at, all_day, subject, sender, account, message_id, in_reply_to, refs, filter, first_seen, people)
			VALUES `+rowsOf(14, len(chunk))+` RETURNING id, key`, args...)
		if err != nil {
			return fmt.Errorf("insert meetings: %w", err)
		}
		ids := map[string]int64{}
		if err := scanIDs(q, ids); err != nil {
			return fmt.Errorf("insert meetings: %w", err)
		}
		for key, id := range ids {
			byKey[key].id, byKey[key].created = id, true
			res.Created++
		}
	}
	return nil
}

// writeMeetingSources records each row's copy with its filter.
func writeMeetingSources(ctx context.Context, tx execer, rows []*meetingRow) error {
	values := make([]any, 0, 4*len(rows))
	for _, r := range rows {
		values = append(values, r.id, r.in.Account, r.locator, string(r.in.Filter))
	}
	return insertMany(ctx, tx, `INSERT INTO interaction_sources (interaction_id, account, locator, filter) VALUES `, 4, values,
		` ON CONFLICT (interaction_id, account, locator) DO UPDATE SET filter = excluded.filter`)
}

// finishCalDAVObjects unlinks the future occurrences each object no longer
// produces and records the objects' ETags and next instances (the last one
// of an href that comes twice: Postgres refuses to upsert one row twice in
// a statement).
// An object not stored before and once in objs has no occurrence but those
// just written: it is not looked at (a first sync's objects, all of them).
func finishCalDAVObjects(ctx context.Context, tx execer, account, calendar string, objs []CalDAVObject, now time.Time, res *CalDAVResult) error {
	values := make([]any, 0, 6*len(objs))
	last := make(map[string]int, len(objs))
	twice := map[string]bool{}
	for i, obj := range objs {
		if _, ok := last[obj.Href]; ok {
			twice[obj.Href] = true
		}
		last[obj.Href] = i
	}
	stored, err := storedObjects(ctx, tx, account, calendar, objs)
	if err != nil {
		return err
	}
	for i, obj := range objs {
		if _, ok := stored[obj.Href]; ok || twice[obj.Href] {
			keep := make(map[string]bool, len(obj.Occurrences))
			for _, in := range obj.Occurrences {
				keep[in.Key] = true
			}
			n, err := unlinkFuture(ctx, tx, account, CalDAVLocator(calendar, obj.Href), keep, now)
			if err != nil {
				return err
			}
			res.Removed += n
		}
		if last[obj.Href] == i {
			values = append(values, account, calendar, obj.Href, obj.ETag, obj.UID, ms(obj.Next))
		}
	}
	if err := insertMany(ctx, tx, `INSERT INTO caldav_objects (account, calendar, href, etag, uid, next_start) VALUES `, 6, values,
		` ON CONFLICT (account, calendar, href) DO UPDATE SET etag = excluded.etag, uid = excluded.uid, next_start = excluded.next_start`); err != nil {
		return fmt.Errorf("record etags: %w", err)
	}
	return nil
}

// storedObjects returns the hrefs (→ ETag) of objs the calendar has stored.
func storedObjects(ctx context.Context, tx execer, account, calendar string, objs []CalDAVObject) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(objs); start += rowsPerStmt {
		chunk := objs[start:min(start+rowsPerStmt, len(objs))]
		args := []any{account, calendar}
		for _, obj := range chunk {
			args = append(args, obj.Href)
		}
		found, err := hrefETags(ctx, tx, `SELECT href, etag FROM caldav_objects WHERE account = ? AND calendar = ? AND href IN (`+
			placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find stored objects: %w", err)
		}
		maps.Copy(out, found)
	}
	return out, nil
}

// insertMany runs prefix + rows + suffix over values, width values a row,
// at most rowsPerStmt rows a statement.
func insertMany(ctx context.Context, tx execer, prefix string, width int, values []any, suffix string) error {
	for start := 0; start < len(values); start += width * rowsPerStmt {
		chunk := values[start:min(start+width*rowsPerStmt, len(values))]
		if _, err := tx.ExecContext(ctx, prefix+rowsOf(width, len(chunk)/width)+suffix, chunk...); err != nil {
			return err
		}
	}
	return nil
}

// rowsOf returns n rows of width placeholders: "(?, ?), (?, ?)".
func rowsOf(width, n int) string { return repeatRow("("+placeholders(width)+")", n) }
