package imapsource

import (
	"bytes"
	"strings"
)

// field is one header field the classification reads.
type field int

// The header fields a sync fetches (BODY.PEEK[HEADER.FIELDS (...)]); every
// other field, and every body, stays on the server.
const (
	fDate field = iota
	fFrom
	fSender
	fTo
	fCc
	fBcc
	fSubject
	fMessageID
	fInReplyTo
	fReferences
	fAutoSubmitted
	fPrecedence
	fListID
	fListUnsubscribe
	fXAutoreply
	fXAutorespond
	fReturnPath
	fContentType
	fXFailedRecipients
	numFields
)

// fieldNames are the fields' names as sent in HEADER.FIELDS, by field.
var fieldNames = [numFields]string{
	fDate:              "Date",
	fFrom:              "From",
	fSender:            "Sender",
	fTo:                "To",
	fCc:                "Cc",
	fBcc:               "Bcc",
	fSubject:           "Subject",
	fMessageID:         "Message-ID",
	fInReplyTo:         "In-Reply-To",
	fReferences:        "References",
	fAutoSubmitted:     "Auto-Submitted",
	fPrecedence:        "Precedence",
	fListID:            "List-Id",
	fListUnsubscribe:   "List-Unsubscribe",
	fXAutoreply:        "X-Autoreply",
	fXAutorespond:      "X-Autorespond",
	fReturnPath:        "Return-Path",
	fContentType:       "Content-Type",
	fXFailedRecipients: "X-Failed-Recipients",
}

// fieldByName maps a field name, lower-case or as in fieldNames, to its
// field: most messages spell names as fieldNames does, and looking those
// up as they are saves lower-casing each.
var fieldByName = func() map[string]field {
	m := make(map[string]field, 2*numFields)
	for f, name := range fieldNames {
		m[name] = field(f)
		m[strings.ToLower(name)] = field(f)
	}
	return m
}()

// lookupField returns the field called name, in any case.
func lookupField(name []byte) (field, bool) {
	if f, ok := fieldByName[string(name)]; ok { // no allocation
		return f, true
	}
	f, ok := fieldByName[strings.ToLower(string(name))]
	return f, ok
}

// header holds the unfolded raw values of the fields a sync reads. The
// first occurrence of a field wins, except address fields, whose repeated
// occurrences (a broken but common sight) are joined into one list.
type header [numFields]string

// has reports whether the field was present with a non-blank value.
func (h *header) has(f field) bool { return h[f] != "" }

// maxHeaderBytes bounds how much of a header block is read: a 210 KB
// header exists in the wild, but what we need sits well within this.
const maxHeaderBytes = 1 << 20

// parseHeader reads the header block at the start of raw (a whole message,
// or the HEADER.FIELDS literal of a FETCH) leniently: any line ending, a
// UTF-8 BOM, an mbox "From " line, leading blank lines, obsolete "Name :"
// syntax and lines that are not fields are all tolerated. It never fails;
// a block it cannot make sense of yields an empty header.
func parseHeader(raw []byte) header {
	if len(raw) > maxHeaderBytes {
		raw = raw[:maxHeaderBytes]
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	var vals [numFields][]byte // appended to, so long folded fields stay linear
	var seen [numFields]bool
	cur := field(-1) // the field continuation lines extend
	started := false
loop:
	for len(raw) > 0 {
		var line []byte
		line, raw = cutLine(raw)
		blank := len(bytes.TrimSpace(line)) == 0
		switch {
		case blank && !started:
			continue // blank lines before the first field
		case len(line) == 0:
			break loop // the empty line that ends the header block
		case blank:
			continue // obsolete syntax: a whitespace-only line inside a folded field
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur >= 0 {
				vals[cur] = append(append(vals[cur], ' '), bytes.TrimSpace(line)...)
			}
			continue
		}
		if !started && (bytes.HasPrefix(line, []byte("From ")) || bytes.HasPrefix(line, []byte(">From "))) {
			continue // mbox separator
		}
		started = true
		cur = -1
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // not a field: ignore it rather than lose the rest
		}
		f, known := lookupField(bytes.TrimSpace(name))
		if !known {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case !seen[f]:
			// A slice of raw until a continuation or repetition appends:
			// full, so that append copies rather than overwrite raw.
			seen[f] = true
			vals[f] = value[:len(value):len(value)]
			cur = f
		case f == fTo || f == fCc || f == fBcc:
			if len(value) > 0 {
				vals[f] = append(append(vals[f], ", "...), value...)
			}
			cur = f
		}
	}
	var h header
	for f, v := range vals {
		h[f] = string(bytes.TrimSpace(v))
	}
	return h
}

// cutLine splits off the first line of b, ending at LF, CRLF or a lone CR.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexAny(b, "\r\n")
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if b[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
		rest = rest[1:]
	}
	return line, rest
}
