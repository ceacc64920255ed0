package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// upsertInteraction records that in was seen at (account, locator). The
// interaction is created on first sight; later sightings add the source and
// any new participants. With replace, an existing row's time, subject, filter
// and participants' names and PARTSTAT are updated too (a rescheduled meeting); mail is
// immutable and never replaced. It reports whether a new row was created.
func upsertInteraction(ctx context.Context, tx execer, in cadence.Interaction, locator string, replace bool, now time.Time) (id int64, created bool, err error) {
	if in.Key == "" {
		return 0, false, fmt.Errorf("interaction without key")
	}
	var people string
	err = tx.QueryRowContext(ctx, `SELECT id, people FROM interactions WHERE key = ?`, in.Key).Scan(&id, &people)
	switch {
	case err == sql.ErrNoRows:
		err := tx.QueryRowContext(ctx, `INSERT INTO interactions
			(key, kind, at, end_at, all_day, subject, sender, account, message_id, in_reply_to, refs, filter, first_seen, people)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			in.Key, string(in.Kind), ms(in.At), ms(in.End), boolInt(in.AllDay), in.Subject, in.Sender, in.Account,
			in.MessageID, in.InReplyTo, strings.Join(in.References, " "), string(in.Filter), ms(now),
			PackParticipants(in.Participants)).Scan(&id)
		if err != nil {
			return 0, false, fmt.Errorf("insert interaction %s: %w", in.Key, err)
		}
		created = true
	case err != nil:
		return 0, false, fmt.Errorf("find interaction %s: %w", in.Key, err)
	case replace:
		// Participants are merged, not replaced: one who left a meeting's
		// latest version stays (as a copy in another account may list him).
		people, _ = mergePacked(people, in.Participants, true)
		_, err := tx.ExecContext(ctx, `UPDATE interactions SET at = ?, end_at = ?, all_day = ?, subject = ?, sender = ?, filter = ?, people = ? WHERE id = ?`,
			ms(in.At), ms(in.End), boolInt(in.AllDay), in.Subject, in.Sender, string(in.Filter), people, id)
		if err != nil {
			return 0, false, fmt.Errorf("update interaction %s: %w", in.Key, err)
		}
	default:
		// Mail counts when any copy counts (see insertCopies); a copy may
		// name participants the first did not (a Bcc).
		merged, changed := mergePacked(people, in.Participants, false)
		if changed || in.Filter == cadence.Counts {
			if _, err := tx.ExecContext(ctx, `UPDATE interactions SET people = ?,
				filter = CASE WHEN ? THEN '' ELSE filter END WHERE id = ?`, merged, in.Filter == cadence.Counts, id); err != nil {
				return 0, false, fmt.Errorf("add copy of %s: %w", in.Key, err)
			}
		}
	}
	// A meeting's copy takes the filter of its latest version (replace); a
	// mail's copy is immutable.
	copyConflict := " ON CONFLICT (interaction_id, account, locator) DO NOTHING"
	if replace {
		copyConflict = " ON CONFLICT (interaction_id, account, locator) DO UPDATE SET filter = excluded.filter"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO interaction_sources (interaction_id, account, locator, filter) VALUES (?, ?, ?, ?)`+copyConflict,
		id, in.Account, locator, string(in.Filter)); err != nil {
		return 0, false, fmt.Errorf("insert source of %s: %w", in.Key, err)
	}
	return id, created, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Interactions returns every stored interaction with At >= since, with its
// participants, ordered by At. Filtered interactions are included (with
// their Filter set) so callers can count them.
func (s *Store) Interactions(ctx context.Context, since time.Time) ([]cadence.Interaction, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, key, kind, at, end_at, all_day, subject, sender, account,
		message_id, in_reply_to, refs, filter, people FROM interactions WHERE at >= ? ORDER BY at, id`, ms(since))
	if err != nil {
		return nil, fmt.Errorf("load interactions: %w", err)
	}
	defer rows.Close()
	var out []cadence.Interaction
	for rows.Next() {
		var (
			in                        cadence.Interaction
			id, at, end, all          int64
			kind, refs, filtr, people string
		)
		if err := rows.Scan(&id, &in.Key, &kind, &at, &end, &all, &in.Subject, &in.Sender, &in.Account,
			&in.MessageID, &in.InReplyTo, &refs, &filtr, &people); err != nil {
			return nil, fmt.Errorf("load interactions: %w", err)
		}
		in.Kind, in.At, in.End, in.AllDay, in.Filter = cadence.Kind(kind), fromMS(at), fromMS(end), all != 0, cadence.Filter(filtr)
		if refs != "" {
			in.References = strings.Fields(refs)
		}
		in.Participants = unpackPeople(nil, people, true)
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load interactions: %w", err)
	}
	return out, nil
}

// FilterCounts returns how many stored interactions each source-set filter
// excluded, by reason (for `touchbase status`).
func (s *Store) FilterCounts(ctx context.Context) (map[cadence.Filter]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT filter, COUNT(*) FROM interactions GROUP BY filter`)
	if err != nil {
		return nil, fmt.Errorf("count filtered interactions: %w", err)
	}
	defer rows.Close()
	out := map[cadence.Filter]int{}
	for rows.Next() {
		var f string
		var n int
		if err := rows.Scan(&f, &n); err != nil {
			return nil, err
		}
		out[cadence.Filter(f)] = n
	}
	return out, rows.Err()
}

// ErrChangesPruned is returned by ScanChanges when the change log no
// longer reaches back to the position asked for: load everything again.
var ErrChangesPruned = errors.New("interaction change log pruned past the position asked for")

// LoadInteractions calls fn with every stored interaction with At >= since
// that counts (no source-set Filter), and returns the change-log position
// they are current as of: ScanChanges from it reads what changed since.
//
// It reads only what evaluation needs: Key, Kind, At, End, Subject, Sender,
// InReplyTo, References and the participants' Address, Role and PartStat.
// fn gets the same *Interaction each time, overwritten: it copies what it
// keeps. The scan holds one connection of the read pool, and never the
// writer's: syncs commit while it runs.
func (s *Store) LoadInteractions(ctx context.Context, since time.Time, fn func(id int64, in *cadence.Interaction)) (int64, error) {
	// The position is read first: rows written meanwhile are read now and
	// again next time, which is harmless; none is missed.
	seq, err := s.changeSeq(ctx)
	if err != nil {
		return 0, err
	}
	// In ID order, SQLite reads the table and the sources' index
	// front to back rather than jumping from the at index into the table
	// for each row: much faster while the window holds most interactions.
	rows, err := s.rdb.QueryContext(ctx, `SELECT i.id, `+s.d.scanColumns()+` FROM interactions i
		WHERE i.at >= ? AND i.filter = '' ORDER BY i.id`, ms(since))
	if err != nil {
		return 0, fmt.Errorf("load interactions: %w", err)
	}
	if err := scanInteractions(rows, fn); err != nil {
		return 0, fmt.Errorf("load interactions: %w", err)
	}
	return seq, nil
}

// ScanChanges calls fn, in ID order, with every interaction inserted,
// changed or deleted after the change-log position after: its current
// state (Filter set when it no longer counts), or nil when it was deleted.
// It returns the position to pass next time; ErrChangesPruned when the log
// no longer reaches back to after. fn is called as by LoadInteractions.
func (s *Store) ScanChanges(ctx context.Context, after int64, fn func(id int64, in *cadence.Interaction)) (int64, error) {
	seq, err := s.changeSeq(ctx) // first, as in LoadInteractions
	switch {
	case err != nil:
		return 0, err
	case seq < after:
		// The log restarted (a restored backup): nothing read since is valid.
		return 0, fmt.Errorf("interaction change log is at %d, before %d: %w", seq, after, ErrChangesPruned)
	case seq == after:
		return seq, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `WITH changed (id) AS (SELECT DISTINCT interaction_id FROM interaction_changes WHERE seq > ?)
		SELECT c.id, `+s.d.scanColumns()+` FROM changed c LEFT JOIN interactions i ON i.id = c.id ORDER BY c.id`, after)
	if err != nil {
		return 0, fmt.Errorf("read interaction changes: %w", err)
	}
	if err := scanInteractions(rows, fn); err != nil {
		return 0, fmt.Errorf("read interaction changes: %w", err)
	}
	// Checked after the read: a prune (by another reader, maybe in another
	// process) that took rows the read needed has raised the oldest row.
	var oldest int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MIN(seq), 0) FROM interaction_changes`).Scan(&oldest); err != nil {
		return 0, fmt.Errorf("read interaction changes: %w", err)
	}
	if after < oldest-1 {
		return 0, fmt.Errorf("interaction changes after %d: %w", after, ErrChangesPruned)
	}
	return seq, nil
}

// PruneChanges deletes the change log up to position through, keeping
// its newest row (the next position is one past it). A reader still
// behind through gets ErrChangesPruned and loads everything again. It
// returns how many rows it deleted.
func (s *Store) PruneChanges(ctx context.Context, through int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM interaction_changes
		WHERE seq <= ? AND seq < (SELECT MAX(seq) FROM interaction_changes)`, through)
	if err != nil {
		return 0, fmt.Errorf("prune interaction changes: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Mark sums up what evaluation reads and other processes change: the
// interaction change log's position, how many sources ever completed a
// sync, and their failures so far. A daemon evaluating what other daemons
// synced compares marks between passes; a routine successful sync leaves
// the mark alone once its interactions are stored.
type Mark struct {
	Seq      int64
	Synced   int64
	Failures int64
}

// EvaluationMark returns the store's Mark now.
func (s *Store) EvaluationMark(ctx context.Context) (Mark, error) {
	var m Mark
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(MAX(seq), 0) FROM interaction_changes),
		(SELECT COUNT(*) FROM sources WHERE last_success_at > 0),
		(SELECT COALESCE(SUM(consecutive_failures), 0) FROM sources)`).Scan(&m.Seq, &m.Synced, &m.Failures)
	if err != nil {
		return Mark{}, fmt.Errorf("read the evaluation mark: %w", err)
	}
	return m, nil
}

// changeSeq returns the change log's latest position.
func (s *Store) changeSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM interaction_changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read interaction change position: %w", err)
	}
	return seq, nil
}

// scanColumns is what scanInteractions reads: the interaction ID and the
// rest packed into one text, empty when the row is gone (deleted). The
// driver locks, reads and converts each column separately, which costs
// more than SQLite's concatenation; a correlated subquery gathers the
// sources. The text is
//
//	at,end_at,meeting US filter US key US sender US in_reply_to US refs US participants US sources US subject
//
// with participants as stored (role GS partstat GS address GS name,
// separated by RS: see people.go), and
// sources as their health names ("imap:<account>", once per copy: a
// reader de-duplicates), separated by RS (US,
// GS, RS: \x1f, \x1d, \x1e). Keys, addresses and Message-IDs are printable
// (RFC 5322 msg-id, addr-spec); the subject, which may hold anything, is
// last.
func (d dialect) scanColumns() string {
	us := d.chr(31)
	return `COALESCE(i.at || ',' || i.end_at || ',' || (CASE WHEN i.kind = 'meeting' THEN 1 ELSE 0 END) || ` + us + ` ||
	i.filter || ` + us + ` || i.key || ` + us + ` || i.sender || ` + us + ` || i.in_reply_to || ` + us + ` || i.refs || ` + us + ` ||
	i.people || ` + us + ` ||
	COALESCE((SELECT ` + d.groupConcat(`substr(s.locator, 1, `+d.strpos("s.locator", "':'")+`) || s.account`, d.chr(30)) + `
		FROM interaction_sources s WHERE s.interaction_id = i.id), '') || ` + us + ` || i.subject, '')`
}

// scanInteractions reads rows of (id, scanColumns) into one reused
// Interaction and calls fn with each, or with nil for a deleted one.
func scanInteractions(rows *sql.Rows, fn func(id int64, in *cadence.Interaction)) error {
	defer rows.Close()
	var (
		in     cadence.Interaction
		id     int64
		packed string
	)
	for rows.Next() {
		if err := rows.Scan(&id, &packed); err != nil {
			return err
		}
		if packed == "" {
			fn(id, nil)
			continue
		}
		if err := unpack(packed, &in); err != nil {
			return fmt.Errorf("interaction %d: %w", id, err)
		}
		fn(id, &in)
	}
	return rows.Err()
}

// unpack decodes scanColumns' text into in, reusing its slices.
func unpack(packed string, in *cadence.Interaction) error {
	var f [9]string
	rest := packed
	for i := range len(f) - 1 {
		var ok bool
		if f[i], rest, ok = strings.Cut(rest, "\x1f"); !ok {
			return fmt.Errorf("malformed row %q", packed)
		}
	}
	f[8] = rest
	var nums [3]int64
	for i, v := range strings.SplitN(f[0], ",", 3) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("malformed row %q: %w", packed, err)
		}
		nums[i] = n
	}
	in.At, in.End, in.Kind = fromMS(nums[0]), fromMS(nums[1]), cadence.Email
	if nums[2] == 1 {
		in.Kind = cadence.Meeting
	}
	in.Filter, in.Key, in.Sender, in.InReplyTo, in.Subject = cadence.Filter(f[1]), f[2], f[3], f[4], f[8]
	in.References = appendFields(in.References[:0], f[5])
	in.Participants = appendParticipants(in.Participants[:0], f[6])
	in.Sources = in.Sources[:0]
	for src := range strings.SplitSeq(f[7], "\x1e") {
		if src != "" {
			in.Sources = append(in.Sources, src)
		}
	}
	return nil
}

// appendFields appends the space-separated fields of s to dst.
func appendFields(dst []string, s string) []string {
	for f := range strings.FieldsSeq(s) {
		dst = append(dst, f)
	}
	return dst
}

// appendParticipants appends the participants encoded by scanColumns,
// without names (evaluation reads none).
func appendParticipants(dst []cadence.Participant, s string) []cadence.Participant {
	return unpackPeople(dst, s, false)
}
