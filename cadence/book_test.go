package cadence

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// store is a test double of the interactions table: rows by ID.
type bookStore map[int64]Interaction

// rebuild loads every row into a new Book, as a daemon's first pass does.
func (s bookStore) rebuild(d *Directory, from time.Time) *History {
	b := NewBook(d, from)
	for _, id := range slices.Sorted(maps.Keys(s)) {
		in := s[id]
		b.Put(id, &in)
	}
	return b.Commit(from)
}

// bookGen makes random interactions between the team and three customers.
type bookGen struct {
	r   *rand.Rand
	now time.Time
	n   int
}

var bookPeople = []string{"ann@acme.com", "bob@acme.com", "x@globex.example", "y@globex.example", "z@labs.acme.com", "stranger@else.example"}

func (g *bookGen) interaction() Interaction {
	g.n++
	at := g.now.Add(time.Duration(g.r.IntN(60*24*60)-40*24*60) * time.Minute)
	who := bookPeople[g.r.IntN(len(bookPeople))]
	in := Interaction{Key: fmt.Sprintf("mid:%d@gen", g.n), MessageID: fmt.Sprintf("%d@gen", g.n), Kind: Email, At: at,
		Subject: []string{"Status", "Question", "Re: Question", "Agenda"}[g.r.IntN(4)]}
	switch g.r.IntN(4) {
	case 0: // a meeting
		in.Key, in.MessageID, in.Kind, in.End = fmt.Sprintf("ev:%d@gen", g.n), "", Meeting, at.Add(time.Hour)
		in.Sender = "alice@us.example"
		in.Participants = participants("organizer", "alice@us.example", "attendee", who)
	case 1: // inbound
		in.Sender = who
		in.Participants = participants("from", who, "to", "alice@us.example")
	default: // outbound, perhaps a reply
		in.Sender = "alice@us.example"
		in.Participants = participants("from", "alice@us.example", "to", who)
		if g.n > 1 && g.r.IntN(2) == 0 {
			in.InReplyTo = fmt.Sprintf("%d@gen", 1+g.r.IntN(g.n-1))
		}
	}
	if g.r.IntN(10) == 0 {
		in.Participants = append(in.Participants, participants("cc", bookPeople[g.r.IntN(len(bookPeople))])...)
	}
	return in
}

// change alters a stored interaction the way sources do: a meeting moves,
// is cancelled or gains an attendee; a mail gains a participant.
func (g *bookGen) change(in Interaction) Interaction {
	in.Participants = slices.Clone(in.Participants)
	switch x := g.r.IntN(3); {
	case in.Kind == Meeting && x == 0:
		in.At = in.At.Add(time.Duration(g.r.IntN(96)-48) * time.Hour)
		in.End = in.At.Add(30 * time.Minute)
	case in.Kind == Meeting && x == 1:
		in.Filter = Cancelled
	default:
		in.Participants = append(in.Participants, participants("cc", bookPeople[g.r.IntN(len(bookPeople))])...)
	}
	return in
}

// TestBookIncrementalMatchesRebuild: after any sequence of inserts,
// changes and deletes, committed in batches while the window moves, a
// Book holds what a Book built from scratch from the same rows holds, and
// evaluates the same.
func TestBookIncrementalMatchesRebuild(t *testing.T) {
	d := testDirectory()
	customers := slices.Clone(d.Customers())
	for i := range customers {
		customers[i].Commitments = []Commitment{replyCm, weeklyCm,
			{Name: "next", Type: NextMeetingType, Within: sp("2w")}, {Name: "breadth", Type: BreadthType, MinContacts: 2, Window: sp("30d")}}
	}
	for seed := range uint64(40) {
		g := &bookGen{r: rand.New(rand.NewPCG(seed, 7)), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
		from := g.now.Add(-30 * day)
		rows := bookStore{}
		b := NewBook(d, from)
		var nextID int64
		for batch := range 8 {
			for range g.r.IntN(30) {
				ids := slices.Sorted(maps.Keys(rows))
				switch x := g.r.IntN(10); {
				case x < 6 || len(ids) == 0:
					nextID++
					rows[nextID] = g.interaction()
					in := rows[nextID]
					b.Put(nextID, &in)
				case x < 9:
					id := ids[g.r.IntN(len(ids))]
					rows[id] = g.change(rows[id])
					in := rows[id]
					b.Put(id, &in)
				default:
					id := ids[g.r.IntN(len(ids))]
					delete(rows, id)
					b.Delete(id)
				}
			}
			g.now = g.now.Add(time.Duration(g.r.IntN(72)) * time.Hour)
			from = from.Add(time.Duration(g.r.IntN(72)) * time.Hour)
			got, want := b.Commit(from), rows.rebuild(d, from)
			for _, c := range customers {
				if g, w := got.Contacts(c.ID), want.Contacts(c.ID); !reflect.DeepEqual(g, w) {
					t.Fatalf("seed %d batch %d: %s holds\n%+v\nwant\n%+v", seed, batch, c.ID, g, w)
				}
			}
			in := Input{Now: g.now, HistoryStart: from, Customers: customers, Alerting: defaultAlerting}
			in.History = got
			res := Evaluate(in)
			in.History = want
			if !reflect.DeepEqual(res, Evaluate(in)) {
				t.Fatalf("seed %d batch %d: the incremental history evaluates differently", seed, batch)
			}
		}
	}
}

// TestBookHistoriesAreSnapshots: a History does not change when the Book
// commits more changes, so an evaluation can read it while the next batch
// is applied.
func TestBookHistoriesAreSnapshots(t *testing.T) {
	d := testDirectory()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mk := func(key string, at time.Time) *Interaction {
		return &Interaction{Key: key, Kind: Email, At: at, Sender: "alice@us.example", Subject: key,
			Participants: participants("to", "bob@acme.com")}
	}
	b := NewBook(d, at.Add(-day))
	b.Put(1, mk("mid:1", at))
	b.Put(2, mk("mid:2", at.Add(time.Hour)))
	first := b.Commit(time.Time{})
	before := first.Contacts("acme")
	b.Put(1, mk("mid:1", at.Add(2*time.Hour))) // moved
	b.Delete(2)
	b.Put(3, mk("mid:3", at.Add(-time.Hour)))
	second := b.Commit(at.Add(-2 * time.Hour))
	if got := first.Contacts("acme"); !reflect.DeepEqual(got, before) {
		t.Errorf("the first history changed: %+v, was %+v", got, before)
	}
	var keys []string
	for _, c := range second.Contacts("acme") {
		keys = append(keys, c.Key)
	}
	if want := []string{"mid:3", "mid:1"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("second history holds %q, want %q", keys, want)
	}
	if third := b.Commit(time.Time{}); third != second {
		t.Error("a Commit without changes built a new history")
	}
}

// TestHistorySince: a window of the history leaves out what is before its
// start, to the second, and the history it came from keeps everything.
func TestHistorySince(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	h := NewHistory(map[string][]Contact{"acme": {
		{At: at, Key: "mid:a", Kind: Email, Direction: Outbound},
		{At: at.Add(time.Second), Key: "mid:b", Kind: Meeting, End: at.Add(time.Hour), Direction: Outbound},
	}})
	tests := []struct {
		since time.Time
		want  int
	}{
		{since: at.Add(-time.Hour), want: 2},
		{since: at, want: 2},
		{since: at.Add(500 * time.Millisecond), want: 1}, // the second holding a is before it
		{since: at.Add(time.Second), want: 1},
		{since: at.Add(2 * time.Second), want: 0},
	}
	for _, tc := range tests {
		if got := len(h.Since(tc.since).Contacts("acme")); got != tc.want {
			t.Errorf("Since(%s): %d contacts, want %d", tc.since.Format(time.StampMilli), got, tc.want)
		}
	}
	if got := h.Len(); got != 2 {
		t.Errorf("the original history holds %d contacts, want 2", got)
	}
	if c := h.Contacts("acme")[1]; !c.End.Equal(at.Add(time.Hour)) || c.Kind != Meeting {
		t.Errorf("meeting = %+v; want it to end an hour after its start", c)
	}
}

// TestStagedIDs: an ID staged twice before a Commit is found, however
// many were staged (a full load stages millions) and however large, and
// nothing is remembered after a reset.
func TestStagedIDs(t *testing.T) {
	tests := []struct {
		name string
		ids  []int64
	}{
		{name: "few", ids: []int64{5, 1, 64, 63}},
		{name: "many", ids: func() []int64 {
			var ids []int64
			for i := range int64(fewIDs + 100) {
				ids = append(ids, 3*i+1)
			}
			return ids
		}()},
		{name: "beyond the bitmap", ids: []int64{maxBitmapID, maxBitmapID + 7, 1 << 40, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s stagedIDs
			for round := range 2 {
				for _, id := range tc.ids {
					if s.add(id) {
						t.Fatalf("round %d: %d reported as staged before it was", round, id)
					}
				}
				for _, id := range tc.ids {
					if !s.add(id) {
						t.Fatalf("round %d: %d staged twice was not found", round, id)
					}
				}
				s.reset()
			}
		})
	}
}
