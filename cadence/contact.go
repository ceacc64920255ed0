package cadence

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Contact is one counted interaction as it concerns one customer, in a
// readable form: tests and callers build a History from Contacts
// (NewHistory) and read one customer's back (History.Contacts). The History
// itself keeps a compact form of it. A meeting whose At is after the
// evaluation time is planned, not contact.
type Contact struct {
	At        time.Time // kept to the second
	End       time.Time // meetings; zero for mail
	Key       string    // the interaction's natural key
	Kind      Kind
	Direction Direction // Outbound, Inbound, or "" when a third party sent it
	Subject   string
	// Thread holds, for an outbound mail, the Message-IDs it answers
	// (In-Reply-To and References), for reply matching. A History keeps
	// only their hashes and only for outbound mail; Contacts returns nil.
	Thread []string
	People []string // the customer's people on it, normalised and sorted
	// Sources are the sync sources that carried it (Interaction.Sources).
	Sources []string
}

// MessageID returns the mail's Message-ID, or "" for a meeting or a mail
// keyed on a header digest.
func (c Contact) MessageID() string { return messageID(c.Key) }

func messageID(key string) string {
	id, ok := strings.CutPrefix(key, "mid:")
	if !ok {
		return ""
	}
	return id
}

// Until is when the interaction ended: a meeting's end (its start when the
// end is unknown), a mail's time.
func (c Contact) Until() time.Time {
	if c.End.After(c.At) {
		return c.End
	}
	return c.At
}

// compareContacts orders contacts by time, then key: a total order, so
// that evaluation does not depend on the order of its input.
func compareContacts(a, b Contact) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}

// SortContacts sorts contacts by time, then key.
func SortContacts(cs []Contact) { slices.SortFunc(cs, compareContacts) }

// entry is the compact form of a Contact: 32 bytes, plus its key's bytes
// in its timeline's arena, so that millions fit in memory. What only some
// entries have follows the key in the arena: a meeting's length (4 bytes)
// and an outbound mail's thread (8-byte hashes). Strings that repeat
// (subjects, sets of people) are interned in the History. Times are Unix
// seconds.
type entry struct {
	at      int64  // Unix seconds
	id      int64  // the stored interaction's ID, for incremental updates; 0 when unknown
	key     uint32 // offset of the key in the timeline's arena
	subject uint32 // index in History.subjects
	people  uint32 // index in History.people
	keyLen  uint16
	nrefs   uint8 // thread hashes after the key (and the meeting's length)
	flags   uint8 // kind and direction
}

// Flags of an entry.
const (
	isMeeting  uint8 = 1 << iota
	isInbound        // sent by the customer
	isOutbound       // sent by the team
)

// Limits of the compact form: keys are Message-IDs or UIDs (RFC 5322 caps
// a line at 998 characters), and a reply's nearest ancestors are the last
// of its References.
const (
	maxKeyLen = 1<<16 - 1
	maxRefs   = 1<<8 - 1
)

func (e *entry) meeting() bool { return e.flags&isMeeting != 0 }
func (e *entry) email() bool   { return e.flags&isMeeting == 0 }
func (e *entry) inbound() bool { return e.flags&isInbound != 0 }
func (e *entry) outbound() bool {
	return e.flags&isOutbound != 0
}

// time is the entry's At, in UTC.
func (e *entry) time() time.Time { return time.Unix(e.at, 0).UTC() }

// span is how many bytes of the arena the entry uses.
func (e *entry) span() int {
	n := int(e.keyLen) + 8*int(e.nrefs)
	if e.meeting() {
		n += 4
	}
	return n
}

func (e *entry) kind() Kind {
	if e.meeting() {
		return Meeting
	}
	return Email
}

func (e *entry) direction() Direction {
	switch {
	case e.inbound():
		return Inbound
	case e.outbound():
		return Outbound
	}
	return ""
}

func flagsOf(k Kind, d Direction) uint8 {
	var f uint8
	if k == Meeting {
		f |= isMeeting
	}
	switch d {
	case Inbound:
		f |= isInbound
	case Outbound:
		f |= isOutbound
	}
	return f
}

// durationOf is a meeting's length in seconds, 0 when end is not after at.
func durationOf(at, end time.Time) uint32 {
	if !end.After(at) {
		return 0
	}
	return uint32(min(int64(end.Sub(at)/time.Second), 1<<32-1))
}

// hashID hashes a Message-ID for thread matching (64-bit FNV-1a: a
// collision among one customer's mails is as likely as never).
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}
