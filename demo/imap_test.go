package demo

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

var demoUsers = map[string]string{anna.addr: "anna-pass", ben.addr: "ben-pass"}

func startIMAP(t *testing.T, h *History) string {
	t.Helper()
	addr, stop, err := StartIMAP(t.Context(), demoUsers, h.Mails)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

func TestStartIMAPServesTheHistory(t *testing.T) {
	h := Scenario(nows[0].now)
	addr := startIMAP(t, h)
	for user, pass := range demoUsers {
		t.Run(user, func(t *testing.T) {
			c, err := DialIMAP(t.Context(), addr, user, pass)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sentCount := 0
			for _, m := range h.Mails {
				if m.Owner == user && m.Folder == Sent {
					sentCount++
				}
			}
			withStatus := &imap.ListOptions{ReturnSpecialUse: true, ReturnStatus: &imap.StatusOptions{NumMessages: true}}
			for _, opts := range []*imap.ListOptions{nil, {ReturnSpecialUse: true}, withStatus} {
				boxes, err := c.List("", "*", opts).Collect()
				if err != nil {
					t.Fatal(err)
				}
				if got := sentOf(boxes); got != Sent {
					t.Errorf("LIST %+v: mailbox with \\Sent: got %q, want %q", opts, got, Sent)
				}
				for _, b := range boxes {
					if opts == withStatus && b.Mailbox == Sent && (b.Status == nil || *b.Status.NumMessages != uint32(sentCount)) {
						t.Errorf("LIST-STATUS of Sent: got %+v, want %d messages", b.Status, sentCount)
					}
				}
			}
			for _, folder := range []string{Inbox, Sent} {
				var want []Mail
				for _, m := range h.Mails {
					if m.Owner == user && m.Folder == folder {
						want = append(want, m)
					}
				}
				st, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
				if err != nil {
					t.Fatal(err)
				}
				if *st.NumMessages != uint32(len(want)) || len(want) == 0 {
					t.Errorf("%s: got %d messages, want %d (and more than 0)", folder, *st.NumMessages, len(want))
				}
				checkFirst(t, c, folder, want[0])
			}
		})
	}
}

func sentOf(boxes []*imap.ListData) string {
	for _, b := range boxes {
		if slices.Contains(b.Attrs, imap.MailboxAttrSent) {
			return b.Mailbox
		}
	}
	return ""
}

// checkFirst checks UID 1 of folder: INTERNALDATE is the Date, flags kept.
func checkFirst(t *testing.T, c *imapclient.Client, folder string, want Mail) {
	t.Helper()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{InternalDate: true, Flags: true, Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch UID 1 of %s: %v (%d messages)", folder, err, len(msgs))
	}
	m := msgs[0]
	if !m.InternalDate.Equal(want.Date) {
		t.Errorf("%s UID 1 INTERNALDATE: got %v, want %v", folder, m.InternalDate, want.Date)
	}
	if m.Envelope.MessageID != want.MessageID {
		t.Errorf("%s UID 1 Message-ID: got %q, want %q", folder, m.Envelope.MessageID, want.MessageID)
	}
	got, exp := slices.Clone(m.Flags), slices.Clone(want.Flags)
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		t.Errorf("%s UID 1 flags: got %v, want %v", folder, m.Flags, want.Flags)
	}
}

func TestStartIMAPRejectsBadLogin(t *testing.T) {
	addr := startIMAP(t, &History{})
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", anna.addr, "nope"},
		{"unknown user", "eve@northwind.test", "anna-pass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := DialIMAP(t.Context(), addr, tc.user, tc.pass); err == nil {
				c.Close()
				t.Fatal("login succeeded")
			}
		})
	}
}

func TestAppendIMAPGoesToTheSentFolder(t *testing.T) {
	h := Scenario(nows[0].now)
	addr := startIMAP(t, h)
	m, _ := h.RecoveryMail(h.Now.Add(time.Minute))
	if err := AppendIMAP(t.Context(), addr, ben.addr, demoUsers[ben.addr], []Mail{m}); err != nil {
		t.Fatal(err)
	}
	c, err := DialIMAP(t.Context(), addr, ben.addr, demoUsers[ben.addr])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sel, err := c.Select(Sent, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(sel.NumMessages), &imap.FetchOptions{Envelope: true, InternalDate: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch last: %v", err)
	}
	if got := msgs[0].Envelope.MessageID; got != m.MessageID || !msgs[0].InternalDate.Equal(m.Date) {
		t.Errorf("last Sent message: got %q at %v, want %q at %v", got, msgs[0].InternalDate, m.MessageID, m.Date)
	}
}

func TestStartIMAPStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addr, stop, err := StartIMAP(ctx, demoUsers, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c, err := DialIMAP(t.Context(), addr, anna.addr, demoUsers[anna.addr])
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-c.Closed() // the open connection is closed, not left hanging
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Fatal("still accepting connections after ctx ended")
	}
}

// A mail appended by one connection reaches another one waiting in IDLE,
// as the daemon's watcher relies on (RFC 2177).
func TestStartIMAPPushesNewMailToIdle(t *testing.T) {
	h := Scenario(nows[0].now)
	addr := startIMAP(t, h)
	exists := make(chan uint32, 4)
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ben.addr, demoUsers[ben.addr]).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(Sent, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := h.RecoveryMail(h.Now.Add(time.Minute))
	if err := AppendIMAP(t.Context(), addr, ben.addr, demoUsers[ben.addr], []Mail{m}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-exists:
		if got != sel.NumMessages+1 {
			t.Errorf("EXISTS during IDLE: got %d, want %d", got, sel.NumMessages+1)
		}
	case <-time.After(10 * time.Second): // only keeps a broken server from hanging the test
		t.Fatal("no EXISTS during IDLE after the append")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
}
