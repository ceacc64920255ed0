package imapsource

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/touchbase/touchbase/cadence"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// internalDate is the INTERNALDATE the fixtures are classified with.
var internalDate = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// TestClassifyGolden classifies each testdata/mail/*.eml and compares the
// result with the reviewed NAME.golden.json beside it (-update rewrites).
func TestClassifyGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/mail/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in, skip := classify(raw, internalDate, "bob")
			got, err := json.MarshalIndent(struct {
				Skip        skipReason           `json:"skip,omitempty"`
				Interaction *cadence.Interaction `json:"interaction,omitempty"`
			}{skip, ptrIf(in, skip == keep)}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(file, ".eml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("classify(%s) =\n%s\nwant\n%s", file, got, want)
			}
		})
	}
}

func ptrIf(in cadence.Interaction, ok bool) *cadence.Interaction {
	if !ok {
		return nil
	}
	return &in
}

// TestDigestKeyStable gives a message without Message-ID the same key in
// every folder and account, however its header is folded.
func TestDigestKeyStable(t *testing.T) {
	a := "Date: Mon, 2 Mar 2026 07:00:00 +0000\r\nFrom: ann@acme.test\r\nTo: bob@example.test, carl@acme.test\r\nSubject: Hello there\r\n\r\n"
	b := "Subject: Hello\r\n  there\r\nTo: bob@example.test,\r\n carl@acme.test\r\nFrom:  ann@acme.test\r\nDate: Mon, 2 Mar 2026\r\n 07:00:00 +0000\r\n\r\n"
	c := strings.Replace(a, "Hello there", "Hello here", 1)
	ka, _ := classify([]byte(a), internalDate, "bob")
	kb, _ := classify([]byte(b), internalDate.Add(time.Hour), "alice")
	kc, _ := classify([]byte(c), internalDate, "bob")
	if !strings.HasPrefix(ka.Key, "dig:") || ka.Key != kb.Key {
		t.Errorf("keys %q and %q: want one digest key for both copies", ka.Key, kb.Key)
	}
	if kc.Key == ka.Key {
		t.Error("a different subject gave the same digest key")
	}
}

// TestMailTime picks the Date header when plausible, else INTERNALDATE.
func TestMailTime(t *testing.T) {
	internal := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		date string
		want time.Time
	}{
		{"Tue, 3 Mar 2026 09:15:00 +0100", time.Date(2026, 3, 3, 8, 15, 0, 0, time.UTC)},
		{"3 Mar 2026 09:15:00 EST", time.Date(2026, 3, 3, 14, 15, 0, 0, time.UTC)},
		{"Tue, 3 Mar 2026 09:15:00 -0800 (PST)", time.Date(2026, 3, 3, 17, 15, 0, 0, time.UTC)},
		{"Tue, 03 Mar 26 09:15 +0000", time.Date(2026, 3, 3, 9, 15, 0, 0, time.UTC)},
		{"Tue Mar  3 09:15:00 2026", time.Date(2026, 3, 3, 9, 15, 0, 0, time.UTC)},
		{"Tue, 3 Mar 2026 09:15:00 +0000 GMT", time.Date(2026, 3, 3, 9, 15, 0, 0, time.UTC)},
		{"", internal},
		{"garbage", internal},
		{"Sat, 31 Dec 0001 05:26:54 -0800 (PST)", internal},                                // broken mailer
		{"Mon, 2 Mar 2099 07:00:00 +0000", internal},                                       // clock in the future
		{"Tue, 10 Mar 2026 20:00:00 +0000", time.Date(2026, 3, 10, 20, 0, 0, 0, time.UTC)}, // within a day: time zones
	} {
		if got := mailTime(tc.date, internal); !got.Equal(tc.want) {
			t.Errorf("mailTime(%q) = %v, want %v", tc.date, got, tc.want)
		}
	}
}

// TestResolve picks folders by name and special-use attribute.
func TestResolve(t *testing.T) {
	attrs := func(a ...imap.MailboxAttr) []imap.MailboxAttr { return a }
	gmail := []mailbox{
		{Name: "INBOX"},
		{Name: "[Gmail]", Attrs: attrs(imap.MailboxAttrNoSelect)},
		{Name: "[Gmail]/Gesendet", Attrs: attrs(imap.MailboxAttrSent)},
		{Name: "[Gmail]/Alle Nachrichten", Attrs: attrs(imap.MailboxAttrAll)},
		{Name: "Sent"}, // a user folder that only looks like it
	}
	plain := []mailbox{{Name: "INBOX"}, {Name: "INBOX.Sent"}, {Name: "Projects"}}
	cyrus := []mailbox{{Name: "INBOX"}, {Name: "Sent Items", Attrs: attrs(`\sent`)}}
	for _, tc := range []struct {
		name  string
		want  []string
		boxes []mailbox
		got   []string
		err   bool
	}{
		{"default: INBOX and the \\Sent folder by attribute", nil, gmail, []string{"INBOX", "[Gmail]/Gesendet"}, false},
		{"default without SPECIAL-USE: by name", nil, plain, []string{"INBOX", "INBOX.Sent"}, false},
		{"default, attribute in lower case (Cyrus)", nil, cyrus, []string{"INBOX", "Sent Items"}, false},
		{"default without any sent folder", nil, []mailbox{{Name: "INBOX"}}, []string{"INBOX"}, false},
		{"gmail all mail", []string{`\All`}, gmail, []string{"[Gmail]/Alle Nachrichten"}, false},
		{"names, inbox in any case, no duplicates", []string{"inbox", "Projects", "INBOX"}, plain, []string{"INBOX", "Projects"}, false},
		{"missing configured folder", []string{"INBOX", "Nope"}, plain, nil, true},
		{"missing configured attribute", []string{`\Archive`}, plain, nil, true},
		{"not selectable", []string{"[Gmail]"}, gmail, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolve(tc.want, tc.boxes)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %t", err, tc.err)
			}
			var names []string
			for _, m := range got {
				names = append(names, m.Name)
			}
			if strings.Join(names, "|") != strings.Join(tc.got, "|") {
				t.Errorf("resolve = %q, want %q", names, tc.got)
			}
		})
	}
}

// TestCursor never lets a checkpoint claim a UID that has not arrived.
func TestCursor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    []imap.UID
		arrived []imap.UID
		next    imap.UID
	}{
		{"nothing yet", []imap.UID{3, 5, 9}, nil, 3},
		{"in order", []imap.UID{3, 5, 9}, []imap.UID{3, 5}, 9},
		{"all", []imap.UID{3, 5, 9}, []imap.UID{3, 5, 9}, 100},
		{"out of order", []imap.UID{3, 5, 9}, []imap.UID{5, 9}, 3},
		{"out of order, gap filled", []imap.UID{3, 5, 9}, []imap.UID{5, 3}, 9},
		{"nothing wanted", nil, nil, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCursor(tc.want)
			for _, u := range tc.arrived {
				c.got(u)
			}
			if got := c.next(100); got != tc.next {
				t.Errorf("next = %d, want %d", got, tc.next)
			}
		})
	}
}

// TestXOAUTH2 encodes the initial response as Google and Microsoft
// document it, and answers an error challenge with an empty response.
func TestXOAUTH2(t *testing.T) {
	x := &xoauth2{user: "bob@example.test", token: "ya29.tok"}
	mech, ir, err := x.Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=bob@example.test\x01auth=Bearer ya29.tok\x01\x01" {
		t.Errorf("Start = %q, %q, %v", mech, ir, err)
	}
	resp, err := x.Next([]byte(`{"status":"400"}`))
	if err != nil || len(resp) != 0 || resp == nil {
		t.Errorf("Next = %q, %v; want an empty response", resp, err)
	}
}
