package imapsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// Sizes of a folder read.
const (
	// batchSize messages are stored per transaction, with the state that
	// covers them: large enough for throughput, small enough that a crash
	// re-reads little.
	batchSize = 5000
	// fetchChunk UIDs go into one UID FETCH, keeping the command line well
	// under servers' limits (Dovecot: 64 KB) however scattered the UIDs.
	fetchChunk = 5000
)

// fetchOptions asks for the UID, INTERNALDATE and the header fields the
// classification reads. BODY.PEEK leaves \Seen alone; no body is read.
var fetchOptions = &imap.FetchOptions{
	UID:          true,
	InternalDate: true,
	BodySection: []*imap.FetchItemBodySection{{
		Specifier: imap.PartSpecifierHeader, HeaderFields: fieldNames[:], Peek: true,
	}},
}

// FetchOptions returns a copy of what a sync asks the server for each
// message, so that a benchmark can time the same FETCH without the rest.
func FetchOptions() *imap.FetchOptions {
	section := *fetchOptions.BodySection[0]
	section.HeaderFields = slices.Clone(section.HeaderFields)
	opts := *fetchOptions
	opts.BodySection = []*imap.FetchItemBodySection{&section}
	return &opts
}

// changed returns f's status and whether the folder needs reading:
// always when it was never synced, else when its UIDVALIDITY or UIDNEXT
// differ from the stored state. The status comes from LIST-STATUS when
// survey had it, else from a STATUS command on sess.
func changed(sess *session, f mailbox, prev store.FolderState, known bool) (*imap.StatusData, bool, error) {
	status := f.Status
	if status == nil {
		var err error
		if status, err = sess.c.Status(f.Name, statusOptions(sess.caps)).Wait(); err != nil {
			return nil, false, fmt.Errorf("status: %w", err)
		}
	}
	same := known && status.UIDNext != 0 && status.UIDValidity == prev.UIDValidity && uint32(status.UIDNext) == prev.UIDNext
	return status, !same, nil
}

// syncFolder brings one changed folder's stored interactions up to date:
// EXAMINE (read-only) unless sess has it selected, search the UIDs not
// read yet within the backfill window, fetch and store them. status is
// the folder's as changed returned it.
func (s *Source) syncFolder(ctx context.Context, sess *session, f mailbox, status *imap.StatusData, prev store.FolderState, known bool, st stats) error {
	started := time.Now()
	// The folder's numbers as of now: the selected folder's status follows
	// the NOOP of survey; another folder's come with its EXAMINE, as do a
	// renumbered selected folder's (its messages are no longer the view's).
	now := store.FolderState{UIDValidity: status.UIDValidity, UIDNext: uint32(status.UIDNext), HighestModSeq: status.HighestModSeq}
	if sess.selected != f.Name || sess.validity != status.UIDValidity {
		sel, err := examineData(sess, f.Name)
		if err != nil {
			return err
		}
		now = store.FolderState{UIDValidity: sel.UIDValidity, UIDNext: uint32(sel.UIDNext), HighestModSeq: sel.HighestModSeq}
	}
	from := imap.UID(1)
	switch {
	case known && now.UIDValidity == prev.UIDValidity:
		from = imap.UID(max(prev.UIDNext, 1))
	case known:
		// The server renumbered the folder (RFC 3501 2.3.1.1): re-read it.
		// Keys make every message already stored a duplicate, not a copy.
		s.log.Warn("uidvalidity changed, re-reading folder", zap.String(keyFolder, f.Name),
			zap.Uint32("was", prev.UIDValidity), zap.Uint32("now", now.UIDValidity))
		st[statResets]++
	}
	want, err := s.search(sess, from)
	if err != nil {
		return err
	}
	// Everything below the final UIDNEXT will have been read: the server's
	// (possibly unknown, 0) or past the last UID found, when mail arrived
	// since (a session sees arrivals in UID order, so none is skipped).
	final := now
	final.UIDNext = max(final.UIDNext, uint32(from))
	if len(want) > 0 {
		final.UIDNext = max(final.UIDNext, uint32(want[len(want)-1])+1)
	}
	fetched, stored := st[statFetched], st[statStored]
	if err := s.read(ctx, sess, f.Name, want, final, st); err != nil {
		return err
	}
	if n := st[statFetched] - fetched; n > 0 {
		s.log.Info("folder synced", zap.String(keyFolder, f.Name), zap.Int64(keyFetched, n),
			zap.Int64(keyStored, st[statStored]-stored), zap.Duration(keyTook, time.Since(started)))
	}
	return nil
}

// search returns, ascending, the UIDs at or above from whose INTERNALDATE
// falls within the backfill window.
func (s *Source) search(sess *session, from imap.UID) ([]imap.UID, error) {
	var uids imap.UIDSet
	uids.AddRange(from, 0) // from:*
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{uids}}
	if !s.sync.Backfill.IsZero() {
		crit.Since = s.sync.Backfill.Before(s.now(), time.UTC)
	}
	var opts *imap.SearchOptions
	if sess.caps.Has(imap.CapESearch) {
		opts = &imap.SearchOptions{ReturnAll: true} // ranges, not every UID
	}
	data, err := sess.c.UIDSearch(crit, opts).Wait()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	set, _ := data.All.(imap.UIDSet)
	all, ok := set.Nums()
	if !ok {
		return nil, errors.New("search: server returned a dynamic UID set")
	}
	// "from:*" includes the highest UID even when it is below from.
	all = slices.DeleteFunc(all, func(u imap.UID) bool { return u < from })
	slices.Sort(all)
	return slices.Compact(all), nil
}

// batch is what one store transaction writes.
type batch struct {
	mails     []cadence.Interaction
	state     store.FolderState
	fetched   int64
	malformed int64
}

// read fetches want and stores it batch by batch, each batch with the
// state that covers it; the last one carries final. Fetching and parsing
// run in their own goroutine, overlapping the store's writes.
func (s *Source) read(ctx context.Context, sess *session, folder string, want []imap.UID, final store.FolderState, st stats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 1)
	var fetchErr error
	go func() {
		defer close(batches)
		fetchErr = s.produce(ctx, sess, want, final, batches)
	}()
	var saveErr error
	for b := range batches {
		if saveErr != nil {
			continue // drain until the producer sees the cancellation
		}
		res, err := s.st.SaveMail(ctx, s.acct.Name, folder, b.mails, b.state)
		if err != nil {
			saveErr = err
			cancel()
			continue
		}
		st[statFetched] += b.fetched
		st[statMalformed] += b.malformed
		st[statStored] += int64(res.Created)
		st[statDuplicates] += int64(len(b.mails) - res.Created)
		for f, n := range res.Filtered {
			st[statFiltered+string(f)] += int64(n)
		}
	}
	if saveErr != nil {
		return saveErr
	}
	return fetchErr
}

// produce fetches want in chunks, classifies each message and sends
// batches of at most s.batch messages, then a last batch with final.
func (s *Source) produce(ctx context.Context, sess *session, want []imap.UID, final store.FolderState, out chan<- batch) error {
	cur := newCursor(want)
	var b batch
	send := func(state store.FolderState) error {
		b.state = state
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = batch{}
		return nil
	}
	var missed []imap.UID
	var buf bytes.Buffer
	for start := 0; start < len(want); start += fetchChunk {
		chunk := want[start:min(start+fetchChunk, len(want))]
		cmd := sess.c.Fetch(imap.UIDSetNum(chunk...), fetchOptions)
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			if err := ctx.Err(); err != nil {
				// Stopped (a sibling folder failed, or the pass ended):
				// finish the command, leaving the connection usable.
				cmd.Close()
				return err
			}
			uid, internal, ok, err := readMessage(msg, &buf)
			if err != nil {
				// The connection broke under a literal: go-imap's reader
				// has moved on, and reading on (cmd.Close included) would
				// race with it. The pass drops the connection.
				return fmt.Errorf("fetch: %w", err)
			}
			if uid == 0 {
				continue
			}
			if !ok {
				// go-imap merged an unsolicited FETCH (a flag change) for
				// this UID into our command: fetch it again below.
				missed = append(missed, uid)
				continue
			}
			s.add(&b, &buf, internal)
			cur.got(uid)
			if b.fetched >= int64(s.batch) {
				state := final
				state.UIDNext = uint32(cur.next(imap.UID(final.UIDNext)))
				if err := send(state); err != nil {
					cmd.Close()
					return err
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
	}
	if len(missed) > 0 {
		if err := s.refetch(sess, missed, &b, &buf); err != nil {
			return err
		}
	}
	return send(final)
}

// refetch fetches messages whose header did not arrive the first time;
// one still missing counts as malformed.
func (s *Source) refetch(sess *session, uids []imap.UID, b *batch, buf *bytes.Buffer) error {
	got := map[imap.UID]bool{}
	cmd := sess.c.Fetch(imap.UIDSetNum(uids...), fetchOptions)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		uid, internal, ok, err := readMessage(msg, buf)
		if err != nil {
			return fmt.Errorf("fetch: %w", err) // as in produce
		}
		if ok && !got[uid] {
			got[uid] = true
			s.add(b, buf, internal)
		}
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	b.malformed += int64(len(uids) - len(got))
	return nil
}

// add classifies the header in buf into b.
func (s *Source) add(b *batch, buf *bytes.Buffer, internal time.Time) {
	b.fetched++
	in, skip := classify(buf.Bytes(), internal, s.acct.Name)
	if skip != keep {
		b.malformed++
		return
	}
	if b.mails == nil {
		b.mails = make([]cadence.Interaction, 0, s.batch) // not grown by doubling
	}
	b.mails = append(b.mails, in)
}

// readMessage reads one FETCH response into buf (the header fields, at
// most maxHeaderBytes); ok is false when it held no header section. err
// is a failure to read the header literal (the connection broke).
func readMessage(msg *imapclient.FetchMessageData, buf *bytes.Buffer) (uid imap.UID, internal time.Time, ok bool, err error) {
	buf.Reset()
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataInternalDate:
			internal = it.Time
		case imapclient.FetchItemDataBodySection:
			ok = true
			if it.Literal != nil {
				// The rest, past the limit, is discarded by Next. A literal
				// cut short by a closed connection ends in a plain EOF.
				n, err := io.Copy(buf, io.LimitReader(it.Literal, maxHeaderBytes))
				if err == nil && n < min(it.Literal.Size(), maxHeaderBytes) {
					err = io.ErrUnexpectedEOF
				}
				if err != nil {
					return uid, internal, false, err
				}
			}
		}
	}
	return uid, internal, ok, nil
}

// cursor tracks which wanted UIDs have arrived, so a checkpoint never
// claims a UID that was not stored: below next(), every one has arrived.
type cursor struct {
	want []imap.UID
	i    int
	seen map[imap.UID]bool // arrived ahead of an earlier UID
}

func newCursor(want []imap.UID) *cursor {
	return &cursor{want: want, seen: map[imap.UID]bool{}}
}

func (c *cursor) got(uid imap.UID) {
	if c.i < len(c.want) && c.want[c.i] == uid {
		c.i++
	} else {
		c.seen[uid] = true
	}
	for c.i < len(c.want) && c.seen[c.want[c.i]] {
		delete(c.seen, c.want[c.i])
		c.i++
	}
}

// next is the UIDNEXT a checkpoint may claim: the first wanted UID not
// yet arrived, or final when all have.
func (c *cursor) next(final imap.UID) imap.UID {
	if c.i < len(c.want) {
		return c.want[c.i]
	}
	return final
}
