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
