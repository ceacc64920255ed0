package imapsource

import (
	"net/mail"
	"strings"
	"time"
)

// obsZones are RFC 5322 obsolete zone names (section 4.3) with their
// offsets. time.Parse would read "EST" as a zone of offset zero unless the
// machine's zone happens to be EST, which shifts such mail by hours.
var obsZones = map[string]string{
	"UT": "+0000", "GMT": "+0000", "Z": "+0000", "UTC": "+0000",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
	"CET": "+0100", "CEST": "+0200", "MET": "+0100", "MEST": "+0200",
	"BST": "+0100", "JST": "+0900",
}

// fallbackLayouts are Date forms seen from broken mailers that RFC 5322
// parsing rejects; a missing zone is taken as UTC.
var fallbackLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04:05",
	"Mon, 2 Jan 2006 15:04",
	"2 Jan 2006 15:04",
	"2 Jan 2006 15:04-0700",
	"Mon, 2 Jan 2006 15:04:05-0700",
	"Mon 2 Jan 2006 03:04:05 PM -0700",
	"Mon 2 Jan 2006 15:04:05 -0700",
	"Mon Jan _2 15:04:05 2006",
	"Mon Jan _2 15:04:05 -0700 2006",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 January 2006 15:04:05 -0700",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"Monday, January 2, 2006 3:04 PM",
	"1/2/2006 3:04:05 PM",
	"Mon, 2 Jan 2006 15.04.05 -0700",
}

// parseDate parses a Date header value: RFC 5322 with obsolete zones
// mapped to offsets and trailing comments ("(PST)") ignored, then a few
// common broken forms. ok is false when nothing matched.
func parseDate(v string) (t time.Time, ok bool) {
	if v = stripComments(v); !isCleanASCII(v) {
		v = strings.Join(strings.Fields(v), " ")
	}
	if v == "" {
		return time.Time{}, false
	}
	v = numericZone(v)
	// The common form first: net/mail tries dozens of layouts in turn.
	if t, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", v); err == nil {
		return t, true
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	v = strings.TrimSuffix(strings.TrimSuffix(v, ","), ".")
	for _, layout := range fallbackLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// stripComments removes parenthesised comments (nesting allowed).
func stripComments(v string) string {
	if !strings.Contains(v, "(") {
		return v
	}
	var b strings.Builder
	depth := 0
	for _, r := range v {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// numericZone replaces a trailing obsolete zone name with its offset, and
// drops a name that follows a numeric offset ("+0000 GMT").
func numericZone(v string) string {
	i := strings.LastIndexByte(v, ' ')
	if i < 0 {
		return v
	}
	last := strings.ToUpper(v[i+1:])
	off, known := obsZones[last]
	if !known {
		return v
	}
	rest := v[:i]
	if j := strings.LastIndexByte(rest, ' '); j >= 0 {
		if z := rest[j+1:]; len(z) == 5 && (z[0] == '+' || z[0] == '-') {
			return rest
		}
	}
	return rest + " " + off
}

// mailTime picks an interaction's time: the Date header when it is
// plausible, else INTERNALDATE (the server's arrival time). A Date more
// than a day after arrival comes from a wrong clock; one before 1970 from
// a broken mailer. internal may be zero (a message read from a file).
func mailTime(date string, internal time.Time) time.Time {
	t, ok := parseDate(date)
	switch {
	case !ok, t.Year() < 1970, t.Year() > 9999:
		return internal.UTC()
	case !internal.IsZero() && t.After(internal.Add(24*time.Hour)):
		return internal.UTC()
	}
	return t.UTC()
}
