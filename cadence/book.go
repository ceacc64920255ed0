package cadence

import (
	"math"
	"slices"
	"time"
)

// Book keeps the History of a configuration up to date as interactions
// are stored, changed and deleted, so that a daemon evaluating every
// minute reads only what changed. Changes are staged with Put and Delete
// and take effect, all at once, in the History that Commit returns.
//
// A Book is not safe for concurrent use; the Histories it returns are.
type Book struct {
	dir     *Directory
	in      interner
	index   map[string]int // customer ID → index in the directory's customers
	lines   []*timeline    // the last committed timelines, by customer index
	first   []int64        // the time of each line's first entry: a dense copy, read every Commit
	drafts  []*draft       // staged additions, by customer index
	removed []int64        // staged IDs whose committed entries go
	maxID   int64          // the largest ID committed: larger ones are new
	staged  stagedIDs      // the IDs staged since the last Commit
	from    int64          // entries before this Unix second are dropped
	last    *History       // the last History committed
}

// NewBook returns an empty Book for the directory's customers that keeps
// the contacts from from on.
func NewBook(d *Directory, from time.Time) *Book {
	b := &Book{dir: d, index: make(map[string]int, len(d.customers)), from: ceilUnix(from),
		lines: make([]*timeline, len(d.customers)), drafts: make([]*draft, len(d.customers)),
		first: make([]int64, len(d.customers))}
	for i, c := range d.customers {
		b.first[i] = math.MaxInt64
		if _, dup := b.index[c.ID]; !dup {
			b.index[c.ID] = i
		}
	}
	return b
}

// Put stages the stored interaction id in its current state, replacing
// what the Book holds for id. It returns how the directory classified it:
// an interaction that does not count, or is older than the Book keeps,
// only removes id's earlier state.
func (b *Book) Put(id int64, in *Interaction) Filter {
	b.Delete(id)
	cl := b.dir.Classify(*in)
	if cl.Filter != Counts || in.At.Unix() < b.from {
		return cl.Filter
	}
	var thread []string
	if in.Kind == Email && cl.Direction == Outbound {
		thread = threadOf(in)
	}
	e := entry{at: in.At.Unix(), id: id, subject: b.in.subject(in.Subject), flags: flagsOf(in.Kind, cl.Direction)}
	dur := durationOf(in.At, in.End)
	for _, t := range cl.Touches {
		d := b.drafts[t.Customer]
		if d == nil {
			d = &draft{}
			b.drafts[t.Customer] = d
		}
		e.people = b.in.peopleSet(t.People, in.Sources)
		d.add(e, in.Key, dur, thread)
	}
	return Counts
}

// Delete stages the removal of interaction id.
func (b *Book) Delete(id int64) {
	if id <= b.maxID {
		b.removed = append(b.removed, id)
	}
	if b.staged.add(id) {
		b.unstage(id)
	}
}

// unstage drops what this batch staged for id.
func (b *Book) unstage(id int64) {
	for _, d := range b.drafts {
		if d != nil {
			d.entries = slices.DeleteFunc(d.entries, func(e entry) bool { return e.id == id })
		}
	}
}

// Commit applies the staged changes, drops the contacts before from (or
// before the Book's earlier from, whichever is later) and returns the
// resulting History. Timelines nothing changed are shared with the
// previous History; a removal reads the timelines whose ID filter may hold
// the IDs it removes.
func (b *Book) Commit(from time.Time) *History {
	b.from = max(b.from, ceilUnix(from))
	drop := newIDSet(b.removed)
	var lines []*timeline // copied on the first change: earlier Histories share b.lines
	for i, old := range b.lines {
		cur := old
		switch {
		case b.drafts[i] != nil || (len(b.removed) > 0 && old.holdsAny(&drop, b.removed)):
			cur = merge(old, &drop, b.drafts[i], b.from)
			b.maxID = max(b.maxID, b.drafts[i].maxID())
			b.drafts[i] = nil
		case b.first[i] < b.from:
			cur = old.since(b.from)
		}
		if cur == old {
			continue
		}
		if lines == nil {
			lines = slices.Clone(b.lines)
		}
		lines[i], b.first[i] = cur, cur.first()
	}
	b.removed = b.removed[:0]
	b.staged.reset()
	if lines != nil || b.last == nil || b.last.from != b.from {
		if lines != nil {
			b.lines = lines
		}
		b.last = &History{index: b.index, timelines: b.lines, subjects: b.in.subjects, people: b.in.people,
			sources: b.in.sources, from: b.from}
	}
	return b.last
}

// threadOf returns the Message-IDs a mail answers: its References, plus
// In-Reply-To when References lacks it.
func threadOf(in *Interaction) []string {
	if in.InReplyTo == "" || slices.Contains(in.References, in.InReplyTo) {
		return in.References
	}
	return append(slices.Clip(in.References), in.InReplyTo)
}

// holdsAny reports whether one of t's entries is in ids (given as a list
// too, for the Bloom filter).
func (t *timeline) holdsAny(ids *idSet, list []int64) bool {
	if t == nil || !slices.ContainsFunc(list, t.ids.mayHold) {
		return false
	}
	for i := range t.entries {
		if ids.has(t.entries[i].id) {
			return true
		}
	}
	return false
}

func (d *draft) maxID() int64 {
	var m int64
	if d != nil {
		for i := range d.entries {
			m = max(m, d.entries[i].id)
		}
	}
	return m
}

// idSet is a set of IDs: a bitmap over their range, as a scan of
// millions of entries asks it once each. The zero idSet is empty.
type idSet struct {
	lo, hi int64
	bits   []uint64
	sparse map[int64]bool // when the range is too wide for a bitmap
}

func newIDSet(ids []int64) idSet {
	if len(ids) == 0 {
		return idSet{lo: 1, hi: 0}
	}
	s := idSet{lo: slices.Min(ids), hi: slices.Max(ids)}
	if s.hi-s.lo > 1<<24 {
		s.sparse = make(map[int64]bool, len(ids))
		for _, id := range ids {
			s.sparse[id] = true
		}
		return s
	}
	s.bits = make([]uint64, (s.hi-s.lo)/64+1)
	for _, id := range ids {
		o := id - s.lo
		s.bits[o/64] |= 1 << (o % 64)
	}
	return s
}

func (s *idSet) empty() bool { return s.hi < s.lo }

func (s *idSet) has(id int64) bool {
	if id < s.lo || id > s.hi {
		return false
	}
	if s.sparse != nil {
		return s.sparse[id]
	}
	o := id - s.lo
	return s.bits[o/64]&(1<<(o%64)) != 0
}

// stagedIDs remembers the IDs staged since the last Commit, to find one
// staged twice: a bitmap by ID, as stored IDs are dense, so that a full
// load of millions costs bits, not a map.
type stagedIDs struct {
	bits  []uint64
	set   []int64        // the IDs in bits, while few: clearing them is cheaper than clearing bits
	many  bool           // set overflowed
	other map[int64]bool // IDs beyond the bitmap's reach
}

const (
	maxBitmapID = 1 << 27 // 16 MiB of bitmap at most
	fewIDs      = 4096
)

// add records id and reports whether it was recorded already.
func (s *stagedIDs) add(id int64) bool {
	if id < 0 || id >= maxBitmapID {
		if s.other[id] {
			return true
		}
		if s.other == nil {
			s.other = map[int64]bool{}
		}
		s.other[id] = true
		return false
	}
	w, bit := int(id/64), uint64(1)<<(id%64)
	if w >= len(s.bits) {
		s.bits = append(s.bits, make([]uint64, w+1-len(s.bits))...)
	}
	if s.bits[w]&bit != 0 {
		return true
	}
	s.bits[w] |= bit
	if !s.many {
		if s.set = append(s.set, id); len(s.set) > fewIDs {
			s.many, s.set = true, s.set[:0]
		}
	}
	return false
}

func (s *stagedIDs) reset() {
	if s.many {
		clear(s.bits)
	}
	for _, id := range s.set {
		s.bits[id/64] = 0
	}
	s.set, s.many, s.other = s.set[:0], false, nil
}
