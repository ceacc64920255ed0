package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// upsertInteraction records that in was seen at (account, locator). The
// interaction is created on first sight; later sightings add the source and
// any new participants. With replace, an existing row's time, subject, filter
// and participants' PARTSTAT are updated too (a rescheduled meeting); mail is
// immutable and never replaced. It reports whether a new row was created.
func upsertInteraction(ctx context.Context, tx *sql.Tx, in cadence.Interaction, locator string, replace bool, now time.Time) (id int64, created bool, err error) {
	if in.Key == "" {
		return 0, false, fmt.Errorf("interaction without key")
	}
	err = tx.QueryRowContext(ctx, `SELECT id FROM interactions WHERE key = ?`, in.Key).Scan(&id)
	switch {
	case err == sql.ErrNoRows:
		res, err := tx.ExecContext(ctx, `INSERT INTO interactions
			(key, kind, at, end_at, all_day, subject, sender, account, message_id, in_reply_to, refs, filter, first_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.Key, string(in.Kind), ms(in.At), ms(in.End), boolInt(in.AllDay), in.Subject, in.Sender, in.Account,
			in.MessageID, in.InReplyTo, strings.Join(in.References, " "), string(in.Filter), ms(now))
		if err != nil {
			return 0, false, fmt.Errorf("insert interaction %s: %w", in.Key, err)
		}
		id, _ = res.LastInsertId()
		created = true
	case err != nil:
		return 0, false, fmt.Errorf("find interaction %s: %w", in.Key, err)
	case replace:
		_, err := tx.ExecContext(ctx, `UPDATE interactions SET at = ?, end_at = ?, all_day = ?, subject = ?, sender = ?, filter = ? WHERE id = ?`,
			ms(in.At), ms(in.End), boolInt(in.AllDay), in.Subject, in.Sender, string(in.Filter), id)
		if err != nil {
			return 0, false, fmt.Errorf("update interaction %s: %w", in.Key, err)
		}
	}
	verb := "INSERT OR IGNORE"
	if replace {
		verb = "INSERT OR REPLACE"
	}
	for _, p := range in.Participants {
		if _, err := tx.ExecContext(ctx, verb+` INTO participants (interaction_id, address, name, role, partstat) VALUES (?, ?, ?, ?, ?)`,
			id, p.Address, p.Name, string(p.Role), p.PartStat); err != nil {
			return 0, false, fmt.Errorf("insert participant of %s: %w", in.Key, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO interaction_sources (interaction_id, account, locator) VALUES (?, ?, ?)`,
		id, in.Account, locator); err != nil {
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
	rows, err := s.db.QueryContext(ctx, `SELECT id, key, kind, at, end_at, all_day, subject, sender, account,
		message_id, in_reply_to, refs, filter FROM interactions WHERE at >= ? ORDER BY at, id`, ms(since))
	if err != nil {
		return nil, fmt.Errorf("load interactions: %w", err)
	}
	defer rows.Close()
	var out []cadence.Interaction
	index := map[int64]int{}
	for rows.Next() {
		var (
			in                cadence.Interaction
			id, at, end, all  int64
			kind, refs, filtr string
		)
		if err := rows.Scan(&id, &in.Key, &kind, &at, &end, &all, &in.Subject, &in.Sender, &in.Account,
			&in.MessageID, &in.InReplyTo, &refs, &filtr); err != nil {
			return nil, fmt.Errorf("load interactions: %w", err)
		}
		in.Kind, in.At, in.End, in.AllDay, in.Filter = cadence.Kind(kind), fromMS(at), fromMS(end), all != 0, cadence.Filter(filtr)
		if refs != "" {
			in.References = strings.Fields(refs)
		}
		index[id] = len(out)
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load interactions: %w", err)
	}
	prows, err := s.db.QueryContext(ctx, `SELECT p.interaction_id, p.address, p.name, p.role, p.partstat
		FROM participants p JOIN interactions i ON i.id = p.interaction_id WHERE i.at >= ?
		ORDER BY p.interaction_id, p.role, p.address`, ms(since))
	if err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var (
			id   int64
			p    cadence.Participant
			role string
		)
		if err := prows.Scan(&id, &p.Address, &p.Name, &role, &p.PartStat); err != nil {
			return nil, fmt.Errorf("load participants: %w", err)
		}
		p.Role = cadence.Role(role)
		if i, ok := index[id]; ok {
			out[i].Participants = append(out[i].Participants, p)
		}
	}
	return out, prows.Err()
}

// FilterCounts returns how many stored interactions each source-set filter
// excluded, by reason (for `touchbase status`).
func (s *Store) FilterCounts(ctx context.Context) (map[cadence.Filter]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT filter, COUNT(*) FROM interactions GROUP BY filter`)
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
