package imapsource

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"

	"github.com/touchbase/touchbase/cadence"
)

// Limits on stored values.
const (
	maxSubjectBytes = 998 // RFC 5322 line length
	maxIDBytes      = 998
	maxReferences   = 50 // the nearest ancestors; threading needs no more
)

// skipReason says why a message yields no interaction.
type skipReason string

const (
	keep      skipReason = ""
	noAddress skipReason = "no_address" // no usable From/To/Cc/Bcc address
	noTime    skipReason = "no_time"    // no usable Date and no INTERNALDATE
)

// classify turns one message's header block into an interaction of
// account: participants, time, threading ids, key, and the source-set
// filter (SPEC: automated, bulk, list, bounce, auto-reply). It is the one
// path for both IMAP FETCH results and raw message files (tests, fuzzing).
// internal is the server's INTERNALDATE, zero when unknown. A message
// without any participant address or time is skipped with a reason.
func classify(raw []byte, internal time.Time, account string) (cadence.Interaction, skipReason) {
	h := parseHeader(raw)
	h.toUTF8()
	// Room for the usual sender and a few recipients, allocated once.
	in := cadence.Interaction{Kind: cadence.Email, Account: account, Participants: make([]cadence.Participant, 0, 4)}
	for _, r := range []struct {
		f    field
		role cadence.Role
	}{{fFrom, cadence.From}, {fTo, cadence.To}, {fCc, cadence.Cc}, {fBcc, cadence.Bcc}} {
		for _, a := range parseAddresses(h[r.f]) {
			in.Participants = appendParticipant(in.Participants, cadence.Participant{Address: a.Addr, Name: a.Name, Role: r.role})
		}
	}
	if len(in.Participants) == 0 {
		return cadence.Interaction{}, noAddress
	}
	if in.Participants[0].Role == cadence.From {
		in.Sender = in.Participants[0].Address
	} else if s := parseAddresses(h[fSender]); len(s) > 0 {
		in.Sender = s[0].Addr
	}
	in.At = mailTime(h[fDate], internal)
	if in.At.IsZero() {
		return cadence.Interaction{}, noTime
	}
	in.Subject = decodeText(h[fSubject], maxSubjectBytes)
	in.MessageID = firstID(h[fMessageID])
	in.InReplyTo = firstID(h[fInReplyTo])
	in.References = idList(h[fReferences])
	if in.MessageID != "" {
		in.Key = cadence.MailKey(in.MessageID)
	} else {
		in.Key = cadence.DigestKey(digest(&h))
	}
	in.Filter = h.filter(in.Subject, in.Sender)
	return in, keep
}

// appendParticipant adds p unless the same address already has that role.
func appendParticipant(ps []cadence.Participant, p cadence.Participant) []cadence.Participant {
	for _, q := range ps {
		if q.Address == p.Address && q.Role == p.Role {
			return ps
		}
	}
	return append(ps, p)
}

// toUTF8 converts raw 8-bit values (headers written without RFC 2047, as
// old Outlook did) to UTF-8: in the charset the Content-Type names when it
// names one, else as Windows-1252, the usual culprit.
func (h *header) toUTF8() {
	cs := ""
	for f, v := range h {
		if utf8.ValidString(v) {
			continue
		}
		if cs == "" {
			cs = "windows-1252"
			if _, params, err := mime.ParseMediaType(h[fContentType]); err == nil && params["charset"] != "" {
				cs = params["charset"]
			}
		}
		h[f] = convert(v, cs)
	}
}

// convert decodes v from charset cs, falling back to Windows-1252.
func convert(v, cs string) string {
	for _, c := range []string{cs, "windows-1252"} {
		r, err := charset.Reader(c, strings.NewReader(v))
		if err != nil {
			continue
		}
		if b, err := io.ReadAll(r); err == nil && utf8.Valid(b) {
			return string(b)
		}
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// firstID returns the first message id in v without angle brackets; a
// value without brackets is taken up to the first space.
func firstID(v string) string {
	if ids := idList(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// idList returns the message ids in v (a References or In-Reply-To value),
// without angle brackets, oldest first, at most maxReferences (the last).
func idList(v string) []string {
	var ids []string
	rest := v
	for {
		lt := strings.IndexByte(rest, '<')
		if lt < 0 {
			break
		}
		gt := strings.IndexByte(rest[lt:], '>')
		if gt < 0 {
			break
		}
		if id := cleanID(rest[lt+1 : lt+gt]); id != "" {
			ids = append(ids, id)
		}
		rest = rest[lt+gt+1:]
	}
	if len(ids) == 0 && !strings.ContainsAny(v, "<>") {
		for _, w := range strings.Fields(v) {
			if id := cleanID(w); id != "" && strings.Contains(id, "@") {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) > maxReferences {
		ids = ids[len(ids)-maxReferences:]
	}
	return ids
}

// cleanID validates one message id: printable, no spaces, bounded.
func cleanID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxIDBytes || !utf8.ValidString(s) {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return ""
		}
	}
	return s
}

// digest identifies a message without Message-ID by what every copy of it
// carries unchanged: Date, From, To and Subject as written (whitespace
// collapsed, so refolding by a server does not matter).
func digest(h *header) string {
	sum := sha256.New()
	for _, f := range []field{fDate, fFrom, fTo, fSubject} {
		io.WriteString(sum, strings.Join(strings.Fields(h[f]), " "))
		sum.Write([]byte{0})
	}
	return hex.EncodeToString(sum.Sum(nil))
}
