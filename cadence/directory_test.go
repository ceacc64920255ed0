package cadence

import (
	"reflect"
	"testing"
	"time"
)

func testDirectory() *Directory {
	customers := []Customer{
		{ID: "acme", Domains: []string{"acme.com", "gmail.com", "xn--bcher-kva.example"}, Contacts: []string{"wile@gmail.com"},
			Exclude: []string{"noreply@acme.com"}},
		{ID: "labs", Domains: []string{"labs.acme.com"}},
		{ID: "globex", Domains: []string{"globex.example"}},
	}
	return NewDirectory([]string{"us.example"}, []string{"alice@us.example", "bob.private@gmail.com"}, customers)
}

func participants(kv ...string) []Participant {
	var ps []Participant
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, Participant{Role: Role(kv[i]), Address: kv[i+1]})
	}
	return ps
}

func TestClassify(t *testing.T) {
	d := testDirectory()
	tests := []struct {
		name    string
		in      Interaction
		dir     Direction
		filter  Filter
		touches map[string][]string // customer ID → people
	}{
		{name: "outbound mail to a customer",
			in:  Interaction{Kind: Email, Sender: "alice@us.example", Participants: participants("from", "alice@us.example", "to", "bob@acme.com")},
			dir: Outbound, touches: map[string][]string{"acme": {"bob@acme.com"}}},
		{name: "inbound from a subdomain, upper-case",
			in:  Interaction{Kind: Email, Sender: "Carol@EU.Acme.com", Participants: participants("from", "Carol@EU.Acme.com", "to", "alice@us.example")},
			dir: Inbound, touches: map[string][]string{"acme": {"carol@eu.acme.com"}}},
		{name: "the most specific customer domain wins",
			in:  Interaction{Kind: Email, Sender: "alice@us.example", Participants: participants("to", "x@labs.acme.com")},
			dir: Outbound, touches: map[string][]string{"labs": {"x@labs.acme.com"}}},
		{name: "internal subdomains are internal",
			in:  Interaction{Kind: Email, Sender: "alice@us.example", Participants: participants("to", "ops@mail.us.example")},
			dir: Outbound, filter: InternalOnly},
		{name: "a free-mail address is nobody's by its domain",
			in:     Interaction{Kind: Email, Sender: "stranger@gmail.com", Participants: participants("to", "alice@us.example")},
			filter: NoCustomer},
		{name: "a free-mail address listed as a contact is the customer's",
			in:  Interaction{Kind: Email, Sender: "wile@gmail.com", Participants: participants("to", "alice@us.example")},
			dir: Inbound, touches: map[string][]string{"acme": {"wile@gmail.com"}}},
		{name: "an account on a free-mail domain is ours",
			in:  Interaction{Kind: Email, Sender: "bob.private@gmail.com", Participants: participants("to", "bob@acme.com")},
			dir: Outbound, touches: map[string][]string{"acme": {"bob@acme.com"}}},
		{name: "excluded addresses do not count",
			in:     Interaction{Kind: Email, Sender: "noreply@acme.com", Participants: participants("to", "alice@us.example")},
			filter: Excluded},
		{name: "internal only",
			in:  Interaction{Kind: Email, Sender: "alice@us.example", Participants: participants("to", "bob@us.example")},
			dir: Outbound, filter: InternalOnly},
		{name: "one mail touches two customers",
			in: Interaction{Kind: Email, Sender: "alice@us.example",
				Participants: participants("to", "bob@acme.com", "cc", "x@globex.example", "cc", "y@acme.com")},
			dir: Outbound, touches: map[string][]string{"acme": {"bob@acme.com", "y@acme.com"}, "globex": {"x@globex.example"}}},
		{name: "an internationalised domain matches its punycode form",
			in:  Interaction{Kind: Email, Sender: "Leser@Bücher.example", Participants: participants("to", "alice@us.example")},
			dir: Inbound, touches: map[string][]string{"acme": {"leser@xn--bcher-kva.example"}}},
		{name: "a third party writing to a customer has no direction",
			in:      Interaction{Kind: Email, Sender: "agency@other.example", Participants: participants("to", "bob@acme.com")},
			touches: map[string][]string{"acme": {"bob@acme.com"}}},
		{name: "a source-set filter is kept",
			in:  Interaction{Kind: Email, Sender: "news@acme.com", Filter: Bulk, Participants: participants("to", "alice@us.example")},
			dir: Inbound, filter: Bulk, touches: map[string][]string{"acme": {"news@acme.com"}}},
		{name: "a meeting every customer attendee declined",
			in: Interaction{Kind: Meeting, Sender: "alice@us.example", Participants: []Participant{
				{Address: "alice@us.example", Role: Organizer}, {Address: "bob@acme.com", Role: Attendee, PartStat: "DECLINED"}}},
			dir: Outbound, filter: Declined},
		{name: "declined attendees are not touched",
			in: Interaction{Kind: Meeting, Sender: "alice@us.example", Participants: []Participant{
				{Address: "bob@acme.com", Role: Attendee, PartStat: "DECLINED"}, {Address: "carol@acme.com", Role: Attendee, PartStat: "ACCEPTED"}}},
			dir: Outbound, touches: map[string][]string{"acme": {"carol@acme.com"}}},
		{name: "a customer's organizer is touched",
			in:  Interaction{Kind: Meeting, Sender: "bob@acme.com", Participants: participants("attendee", "alice@us.example")},
			dir: Inbound, touches: map[string][]string{"acme": {"bob@acme.com"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := d.Classify(tc.in)
			if got.Direction != tc.dir || got.Filter != tc.filter {
				t.Errorf("direction, filter = %q, %q; want %q, %q", got.Direction, got.Filter, tc.dir, tc.filter)
			}
			touches := map[string][]string{}
			for _, tt := range got.Touches {
				touches[d.Customers()[tt.Customer].ID] = tt.People
			}
			if len(tc.touches) == 0 {
				tc.touches = map[string][]string{}
			}
			if !reflect.DeepEqual(touches, tc.touches) {
				t.Errorf("touches = %v, want %v", touches, tc.touches)
			}
		})
	}
}

func TestExternal(t *testing.T) {
	d := testDirectory()
	tests := []struct {
		name string
		in   Interaction
		want []string
	}{
		{name: "a prospect's mail, sender first, normalised",
			in: Interaction{Kind: Email, Sender: "Pat@Prospect.example",
				Participants: participants("from", "Pat@Prospect.example", "to", "alice@us.example", "cc", "kim@other.example")},
			want: []string{"pat@prospect.example", "kim@other.example"}},
		{name: "the team, customers, their contacts and excluded addresses are not external",
			in: Interaction{Kind: Email, Sender: "alice@us.example", Participants: participants("to", "bob@acme.com",
				"cc", "wile@gmail.com", "cc", "noreply@acme.com", "cc", "ops@mail.us.example", "cc", "bob.private@gmail.com")}},
		{name: "a stranger on free mail is external",
			in:   Interaction{Kind: Email, Sender: "alice@us.example", Participants: participants("to", "stranger@gmail.com", "cc", "Stranger@gmail.com")},
			want: []string{"stranger@gmail.com"}},
		{name: "declined attendees are left out",
			in: Interaction{Kind: Meeting, Sender: "alice@us.example", Participants: []Participant{
				{Address: "alice@us.example", Role: Organizer}, {Address: "no@prospect.example", Role: Attendee, PartStat: "DECLINED"},
				{Address: "yes@prospect.example", Role: Attendee, PartStat: "ACCEPTED"}}},
			want: []string{"yes@prospect.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.External(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("External = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMentions(t *testing.T) {
	d := testDirectory()
	for _, tc := range []struct {
		name     string
		in       Interaction
		customer string
		want     bool
	}{
		{"a customer's sender", Interaction{Sender: "bob@acme.com"}, "acme", true},
		{"another customer's", Interaction{Sender: "bob@acme.com"}, "globex", false},
		{"a subdomain claimed by another customer", Interaction{Sender: "x@labs.acme.com"}, "acme", false},
		{"an address the customer excludes", Interaction{Sender: "alice@us.example", Participants: participants("to", "NoReply@acme.com")}, "acme", true},
		{"a contact on free mail", Interaction{Sender: "wile@gmail.com"}, "acme", true},
		{"a declined attendee", Interaction{Kind: Meeting, Sender: "alice@us.example", Participants: []Participant{
			{Address: "jane@globex.example", Role: Attendee, PartStat: "DECLINED"}}}, "globex", true},
		{"internal only", Interaction{Sender: "alice@us.example", Participants: participants("to", "carl@us.example")}, "acme", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.Mentions(tc.in, tc.customer); got != tc.want {
				t.Errorf("Mentions(%s) = %t, want %t", tc.customer, got, tc.want)
			}
		})
	}
}

// TestBookClassifies: a Book keeps, per customer, the interactions that
// count, sorted, and reports why the others do not.
func TestBookClassifies(t *testing.T) {
	d := testDirectory()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ins := []Interaction{
		{Key: "mid:2", Kind: Email, At: at.Add(time.Hour), Sender: "bob@acme.com", Subject: "Re: Plan", InReplyTo: "1",
			References: []string{"0"}, Participants: participants("to", "alice@us.example")},
		{Key: "mid:1", Kind: Email, At: at, Sender: "alice@us.example", Subject: "Plan",
			Participants: participants("to", "bob@acme.com", "cc", "x@globex.example")},
		{Key: "mid:3", Kind: Email, At: at, Sender: "alice@us.example", Participants: participants("to", "bob@us.example")},
		{Key: "mid:4", Kind: Email, At: at, Sender: "news@acme.com", Filter: List},
	}
	b := NewBook(d, time.Time{})
	filtered := map[Filter]int{}
	for i := range ins {
		if f := b.Put(int64(i+1), &ins[i]); f != Counts {
			filtered[f]++
		}
	}
	h := b.Commit(time.Time{})
	acme, globex := h.Contacts("acme"), h.Contacts("globex")
	if len(acme) != 2 || len(globex) != 1 || h.Len() != 3 {
		t.Fatalf("acme %v, globex %v; want 2 contacts for acme, 1 for globex", acme, globex)
	}
	if acme[0].Key != "mid:1" || acme[1].Key != "mid:2" || acme[1].Direction != Inbound || acme[1].Subject != "Re: Plan" {
		t.Errorf("acme contacts = %+v; want mid:1 then inbound mid:2", acme)
	}
	if want := []string{"bob@acme.com"}; !reflect.DeepEqual(acme[0].People, want) {
		t.Errorf("people = %v, want %v", acme[0].People, want)
	}
	if want := map[Filter]int{InternalOnly: 1, List: 1}; !reflect.DeepEqual(filtered, want) {
		t.Errorf("filtered = %v, want %v", filtered, want)
	}
}

// TestBookThreads: an outbound mail answers the Message-IDs in its
// References and In-Reply-To, so a reply in the thread satisfies `reply`
// even when its Date is before the question's.
func TestBookThreads(t *testing.T) {
	d := testDirectory()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	question := Interaction{Key: "mid:q@acme.com", MessageID: "q@acme.com", Kind: Email, At: at, Sender: "bob@acme.com",
		Subject: "Question", Participants: participants("to", "alice@us.example")}
	tests := []struct {
		name      string
		inReplyTo string
		refs      []string
		waiting   bool
	}{
		{name: "in-reply-to", inReplyTo: "q@acme.com"},
		{name: "references", refs: []string{"older@acme.com", "q@acme.com"}},
		{name: "another thread", inReplyTo: "other@acme.com", refs: []string{"older@acme.com"}, waiting: true},
	}
	c := d.Customers()[0]
	c.Commitments = []Commitment{{Name: "reply", Type: ReplyType, Within: sp("1bd")}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The answer's clock is an hour behind.
			answer := Interaction{Key: "mid:a@us.example", Kind: Email, At: at.Add(-time.Hour), Sender: "alice@us.example",
				Subject: "Re: Question", InReplyTo: tc.inReplyTo, References: tc.refs, Participants: participants("to", "bob@acme.com")}
			b := NewBook(d, time.Time{})
			b.Put(1, &question)
			b.Put(2, &answer)
			res := Evaluate(Input{Now: at.Add(3 * day), HistoryStart: at.Add(-day), Customers: []Customer{c},
				History: b.Commit(time.Time{}), Alerting: defaultAlerting})
			cs := res.Customers[0].Commitments[0]
			if waiting := cs.About != nil; waiting != tc.waiting {
				t.Errorf("waiting = %v (%+v), want %v", waiting, cs.About, tc.waiting)
			}
		})
	}
}
