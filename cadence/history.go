package cadence

import (
	"cmp"
	"encoding/binary"
	"iter"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// History is every customer's counted contacts, past and planned, in the
// compact form evaluation reads: 32 bytes per contact plus its key.
// It is immutable, and safe for concurrent use: a Book produces a new
// History for each batch of changes, sharing what did not change.
type History struct {
	index     map[string]int // customer ID → index in timelines; never changed once built
	timelines []*timeline    // nil: no contacts
	subjects  []string       // interned; never written below its length
	people    [][]string     // interned sets of people, each sorted
	sources   [][]string     // the sources that carried the entries with the same people index
	from      int64          // contacts before this Unix second were left out
}

// timeline is one customer's contacts, sorted by time, then key.
type timeline struct {
	entries []entry
	arena   string // each entry's key, meeting length and thread (see entry)
	ids     idBloom
}

// idBloom is a one-hash Bloom filter of a timeline's entry IDs: a Book
// looking for the entries of a changed interaction skips the timelines
// that cannot hold it instead of reading every entry.
type idBloom [16]uint64

func bloomBit(id int64) uint64 { return uint64(id) * 0x9E3779B97F4A7C15 >> 54 } // 0..1023

func (f *idBloom) add(id int64) { b := bloomBit(id); f[b/64] |= 1 << (b % 64) }

func (f *idBloom) mayHold(id int64) bool { b := bloomBit(id); return f[b/64]&(1<<(b%64)) != 0 }

func (t *timeline) key(e *entry) string { return t.arena[e.key : e.key+uint32(e.keyLen)] }

// dur is a meeting's length in seconds, 0 for mail.
func (t *timeline) dur(e *entry) uint32 {
	if !e.meeting() {
		return 0
	}
	b := t.arena[e.key+uint32(e.keyLen):]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// until is the entry's Contact.Until, in Unix seconds.
func (t *timeline) until(e *entry) int64 { return e.at + int64(t.dur(e)) }

// threadRef returns the i-th hash of an outbound mail's thread.
func (t *timeline) threadRef(e *entry, i int) uint64 {
	o := int(e.key) + int(e.keyLen) + 8*i
	if e.meeting() {
		o += 4
	}
	b := t.arena[o : o+8]
	var h uint64
	for j := 7; j >= 0; j-- {
		h = h<<8 | uint64(b[j])
	}
	return h
}

// NewHistory builds a History from contacts by customer ID, in any order.
// Contacts' times are kept to the second.
func NewHistory(contacts map[string][]Contact) *History {
	var in interner
	ids := slices.Sorted(maps.Keys(contacts))
	h := &History{index: make(map[string]int, len(ids)), timelines: make([]*timeline, len(ids)), from: math.MinInt64}
	for i, id := range ids {
		h.index[id] = i
		var d draft
		for _, c := range contacts[id] {
			people := slices.Compact(slices.Sorted(slices.Values(c.People)))
			d.add(entry{at: c.At.Unix(), subject: in.subject(c.Subject), people: in.peopleSet(people, c.Sources),
				flags: flagsOf(c.Kind, c.Direction)}, c.Key, durationOf(c.At, c.End), c.Thread)
		}
		h.timelines[i] = merge(nil, nil, &d, math.MinInt64)
	}
	h.subjects, h.people, h.sources = in.subjects, in.people, in.sources
	return h
}

// line returns a customer's timeline, nil when it has no contacts.
func (h *History) line(customerID string) *timeline {
	if h == nil {
		return nil
	}
	i, ok := h.index[customerID]
	if !ok {
		return nil
	}
	return h.timelines[i]
}

// Len returns the number of contacts, counting an interaction once per
// customer it touches.
func (h *History) Len() int {
	n := 0
	if h != nil {
		for _, t := range h.timelines {
			if t != nil {
				n += len(t.entries)
			}
		}
	}
	return n
}

// Contacts returns one customer's contacts, sorted by time, then key.
// Thread is nil: the History keeps only hashes of it.
func (h *History) Contacts(customerID string) []Contact {
	t := h.line(customerID)
	if t == nil {
		return nil
	}
	out := make([]Contact, len(t.entries))
	for i := range t.entries {
		out[i] = h.contact(t, &t.entries[i])
	}
	return out
}

// Times yields the times of one customer's contacts, in order: what a
// count needs, without building each Contact.
func (h *History) Times(customerID string) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		t := h.line(customerID)
		if t == nil {
			return
		}
		for i := range t.entries {
			if !yield(t.entries[i].time()) {
				return
			}
		}
	}
}

func (h *History) contact(t *timeline, e *entry) Contact {
	c := Contact{At: e.time(), Key: t.key(e), Kind: e.kind(), Direction: e.direction(),
		Subject: h.subjects[e.subject], People: h.people[e.people]}
	if e.meeting() {
		c.End = c.At.Add(time.Duration(t.dur(e)) * time.Second)
	}
	return c
}

// From returns the time before which contacts were left out (the zero
// time when none were).
func (h *History) From() time.Time {
	if h == nil || h.from == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(h.from, 0).UTC()
}

// Covers reports whether the history holds every contact from t on: a
// History is a window of what a Book keeps.
func (h *History) Covers(t time.Time) bool { return h != nil && ceilUnix(t) >= h.from }

// Since returns the history without the contacts before t, sharing its
// memory: an evaluation reads a window of the history a Book keeps.
func (h *History) Since(t time.Time) *History {
	from := ceilUnix(t)
	if h == nil || from <= h.from {
		return h
	}
	out := *h
	out.from = from
	out.timelines = make([]*timeline, len(h.timelines))
	for i, tl := range h.timelines {
		out.timelines[i] = tl.since(from)
	}
	return &out
}

// ceilUnix is the first whole second at or after t: the first an entry
// (whole seconds) can have without being before t.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

// first returns the time of t's first entry, MaxInt64 when it has none.
func (t *timeline) first() int64 {
	if t == nil || len(t.entries) == 0 {
		return math.MaxInt64
	}
	return t.entries[0].at
}

// since returns t without its entries before from; keys and refs are
// shared.
func (t *timeline) since(from int64) *timeline {
	if t == nil || len(t.entries) == 0 || t.entries[0].at >= from {
		return t
	}
	k := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].at >= from })
	if k == len(t.entries) {
		return nil
	}
	return &timeline{entries: t.entries[k:], arena: t.arena, ids: t.ids}
}

// draft collects new entries of one timeline before they are merged into
// it, with their own arena.
type draft struct {
	entries []entry
	arena   []byte
}

// add appends e with its key, a meeting's length and, for an outbound
// mail, the hashes of its thread (the last maxRefs: a reply's nearest
// ancestors).
func (d *draft) add(e entry, key string, dur uint32, thread []string) {
	if len(key) > maxKeyLen {
		key = key[:maxKeyLen] // cannot happen with RFC 5322 Message-IDs or iCalendar UIDs
	}
	e.key, e.keyLen = uint32(len(d.arena)), uint16(len(key))
	d.arena = append(d.arena, key...)
	if e.meeting() {
		d.arena = binary.LittleEndian.AppendUint32(d.arena, dur)
	}
	if e.email() && e.outbound() && len(thread) > 0 {
		thread = thread[max(0, len(thread)-maxRefs):]
		e.nrefs = uint8(len(thread))
		for _, id := range thread {
			d.arena = binary.LittleEndian.AppendUint64(d.arena, hashID(id))
		}
	}
	d.entries = append(d.entries, e)
}

// merge builds a timeline from old's entries whose IDs are not in drop and the
// draft's, leaving out those before from. Its arena holds only what its
// entries use, so removed entries' bytes are freed here.
func merge(old *timeline, drop *idSet, d *draft, from int64) *timeline {
	type item struct {
		e   entry
		src *timeline // old, or the draft's
	}
	var items []item
	if old != nil {
		for _, e := range old.entries {
			if e.at >= from && (drop == nil || !drop.has(e.id)) {
				items = append(items, item{e, old})
			}
		}
	}
	if d != nil {
		dt := &timeline{arena: string(d.arena)}
		for _, e := range d.entries {
			if e.at >= from {
				items = append(items, item{e, dt})
			}
		}
	}
	if len(items) == 0 {
		return nil
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.e.at, b.e.at); c != 0 {
			return c
		}
		return strings.Compare(a.src.key(&a.e), b.src.key(&b.e))
	})
	size := 0
	for _, it := range items {
		size += it.e.span()
	}
	var arena strings.Builder
	arena.Grow(size)
	t := &timeline{entries: make([]entry, len(items))}
	for i, it := range items {
		e := it.e
		arena.WriteString(it.src.arena[e.key : int(e.key)+e.span()])
		e.key = uint32(arena.Len() - e.span())
		t.entries[i] = e
		t.ids.add(e.id)
	}
	t.arena = arena.String()
	return t
}

// interner keeps one copy of each subject and each pair of a set of
// people and a set of sources: an entry has room for one index, and few
// customers' mail arrives through many combinations.
type interner struct {
	subjects  []string
	subjIdx   map[string]uint32
	people    [][]string
	sources   [][]string
	peopleIdx map[string]uint32
	buf       []byte
	srcBuf    []string
}

func (in *interner) subject(s string) uint32 {
	if i, ok := in.subjIdx[s]; ok {
		return i
	}
	if in.subjIdx == nil {
		in.subjIdx = map[string]uint32{}
	}
	s = strings.Clone(s) // s may share memory with a much larger string
	i := uint32(len(in.subjects))
	in.subjects = append(in.subjects, s)
	in.subjIdx[s] = i
	return i
}

// peopleSet interns a sorted set of addresses with the set of sources
// (in any order) that carried them.
func (in *interner) peopleSet(ps, sources []string) uint32 {
	in.buf = in.buf[:0]
	for _, p := range ps {
		in.buf = append(append(in.buf, p...), 0)
	}
	in.srcBuf = append(in.srcBuf[:0], sources...)
	slices.Sort(in.srcBuf)
	in.srcBuf = slices.Compact(in.srcBuf)
	in.buf = append(in.buf, 1)
	for _, s := range in.srcBuf {
		in.buf = append(append(in.buf, s...), 0)
	}
	if i, ok := in.peopleIdx[string(in.buf)]; ok { // no allocation for the lookup
		return i
	}
	if in.peopleIdx == nil {
		in.peopleIdx = map[string]uint32{}
	}
	set := make([]string, len(ps))
	for j, p := range ps {
		set[j] = strings.Clone(p)
	}
	var srcs []string
	if len(in.srcBuf) > 0 {
		srcs = make([]string, len(in.srcBuf))
		for j, s := range in.srcBuf {
			srcs[j] = strings.Clone(s)
		}
	}
	i := uint32(len(in.people))
	in.people = append(in.people, set)
	in.sources = append(in.sources, srcs)
	in.peopleIdx[string(in.buf)] = i
	return i
}
