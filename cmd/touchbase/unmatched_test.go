package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// unmatchedMail stores, as a third IMAP pass, mail that tests what
// `unmatched` lists: a prospect's exchange (one mail in, one out, two
// people), and what it must leave out: a new sender's list mail, a
// stranger copied on a customer's mail, internal mail, and a mail from
// before the default window.
func (f *fixture) unmatchedMail() {
	t := f.t
	digest := fixtureMail("digest-1@newco.example", "2026-11-12 07:00", "news@newco.example", "alice@us.example", "NewCo digest")
	digest.Filter = cadence.List
	withCustomer := fixtureMail("agency@acme.com", "2026-11-16 11:00", "carol@acme.com", "alice@us.example", "Meet our agency")
	withCustomer.Participants = append(withCustomer.Participants, cadence.Participant{Address: "kim@partner.example", Role: cadence.Cc})
	answer := fixtureMail("p2@us.example", "2026-11-14 09:30", "alice@us.example", "pat@prospect.example", "Re: Introduction")
	answer.Participants = append(answer.Participants, cadence.Participant{Address: "lee@sales.prospect.example", Role: cadence.Cc})
	mails := []cadence.Interaction{
		digest, withCustomer, answer,
		fixtureMail("p1@prospect.example", "2026-11-13 16:00", "Pat@Prospect.example", "alice@us.example", "Introduction"),
		fixtureMail("i2@us.example", "2026-11-17 08:00", "alice@us.example", "carl@us.example", "Lunch"),
		fixtureMail("o1@old.example", "2026-10-01 10:00", "ceo@old.example", "alice@us.example", "Long ago"),
	}
	st, err := store.Open(t.Context(), filepath.Join(f.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.SaveMail(t.Context(), "alice", "INBOX", mails, store.FolderState{UIDValidity: 1, UIDNext: 300}); err != nil {
		t.Fatal(err)
	}
}

// `unmatched` prints the same from the store and through the daemon, and
// lists only the prospect in the default window.
func TestUnmatchedCommand(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:9")
	f.unmatchedMail()
	f.goldenBothWays(t, []goldenCase{
		{"unmatched.golden", []string{"unmatched"}},
		{"unmatched.json.golden", []string{"unmatched", "--json"}},
		{"unmatched-since.golden", []string{"unmatched", "--since", "2mo"}},
	})

	// The facts behind the golden files, so that -update cannot accept a
	// wrong answer unnoticed.
	code, out, errOut := f.run(f.config, "unmatched", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []struct {
		Domain                          string
		Interactions, Inbound, Outbound int
		People                          int
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0].Domain != "prospect.example" || rows[0].Interactions != 2 || rows[0].Inbound != 1 ||
		rows[0].Outbound != 1 || rows[0].People != 2 {
		t.Errorf("unmatched = %+v; want only prospect.example, 1 in, 1 out, 2 people", rows)
	}
}
