package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// FolderState is how far an IMAP folder has been read (RFC 3501
// UIDVALIDITY and UIDNEXT, RFC 7162 HIGHESTMODSEQ): every message with a
// UID below UIDNext under this UIDValidity is stored (or deliberately
// skipped). HighestModSeq is 0 for servers without CONDSTORE.
type FolderState struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	SyncedAt      time.Time // when the state was last written
}

// FolderState returns the stored state of account's folder; ok is false
// when the folder was never synced.
func (s *Store) FolderState(ctx context.Context, account, folder string) (st FolderState, ok bool, err error) {
	var validity, next, modseq, synced int64
	err = s.rdb.QueryRowContext(ctx, `SELECT uid_validity, uid_next, highest_modseq, synced_at
		FROM imap_folders WHERE account = ? AND folder = ?`, account, folder).Scan(&validity, &next, &modseq, &synced)
	if err == sql.ErrNoRows {
		return FolderState{}, false, nil
	}
	if err != nil {
		return FolderState{}, false, fmt.Errorf("read state of %s/%s: %w", account, folder, err)
	}
	return FolderState{UIDValidity: uint32(validity), UIDNext: uint32(next), HighestModSeq: uint64(modseq), SyncedAt: fromMS(synced)}, true, nil
}

// FolderStates returns the stored state of every synced folder of account,
// by folder name, in one query (a no-change pass compares them all).
func (s *Store) FolderStates(ctx context.Context, account string) (map[string]FolderState, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT folder, uid_validity, uid_next, highest_modseq, synced_at
		FROM imap_folders WHERE account = ?`, account)
	if err != nil {
		return nil, fmt.Errorf("read folder states of %s: %w", account, err)
	}
	defer rows.Close()
	out := map[string]FolderState{}
	for rows.Next() {
		var (
			folder                       string
			validity, next, modseq, sync int64
		)
		if err := rows.Scan(&folder, &validity, &next, &modseq, &sync); err != nil {
			return nil, fmt.Errorf("read folder states of %s: %w", account, err)
		}
		out[folder] = FolderState{UIDValidity: uint32(validity), UIDNext: uint32(next), HighestModSeq: uint64(modseq), SyncedAt: fromMS(sync)}
	}
	return out, rows.Err()
}

// SaveResult is what SaveMail changed.
type SaveResult struct {
	Created  int                    // interactions new to the store
	Filtered map[cadence.Filter]int // of those, how many by source-set filter
}

// SaveMail records mails seen in account's folder (locator "imap:<folder>")
// and the folder's new state in one transaction, so a crash loses or
// duplicates nothing: either the mails and the state that covers them are
// stored, or neither. Mail already stored under the same key (the same
// message in another folder or account, or re-read after a UIDVALIDITY
// change) gains a source and any new participants but is not duplicated;
// mail is immutable, so nothing else of it changes. Nothing is ever
// deleted. mails may be empty, to advance the state alone.
func (s *Store) SaveMail(ctx context.Context, account, folder string, mails []cadence.Interaction, st FolderState) (SaveResult, error) {
	res := SaveResult{Filtered: map[cadence.Filter]int{}}
	err := s.interactionTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		// The statements run without ctx's cancellation (modernc starts a
		// watcher goroutine per statement for a cancellable context); the
		// transaction, begun with ctx, is still rolled back when it ends.
		sorted, created, err := saveMails(context.WithoutCancel(ctx), tx, mails, account, "imap:"+folder, now)
		if err != nil {
			return err
		}
		for i, in := range sorted {
			if created[i] {
				res.Created++
				if in.Filter != cadence.Counts {
					res.Filtered[in.Filter]++
				}
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO imap_folders (account, folder, uid_validity, uid_next, highest_modseq, synced_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, folder) DO UPDATE SET uid_validity = excluded.uid_validity,
			uid_next = excluded.uid_next, highest_modseq = excluded.highest_modseq, synced_at = excluded.synced_at`,
			account, folder, int64(st.UIDValidity), int64(st.UIDNext), int64(st.HighestModSeq), ms(now))
		if err != nil {
			return fmt.Errorf("write state of %s/%s: %w", account, folder, err)
		}
		return nil
	})
	if err != nil {
		return SaveResult{}, fmt.Errorf("save mail of %s/%s: %w", account, folder, err)
	}
	return res, nil
}

// Rows per multi-row statement. SQLite allows 32766 parameters; beyond a
// few hundred rows the gain is nil.
const (
	mailRowsPerStmt = 100 // interactions: 11 parameters each
	rowsPerStmt     = 250 // sources, CalDAV objects: 4 or 5
)

// saveMails is upsertInteraction (replace = false) for many mails at once,
// with multi-row statements: a first sync writes a hundred thousand mails,
// and per-row statements cost most of its time. It returns the mails in
// the order written and, for each, whether it was new to the store (of
// several copies of one key, the first).
func saveMails(ctx context.Context, tx *sql.Tx, mails []cadence.Interaction, account, locator string, now time.Time) ([]*cadence.Interaction, []bool, error) {
	stmts := newPreparedTx(tx)
	defer stmts.close()
	// Rows go in in key order, sources in ID order: the keys (Message-IDs)
	// are random, and B-tree inserts in order touch each index page once
	// per batch instead of once per row; new IDs follow the key order, so
	// sources (keyed by ID) are appended.
	sorted := make([]*cadence.Interaction, len(mails))
	for i := range mails {
		sorted[i] = &mails[i]
	}
	slices.SortStableFunc(sorted, func(a, b *cadence.Interaction) int { return strings.Compare(a.Key, b.Key) })
	created := make([]bool, len(sorted))
	ids := make([]int64, len(sorted))
	known := make(map[string]int64, len(sorted))
	stored := map[int64]string{} // packed participants of the interactions stored before
	for start := 0; start < len(sorted); start += mailRowsPerStmt {
		end := min(start+mailRowsPerStmt, len(sorted))
		if err := insertMails(ctx, stmts, sorted[start:end], account, now, known, stored, ids[start:end], created[start:end]); err != nil {
			return nil, nil, err
		}
	}
	if err := mergeCopies(ctx, stmts, sorted, ids, created, stored); err != nil {
		return nil, nil, err
	}
	if err := insertCopies(ctx, stmts, sorted, ids, created, account, locator); err != nil {
		return nil, nil, err
	}
	return sorted, created, nil
}

// insertCopies records where the mails were seen, with the filter of each
// copy, and makes an interaction stored earlier from a copy that did not
// count (a group's List-Id copy) count when this copy does: a mail counts
// when any copy counts, whichever was read first. The mails are sorted by
// key, so copies of one interaction are adjacent.
func insertCopies(ctx context.Context, stmts *preparedTx, mails []*cadence.Interaction, ids []int64, created []bool, account, locator string) error {
	sources := make([]any, 0, 4*len(mails))
	var counted []any // IDs of interactions stored as filtered that this batch has a counting copy of
	for i := 0; i < len(mails); {
		j, filter, newRow := i, mails[i].Filter, created[i]
		for ; j < len(mails) && ids[j] == ids[i]; j++ {
			if mails[j].Filter == cadence.Counts {
				filter = cadence.Counts
			}
		}
		sources = append(sources, ids[i], account, locator, string(filter))
		if filter == cadence.Counts && (!newRow || mails[i].Filter != cadence.Counts) {
			counted = append(counted, ids[i])
		}
		i = j
	}
	if err := insertMany(ctx, stmts, `INSERT INTO interaction_sources (interaction_id, account, locator, filter) VALUES `, 4, sources,
		` ON CONFLICT (interaction_id, account, locator) DO NOTHING`); err != nil {
		return fmt.Errorf("insert sources: %w", err)
	}
	for start := 0; start < len(counted); start += rowsPerStmt {
		chunk := counted[start:min(start+rowsPerStmt, len(counted))]
		if _, err := stmts.tx.ExecContext(ctx, `UPDATE interactions SET filter = '' WHERE filter != '' AND id IN (`+placeholders(len(chunk))+`)`, chunk...); err != nil {
			return fmt.Errorf("count copies: %w", err)
		}
	}
	return nil
}

// mergeCopies adds the participants of copies to the interaction their
// key already names: one stored before (whose packed participants are in
// stored), or one this batch created from an earlier copy. The mails are
// sorted by key, so copies of one interaction are adjacent. A first sync
// without copies writes nothing here.
func mergeCopies(ctx context.Context, stmts *preparedTx, mails []*cadence.Interaction, ids []int64, created []bool, stored map[int64]string) error {
	for i := 0; i < len(mails); {
		j := i + 1
		for j < len(mails) && ids[j] == ids[i] {
			j++
		}
		if created[i] && j == i+1 {
			i = j
			continue
		}
		have, ok := stored[ids[i]]
		if created[i] {
			have, ok = PackParticipants(mails[i].Participants), true
		}
		if !ok {
			return fmt.Errorf("merge participants of %s: stored participants unknown", mails[i].Key)
		}
		merged, changed := have, false
		for _, m := range mails[i:j] {
			var c bool
			merged, c = mergePacked(merged, m.Participants, false)
			changed = changed || c
		}
		if changed {
			if _, err := stmts.tx.ExecContext(ctx, `UPDATE interactions SET people = ? WHERE id = ?`, merged, ids[i]); err != nil {
				return fmt.Errorf("merge participants of %s: %w", mails[i].Key, err)
			}
		}
		i = j
	}
	return nil
}

// insertMails inserts the interactions of chunk that are new, with their
// participants packed, and sets their IDs in ids, marking the new ones in
// created. known holds the IDs of the keys seen so far in the batch, and
// gains the chunk's; stored gains the packed participants of those stored
// before the batch.
func insertMails(ctx context.Context, stmts *preparedTx, chunk []*cadence.Interaction, account string, now time.Time, known map[string]int64, stored map[int64]string, ids []int64, created []bool) error {
	const cols = 11
	args := make([]any, 0, cols*len(chunk))
	for _, in := range chunk {
		if in.Key == "" {
			return fmt.Errorf("interaction without key")
		}
		args = append(args, in.Key, string(in.Kind), ms(in.At), in.Subject, in.Sender, account,
			in.MessageID, in.InReplyTo, strings.Join(in.References, " "), string(in.Filter), PackParticipants(in.Participants))
	}
	rows, err := stmts.QueryContext(ctx, `INSERT INTO interactions
		(key, kind, at, subject, sender, account, message_id, in_reply_to, refs, filter, people, first_seen)
		VALUES `+repeatRow(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+fmt.Sprint(ms(now))+`)`, len(chunk))+`
		ON CONFLICT (key) DO NOTHING RETURNING id, key`, args...)
	if err != nil {
		return fmt.Errorf("insert interactions: %w", err)
	}
	fresh := make(map[string]int64, len(chunk))
	if err := scanIDs(rows, fresh); err != nil {
		return fmt.Errorf("insert interactions: %w", err)
	}
	var missing []any
	for i, in := range chunk {
		if id, ok := fresh[in.Key]; ok {
			ids[i], created[i] = id, true
			known[in.Key] = id
			delete(fresh, in.Key) // a second copy in the same chunk is not new
		} else if id, ok := known[in.Key]; ok {
			ids[i] = id
		} else {
			missing = append(missing, in.Key)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err = stmts.tx.QueryContext(ctx, `SELECT id, key, people FROM interactions WHERE key IN (`+placeholders(len(missing))+`)`, missing...)
	if err != nil {
		return fmt.Errorf("find interactions: %w", err)
	}
	if err := scanStored(rows, known, stored); err != nil {
		return fmt.Errorf("find interactions: %w", err)
	}
	for i, in := range chunk {
		if ids[i] != 0 {
			continue
		}
		id, ok := known[in.Key]
		if !ok {
			return fmt.Errorf("insert interaction %s: row ignored", in.Key)
		}
		ids[i] = id
	}
	return nil
}

// scanIDs reads (id, key) rows into ids.
func scanIDs(rows *sql.Rows, ids map[string]int64) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return err
		}
		ids[key] = id
	}
	return rows.Err()
}

// scanStored reads (id, key, people) rows into ids and people.
func scanStored(rows *sql.Rows, ids map[string]int64, people map[int64]string) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key, packed string
		if err := rows.Scan(&id, &key, &packed); err != nil {
			return err
		}
		ids[key], people[id] = id, packed
	}
	return rows.Err()
}

// repeatRow returns n copies of row, comma-separated.
func repeatRow(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}
