package demo

import (
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// person is a mail address with a display name. latin1 names are encoded
// as ISO-8859-1 encoded-words (RFC 2047), as older mail clients still do,
// so readers must handle charsets other than UTF-8.
type person struct {
	name   string
	addr   string
	latin1 bool
}

func (p person) domain() string {
	_, d, _ := strings.Cut(p.addr, "@")
	return d
}

// header renders the person for an address header.
func (p person) header() string {
	if p.name == "" {
		return "<" + p.addr + ">"
	}
	if p.latin1 {
		b := make([]byte, 0, len(p.name))
		for _, r := range p.name {
			b = append(b, byte(r)) // the names used are all in Latin-1
		}
		return mime.QEncoding.Encode("iso-8859-1", string(b)) + " <" + p.addr + ">"
	}
	return (&mail.Address{Name: p.name, Address: p.addr}).String()
}

// message is one mail before rendering.
type message struct {
	id         string // Message-ID without <>
	from       person
	sender     *person // Sender header, when someone sends on behalf of From
	to, cc     []person
	subject    string
	date       time.Time // in the sender's zone: it shows in the Date header
	inReplyTo  string
	references []string
	extra      [][2]string // more headers, in order
	body       string      // plain text, lines separated by \n
	rawBody    string      // a complete MIME body; overrides body
	ctype      string      // Content-Type for rawBody

	unseen   bool // the recipient has not read it yet
	answered bool // the recipient replied
}

// reply starts a message answering m: same thread, "Re:" subject.
func (m *message) reply(from person, to []person, date time.Time, body string) *message {
	refs := append(append([]string(nil), m.references...), m.id)
	subject := m.subject
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	return &message{
		from: from, to: to, subject: subject, date: date,
		inReplyTo: m.id, references: refs, body: body,
	}
}

// render produces the RFC 5322 form with CRLF line endings.
func (m *message) render() []byte {
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("Message-ID", "<"+m.id+">")
	h("Date", m.date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	h("From", m.from.header())
	if m.sender != nil {
		h("Sender", m.sender.header())
	}
	if len(m.to) > 0 {
		h("To", addressList(m.to))
	}
	if len(m.cc) > 0 {
		h("Cc", addressList(m.cc))
	}
	h("Subject", mime.QEncoding.Encode("utf-8", m.subject))
	if m.inReplyTo != "" {
		h("In-Reply-To", "<"+m.inReplyTo+">")
		refs := make([]string, len(m.references))
		for i, r := range m.references {
			refs[i] = "<" + r + ">"
		}
		// One id per line keeps long threads within the line limit.
		h("References", strings.Join(refs, "\r\n "))
	}
	for _, kv := range m.extra {
		h(kv[0], kv[1])
	}
	h("MIME-Version", "1.0")
	if m.rawBody != "" {
		h("Content-Type", m.ctype)
		b.WriteString("\r\n" + crlf(m.rawBody))
		return []byte(b.String())
	}
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "7bit")
	b.WriteString("\r\n" + crlf(m.body))
	return []byte(b.String())
}

func addressList(ps []person) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.header()
	}
	return strings.Join(s, ",\r\n ")
}

// crlf turns \n line ends into CRLF and ends the text with one.
func crlf(s string) string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	return strings.ReplaceAll(s, "\n", "\r\n") + "\r\n"
}

// bounceBody is a delivery status notification (RFC 3464) for orig.
func bounceBody(orig *message, mta, boundary string) (ctype, body string) {
	ctype = fmt.Sprintf("multipart/report; report-type=delivery-status;\r\n boundary=%q", boundary)
	rcpt := orig.to[0].addr
	body = fmt.Sprintf(`This is a MIME-encapsulated message.

--%[1]s
Content-Type: text/plain; charset=us-ascii

This is the mail system at host %[2]s.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<%[3]s>: host %[2]s said: 550 5.1.1 User unknown

--%[1]s
Content-Type: message/delivery-status

Reporting-MTA: dns; %[2]s
Arrival-Date: %[4]s

Final-Recipient: rfc822; %[3]s
Original-Recipient: rfc822;%[3]s
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <%[3]s>: Recipient address rejected:
    User unknown in virtual mailbox table

--%[1]s
Content-Type: text/rfc822-headers

Message-ID: <%[5]s>
Date: %[4]s
From: %[6]s
To: %[3]s
Subject: %[7]s

--%[1]s--
`, boundary, mta, rcpt, orig.date.Format("Mon, 02 Jan 2006 15:04:05 -0700"), orig.id, orig.from.addr, orig.subject)
	return ctype, body
}

// flags for one copy of m in folder.
func (m *message) flags(folder string) []imap.Flag {
	if folder == Sent {
		return []imap.Flag{imap.FlagSeen}
	}
	var fs []imap.Flag
	if !m.unseen {
		fs = append(fs, imap.FlagSeen)
	}
	if m.answered {
		fs = append(fs, imap.FlagAnswered)
	}
	return fs
}
