package imapsource

import (
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"

	"github.com/touchbase/touchbase/cadence"
)

// wordDecoder decodes RFC 2047 encoded words in any charset go-message
// knows (windows-125x, ISO-2022-JP, KOI8-R, ...), not only UTF-8 and
// Latin-1 as the standard library does alone.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// addressParser is net/mail's RFC 5322 parser with that decoder.
var addressParser = &mail.AddressParser{WordDecoder: wordDecoder}

// Length limits for what is stored: values beyond them are damage or abuse,
// not information.
const (
	maxNameBytes    = 200
	maxAddressBytes = 320 // RFC 5321: 64 + 1 + 255
)

// address is one parsed mailbox: a lower-cased address and a decoded name.
type address struct {
	Addr, Name string
}

// parseAddresses parses an address-list header value: RFC 5322 (groups,
// comments, encoded-word names) first, and when that fails a lenient split
// that still finds what looks like an address in each element, so one
// broken entry does not lose the rest. Entries without a usable address
// (Exchange DNs, "undisclosed-recipients:;") are dropped.
func parseAddresses(v string) []address {
	if v == "" {
		return nil
	}
	if list, ok := simpleList(v); ok {
		out := list[:0]
		for _, a := range list {
			if addr, ok := cleanAddress(a.Addr); ok {
				out = append(out, address{Addr: addr, Name: cleanText(a.Name, maxNameBytes)})
			}
		}
		return out
	}
	if list, err := addressParser.ParseList(v); err == nil {
		out := make([]address, 0, len(list))
		for _, a := range list {
			if addr, ok := cleanAddress(a.Address); ok {
				out = append(out, address{Addr: addr, Name: cleanText(a.Name, maxNameBytes)})
			}
		}
		return out
	}
	var out []address
	for _, part := range splitList(v) {
		if a, ok := lenientAddress(part); ok {
			out = append(out, a)
		}
	}
	return out
}

// simpleList parses, without allocating more than its result, the lists
// most mail carries: elements "local@domain" or "Some Name <local@domain>"
// of plain ASCII words, comma-separated. It returns the addresses and
// names as net/mail's parser would (not yet cleaned), and ok false for
// anything else (quotes, comments, groups, encoded words, dots or @ in a
// name, obsolete forms, empty elements), which that parser then reads.
func simpleList(v string) (list []address, ok bool) {
	if v == "" {
		return nil, false
	}
	n := strings.Count(v, ",") + 1
	list = make([]address, 0, n)
	for len(v) > 0 {
		elem := v
		if i := strings.IndexByte(v, ','); i >= 0 {
			elem, v = v[:i], v[i+1:]
			if v == "" {
				return nil, false // a trailing comma
			}
		} else {
			v = ""
		}
		a, ok := simpleAddress(strings.Trim(elem, " "))
		if !ok {
			return nil, false
		}
		list = append(list, a)
	}
	return list, true
}

// simpleAddress parses one simpleList element.
func simpleAddress(elem string) (address, bool) {
	lt := strings.IndexByte(elem, '<')
	if lt < 0 {
		return address{Addr: elem}, isDotAtomAddr(elem)
	}
	if elem[len(elem)-1] != '>' {
		return address{}, false
	}
	addr, phrase := elem[lt+1:len(elem)-1], strings.TrimRight(elem[:lt], " ")
	if !isDotAtomAddr(addr) || strings.Contains(phrase, "=?") { // an encoded word
		return address{}, false
	}
	// The name's words, single-spaced as the parser joins them.
	for i := 0; i < len(phrase); i++ {
		c := phrase[i]
		if c == ' ' && phrase[i+1] == ' ' || c != ' ' && !isAtext(c) {
			return address{}, false
		}
	}
	return address{Addr: addr, Name: phrase}, true
}

// isDotAtomAddr reports whether s is local@domain, both RFC 5322
// dot-atoms.
func isDotAtomAddr(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && isDotAtom(local) && isDotAtom(domain)
}

// isDotAtom reports whether s is atext runs joined by single dots.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '.' {
			if s[i+1] == '.' {
				return false
			}
		} else if !isAtext(c) {
			return false
		}
	}
	return true
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// splitList splits an address list at commas and semicolons that are not
// inside quotes, angle brackets or comments.
func splitList(v string) []string {
	var (
		parts        []string
		start, depth int
		quoted, esc  bool
		angle        bool
	)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case quoted:
			quoted = c != '"'
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case (c == ',' || c == ';') && !angle:
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	return append(parts, v[start:])
}

// lenientAddress finds the address in one list element: the last <...>
// holding an @, else the first word holding an @. The name is what precedes
// the <...>, or a comment after a bare address.
func lenientAddress(part string) (address, bool) {
	part = strings.TrimSpace(part)
	// A group label ("Team: a@b") ends at a colon before any address.
	if i := strings.IndexByte(part, ':'); i >= 0 && !strings.ContainsAny(part[:i], "<@\"") {
		part = strings.TrimSpace(part[i+1:])
	}
	if lt := strings.LastIndexByte(part, '<'); lt >= 0 {
		inner := part[lt+1:]
		if gt := strings.IndexByte(inner, '>'); gt >= 0 {
			inner = inner[:gt]
		}
		// Obsolete syntax allows comments and spaces inside: <a @ b(c).d>.
		inner = strings.Join(strings.Fields(stripComments(inner)), "")
		if addr, ok := cleanAddress(inner); ok {
			return address{Addr: addr, Name: decodeName(part[:lt])}, true
		}
		return address{}, false
	}
	name := ""
	if i := strings.IndexByte(part, '('); i >= 0 {
		if j := strings.LastIndexByte(part, ')'); j > i {
			name = part[i+1 : j]
			part = part[:i] + " " + part[j+1:]
		}
	}
	for _, w := range strings.Fields(part) {
		if strings.Contains(w, "@") {
			if addr, ok := cleanAddress(w); ok {
				return address{Addr: addr, Name: decodeName(name)}, true
			}
		}
	}
	return address{}, false
}

// decodeName unquotes and decodes a display name.
func decodeName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		s = strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`)
	}
	return decodeText(s, maxNameBytes)
}

// cleanAddress normalises an address (lower case, IDNA domain) and reports
// whether it is usable: a local part and a dotted domain, no spaces or
// controls.
func cleanAddress(s string) (string, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"'<>`)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > maxAddressBytes || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", false
		}
	}
	s = cadence.NormAddress(s)
	// A domain without a dot is no Internet address: Lotus Notes routing
	// ("Tim Belden/HOU/ECT@ECT"), a local alias; no customer has one.
	if dom := s[strings.LastIndexByte(s, '@')+1:]; !strings.Contains(strings.Trim(dom, "."), ".") {
		return "", false
	}
	return s, true
}

// decodeText decodes RFC 2047 words in s and returns valid UTF-8 of at
// most max bytes, whitespace runs collapsed. Bytes that are not UTF-8 (raw
// 8-bit headers) were converted before; anything left is replaced.
func decodeText(s string, max int) string {
	if strings.Contains(s, "=?") {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			s = d
		}
	}
	return cleanText(s, max)
}

// cleanText makes s valid single-line UTF-8 of at most max bytes.
func cleanText(s string, max int) string {
	if len(s) <= max && isCleanASCII(s) {
		return s // the usual case, as it would come out below
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// isCleanASCII reports whether s is printable ASCII whose only whitespace
// is single spaces between words: what cleanText makes of it is s itself.
func isCleanASCII(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c >= 0x7f || c == ' ' && s[i+1] == ' ' {
			return false
		}
	}
	return true
}
