package imapsource

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// mailbox is one folder as LIST reports it.
type mailbox struct {
	Name   string
	Attrs  []imap.MailboxAttr
	Status *imap.StatusData // with LIST-STATUS; nil otherwise
}

func (m mailbox) has(attr imap.MailboxAttr) bool {
	for _, a := range m.Attrs {
		// Cyrus sends special-use attributes in lower case.
		if strings.EqualFold(string(a), string(attr)) {
			return true
		}
	}
	return false
}

func (m mailbox) selectable() bool {
	return !m.has(imap.MailboxAttrNoSelect) && !m.has(imap.MailboxAttrNonExistent)
}

// fallbackNames are the usual names of special-use folders, tried only
// when no folder carries the attribute (servers without SPECIAL-USE, RFC
// 6154): the attribute comes first because Gmail localises the names.
var fallbackNames = map[imap.MailboxAttr][]string{
	imap.MailboxAttrSent: {"Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent",
		"INBOX/Sent", "[Gmail]/Sent Mail", "Gesendet", "Gesendete Objekte", "Envoyés", "Éléments envoyés"},
	imap.MailboxAttrAll: {"[Gmail]/All Mail", "All Mail", "Archive"},
}

// statusOptions are the STATUS items a pass compares with the stored state.
func statusOptions(caps imap.CapSet) *imap.StatusOptions {
	return &imap.StatusOptions{UIDNext: true, UIDValidity: true, HighestModSeq: caps.Has(imap.CapCondStore)}
}

// list returns every folder, with special-use attributes where the server
// has SPECIAL-USE and with each folder's status where it has LIST-STATUS
// (RFC 5819): then one round trip tells which folders changed.
func list(sess *session) ([]mailbox, error) {
	opts := &imap.ListOptions{}
	extended := sess.caps.Has(imap.CapListExtended)
	if sess.caps.Has(imap.CapSpecialUse) && extended {
		opts.ReturnSpecialUse = true
	}
	if sess.caps.Has(imap.CapListStatus) {
		opts.ReturnStatus = statusOptions(sess.caps)
	}
	if !extended && opts.ReturnStatus == nil {
		opts = nil // plain LIST for IMAP4rev1 servers without LIST-EXTENDED
	}
	data, err := sess.c.List("", "*", opts).Collect()
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	out := make([]mailbox, 0, len(data))
	for _, d := range data {
		out = append(out, mailbox{Name: d.Mailbox, Attrs: d.Attrs, Status: d.Status})
	}
	return out, nil
}

// resolve picks the folders to sync. Each wanted entry is a folder name
// (INBOX in any case) or a special-use attribute such as `\Sent` or `\All`
// (Gmail's All Mail). An empty want means INBOX and the \Sent folder, where
// a missing \Sent folder is fine; a configured folder that does not exist
// is an error. The result has no duplicates.
func resolve(want []string, boxes []mailbox) ([]mailbox, error) {
	optional := false
	if len(want) == 0 {
		want, optional = []string{"INBOX", string(imap.MailboxAttrSent)}, true
	}
	var out []mailbox
	seen := map[string]bool{}
	for _, w := range want {
		m, ok := find(w, boxes)
		if !ok {
			if optional && w != "INBOX" {
				continue
			}
			return nil, fmt.Errorf("folder %q not found on the server", w)
		}
		if !seen[m.Name] {
			seen[m.Name] = true
			out = append(out, m)
		}
	}
	return out, nil
}

// find looks a wanted folder up by name or special-use attribute.
func find(w string, boxes []mailbox) (mailbox, bool) {
	if strings.HasPrefix(w, `\`) {
		attr := imap.MailboxAttr(w)
		for _, m := range boxes {
			if m.has(attr) && m.selectable() {
				return m, true
			}
		}
		for name, names := range fallbackNames {
			if !strings.EqualFold(string(name), w) {
				continue
			}
			for _, n := range names {
				if m, ok := find(n, boxes); ok {
					return m, true
				}
			}
		}
		return mailbox{}, false
	}
	for _, m := range boxes {
		if (m.Name == w || strings.EqualFold(w, "INBOX") && strings.EqualFold(m.Name, "INBOX")) && m.selectable() {
			return m, true
		}
	}
	return mailbox{}, false
}
