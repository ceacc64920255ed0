package e2e

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/touchbase/touchbase/demo"
	"github.com/touchbase/touchbase/internal/testbed"
)

// Seeding twice must leave exactly the history, read back over the
// protocols the daemon uses.
func TestSeedIMAPReadsBack(t *testing.T) {
	env := testbed.Up(t)
	h := demo.Scenario(time.Now())
	seedIMAP(t, env, h)
	seedIMAP(t, env, h) // a rerun replaces, never adds

	c, err := demo.DialIMAP(t.Context(), env["TESTBED_IMAP_ADDR"], daveUser, davePass)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent, err := demo.SentMailbox(c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, m := range h.Mails {
		want[m.Folder]++
	}
	for folder, box := range map[string]string{demo.Inbox: demo.Inbox, demo.Sent: sent} {
		st, err := c.Status(box, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if got := int(*st.NumMessages); got != want[folder] || got == 0 {
			t.Errorf("%s (%s): got %d messages, want %d", folder, box, got, want[folder])
		}
	}
	// INTERNALDATE and flags survive: the oldest INBOX message is the
	// history's oldest INBOX mail.
	if _, err := c.Select(demo.Inbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true, InternalDate: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch 1: %v", err)
	}
	var first demo.Mail
	for _, m := range h.Mails {
		if m.Folder == demo.Inbox {
			first = m
			break
		}
	}
	if msgs[0].Envelope.MessageID != first.MessageID || !msgs[0].InternalDate.Equal(first.Date) {
		t.Errorf("first INBOX message: got %s at %v, want %s at %v",
			msgs[0].Envelope.MessageID, msgs[0].InternalDate, first.MessageID, first.Date)
	}
}

func TestSeedCalDAVReadsBack(t *testing.T) {
	env := testbed.Up(t)
	h := demo.Scenario(time.Now())
	seedCalDAV(t, env, h)
	seedCalDAV(t, env, h)

	objs, err := queryDave(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	want := uniqueEvents(h)
	got := map[string]bool{}
	for _, o := range objs {
		for _, ev := range o.Data.Events() {
			uid, _ := ev.Props.Text("UID")
			got[uid] = true
		}
	}
	if len(objs) != len(want) || len(got) != len(want) {
		t.Errorf("got %d objects with %d UIDs, want %d", len(objs), len(got), len(want))
	}
	for _, e := range want {
		if !got[e.UID] {
			t.Errorf("missing %s", e.UID)
		}
	}
}
