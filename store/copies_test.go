package store

import (
	"slices"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// TestAnyCopyCounts: a customer's mail to a group lands with List-Id in a
// member's mailbox and directly in the owner's INBOX. Whichever copy is
// read first, the interaction counts, evaluation sees it (change log),
// and each copy keeps its own filter and account.
func TestAnyCopyCounts(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	group := mail("q@cust.test", at, cadence.List, "ann@cust.test", "team@us.test")
	direct := mail("q@cust.test", at, cadence.Counts, "ann@cust.test", "owner@us.test")
	type copy struct {
		account string
		in      cadence.Interaction
	}
	for _, tc := range []struct {
		name  string
		order []copy
		batch bool // the copies come in one SaveMail
		want  cadence.Filter
	}{
		{"group copy first", []copy{{"member", group}, {"owner", direct}}, false, cadence.Counts},
		{"direct copy first", []copy{{"owner", direct}, {"member", group}}, false, cadence.Counts},
		{"only the group copy", []copy{{"member", group}}, false, cadence.List},
		{"both copies in one batch", []copy{{"owner", group}, {"owner", direct}}, true, cadence.Counts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t)
			ctx := t.Context()
			pos, err := s.LoadInteractions(ctx, time.Time{}, func(int64, *cadence.Interaction) {})
			if err != nil {
				t.Fatal(err)
			}
			if tc.batch {
				if _, err := s.SaveMail(ctx, "owner", "INBOX", []cadence.Interaction{group, direct}, FolderState{UIDValidity: 1, UIDNext: 3}); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.order {
				if tc.batch {
					break
				}
				if _, err := s.SaveMail(ctx, c.account, "INBOX", []cadence.Interaction{c.in}, FolderState{UIDValidity: 1, UIDNext: 2}); err != nil {
					t.Fatal(err)
				}
			}
			var got []cadence.Interaction
			if _, err := s.ScanChanges(ctx, pos, func(_ int64, in *cadence.Interaction) {
				c := *in
				c.Sources = slices.Clone(in.Sources)
				got = append(got, c)
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Filter != tc.want {
				t.Fatalf("changes: %+v; want one interaction with filter %q", got, tc.want)
			}
			var wantSources []string
			for _, c := range tc.order {
				if !slices.Contains(wantSources, "imap:"+c.account) {
					wantSources = append(wantSources, "imap:"+c.account)
				}
			}
			slices.Sort(wantSources)
			if gotSources := slices.Sorted(slices.Values(got[0].Sources)); !slices.Equal(gotSources, wantSources) {
				t.Errorf("sources %q, want %q", gotSources, wantSources)
			}
			rows, err := s.db.Query(`SELECT account, filter FROM interaction_sources ORDER BY account`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			copies := map[string]string{}
			for rows.Next() {
				var account, filter string
				if err := rows.Scan(&account, &filter); err != nil {
					t.Fatal(err)
				}
				copies[account] = filter
			}
			if !tc.batch {
				for _, c := range tc.order {
					if copies[c.account] != string(c.in.Filter) {
						t.Errorf("copy in %s has filter %q, want %q", c.account, copies[c.account], c.in.Filter)
					}
				}
			} else if copies["owner"] != "" {
				t.Errorf("copy in owner has filter %q, want it to count", copies["owner"])
			}
		})
	}
}
