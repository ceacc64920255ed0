package store

import (
	"slices"
	"strings"

	"github.com/touchbase/touchbase/cadence"
)

// Participants are stored packed in their interaction's row (column
// people, schema v5): a first IMAP sync writes two or three per mail, and
// a row of their own each (with its B-tree insert, its bound values and
// its change-log row) cost as much as the mail itself. Nothing reads a
// participant other than with its interaction.
//
// The packed form is one record per participant, separated by RS (\x1e),
// each record role GS partstat GS address GS name (GS: \x1d), sorted by
// role then address, one per (address, role). Addresses, roles and
// PARTSTATs are printable (RFC 5322 addr-spec, RFC 5545 values); a name
// has any RS or GS replaced by a space.
const (
	peopleSep = "\x1e"
	fieldSep  = "\x1d"
)

// PackParticipants returns the stored form of ps: the first of each
// (address, role) pair is kept. Tests that write rows directly use it.
func PackParticipants(ps []cadence.Participant) string {
	// A sort and a pass, not mergePeople: this runs for every mail of a
	// first sync. The stable sort keeps the first of each pair first.
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, comparePeople)
	sorted = slices.CompactFunc(sorted, func(a, b cadence.Participant) bool { return comparePeople(a, b) == 0 })
	return packPeople(sorted)
}

// packPeople encodes ps, which must be sorted and unique (mergePeople).
func packPeople(ps []cadence.Participant) string {
	var b strings.Builder
	n := 0
	for _, p := range ps {
		n += len(p.Role) + len(p.PartStat) + len(p.Address) + len(p.Name) + 4
	}
	b.Grow(n)
	for i, p := range ps {
		if i > 0 {
			b.WriteString(peopleSep)
		}
		b.WriteString(string(p.Role))
		b.WriteString(fieldSep)
		b.WriteString(p.PartStat)
		b.WriteString(fieldSep)
		b.WriteString(p.Address)
		b.WriteString(fieldSep)
		b.WriteString(cleanName(p.Name))
	}
	return b.String()
}

// cleanName keeps the separators out of a name.
func cleanName(name string) string {
	if !strings.ContainsAny(name, peopleSep+fieldSep) {
		return name
	}
	return strings.NewReplacer(peopleSep, " ", fieldSep, " ").Replace(name)
}

// unpackPeople appends the participants of a packed value to dst, with
// their names when names is set (evaluation needs none).
func unpackPeople(dst []cadence.Participant, packed string, names bool) []cadence.Participant {
	if packed == "" {
		return dst
	}
	for rec := range strings.SplitSeq(packed, peopleSep) {
		role, rest, ok1 := strings.Cut(rec, fieldSep)
		partstat, rest, ok2 := strings.Cut(rest, fieldSep)
		addr, name, _ := strings.Cut(rest, fieldSep)
		if !ok1 || !ok2 {
			continue
		}
		p := cadence.Participant{Address: addr, Role: cadence.Role(role), PartStat: partstat}
		if names {
			p.Name = name
		}
		dst = append(dst, p)
	}
	return dst
}

// mergePeople returns have with add merged in, sorted by role then
// address: a participant new by (address, role) is added; one already
// there keeps its name and PARTSTAT unless replace is set (a rescheduled
// meeting's latest version), as the participants table's upserts did.
// have must be sorted and unique; it is not modified.
func mergePeople(have, add []cadence.Participant, replace bool) []cadence.Participant {
	out := slices.Clone(have)
	for _, p := range add {
		p.Name = cleanName(p.Name)
		i, found := slices.BinarySearchFunc(out, p, comparePeople)
		switch {
		case !found:
			out = slices.Insert(out, i, p)
		case replace:
			out[i].Name, out[i].PartStat = p.Name, p.PartStat
		}
	}
	return out
}

func comparePeople(a, b cadence.Participant) int {
	if c := strings.Compare(string(a.Role), string(b.Role)); c != 0 {
		return c
	}
	return strings.Compare(a.Address, b.Address)
}

// mergePacked merges add into the packed value have and returns the new
// packed value and whether it differs.
func mergePacked(have string, add []cadence.Participant, replace bool) (string, bool) {
	merged := packPeople(mergePeople(unpackPeople(nil, have, true), add, replace))
	return merged, merged != have
}
