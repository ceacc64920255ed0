package evaluate

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// ledger keeps the counted interactions a Runner read, each packed into
// one byte string, so that a reload with a new customer directory can
// classify them again (cadence.Book keeps only what the old directory
// made of them) instead of reading millions of rows from the store. It
// holds what evaluation reads: kind, times, key, sender, subject, thread
// references, participants (address, role, PARTSTAT) and sources.
//
// A ledger is not safe for concurrent use; the Runner's mutex guards it.
type ledger struct {
	rows map[int64][]byte
	buf  cadence.Interaction // reused by each
}

func newLedger() *ledger { return &ledger{rows: map[int64][]byte{}} }

// put records in as the state of id, replacing what was there; an
// interaction that no longer counts is dropped.
func (l *ledger) put(id int64, in *cadence.Interaction) {
	if in.Filter != cadence.Counts {
		delete(l.rows, id)
		return
	}
	l.rows[id] = packLedger(in)
}

func (l *ledger) delete(id int64) { delete(l.rows, id) }

// each calls fn with every interaction at or after from, in no order,
// and forgets those before it; fn gets the same *Interaction each time,
// overwritten.
func (l *ledger) each(from time.Time, fn func(id int64, in *cadence.Interaction)) error {
	for id, row := range l.rows {
		if err := unpackLedger(row, &l.buf); err != nil {
			return fmt.Errorf("interaction %d: %w", id, err)
		}
		if l.buf.At.Before(from) {
			delete(l.rows, id)
			continue
		}
		fn(id, &l.buf)
	}
	return nil
}

// packLedger encodes in: varints for the times (Unix ms) and lengths,
// then the strings, each preceded by its length.
func packLedger(in *cadence.Interaction) []byte {
	n := 32 + len(in.Key) + len(in.Sender) + len(in.Subject) + len(in.InReplyTo)
	for _, r := range in.References {
		n += len(r) + 2
	}
	for _, p := range in.Participants {
		n += len(p.Address) + len(p.Role) + len(p.PartStat) + 3
	}
	for _, s := range in.Sources {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	b = binary.AppendVarint(b, unixMS(in.At))
	b = binary.AppendVarint(b, unixMS(in.End))
	meeting := byte(0)
	if in.Kind == cadence.Meeting {
		meeting = 1
	}
	b = append(b, meeting)
	for _, s := range []string{in.Key, in.Sender, in.Subject, in.InReplyTo} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(in.References)))
	for _, r := range in.References {
		b = appendString(b, r)
	}
	b = binary.AppendUvarint(b, uint64(len(in.Participants)))
	for _, p := range in.Participants {
		b = appendString(appendString(appendString(b, p.Address), string(p.Role)), p.PartStat)
	}
	b = binary.AppendUvarint(b, uint64(len(in.Sources)))
	for _, s := range in.Sources {
		b = appendString(b, s)
	}
	return b
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// unpackLedger decodes a packLedger row into in, reusing its slices.
func unpackLedger(b []byte, in *cadence.Interaction) error {
	r := ledgerReader{b: b}
	at, end := r.varint(), r.varint()
	in.At, in.End = time.Time{}, time.Time{}
	if at != 0 {
		in.At = time.UnixMilli(at).UTC()
	}
	if end != 0 {
		in.End = time.UnixMilli(end).UTC()
	}
	in.Kind = cadence.Email
	if r.byte() == 1 {
		in.Kind = cadence.Meeting
	}
	in.Key, in.Sender, in.Subject, in.InReplyTo = r.string(), r.string(), r.string(), r.string()
	in.Filter = cadence.Counts
	in.References = in.References[:0]
	for range r.count() {
		in.References = append(in.References, r.string())
	}
	in.Participants = in.Participants[:0]
	for range r.count() {
		in.Participants = append(in.Participants, cadence.Participant{Address: r.string(), Role: cadence.Role(r.string()), PartStat: r.string()})
	}
	in.Sources = in.Sources[:0]
	for range r.count() {
		in.Sources = append(in.Sources, r.string())
	}
	if r.bad || len(r.b) != 0 {
		return fmt.Errorf("malformed ledger row")
	}
	return nil
}

// ledgerReader reads a packLedger row; bad records a short or corrupt one.
type ledgerReader struct {
	b   []byte
	bad bool
}

func (r *ledgerReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *ledgerReader) count() int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *ledgerReader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *ledgerReader) string() string {
	n := r.count()
	if n > len(r.b) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
