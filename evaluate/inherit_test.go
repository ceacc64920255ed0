package evaluate

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// countingStore counts full loads of the interactions.
type countingStore struct {
	Store
	loads atomic.Int32
}

func (c *countingStore) LoadInteractions(ctx context.Context, since time.Time, fn func(int64, *cadence.Interaction)) (int64, error) {
	c.loads.Add(1)
	return c.Store.LoadInteractions(ctx, since, fn)
}

// A reload that adds a customer and changes a domain: the new Runner
// takes over the old one's interactions and classifies them again, so it
// evaluates exactly what a Runner loading everything finds, without
// loading anything; mail stored between the two passes is read as a
// change.
func TestInheritClassifiesAgain(t *testing.T) {
	f := newFixture(t)
	f.history()
	ctx := t.Context()
	st := &countingStore{Store: f.st}
	before := *f.cfg
	before.Customers = nil
	for _, c := range f.cfg.Customers {
		switch c.ID {
		case "globex": // added by the reload
		case "acme":
			c.Domains = []string{"acme.org"} // fixed by the reload
			before.Customers = append(before.Customers, c)
		default:
			before.Customers = append(before.Customers, c)
		}
	}
	old := New(&before, st, zap.NewNop())
	old.Now = f.r.Now
	if err := old.Run(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	m := mailFrom("late@acme.com", f.now.Add(-time.Hour), "bob@acme.com", "alice@us.example", "One more question")
	m.Account = "alice"
	if _, err := f.st.SaveMail(ctx, "alice", "INBOX", []cadence.Interaction{m}, store.FolderState{UIDValidity: 1, UIDNext: 9}); err != nil {
		t.Fatal(err)
	}
	loads := st.loads.Load()
	reloaded := New(f.cfg, st, zap.NewNop())
	reloaded.Now = f.r.Now
	reloaded.Inherit(old)
	if err := reloaded.Run(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	if n := st.loads.Load() - loads; n != 0 {
		t.Errorf("the reloaded Runner loaded the interactions %d times; want 0 (taken over)", n)
	}
	fresh := New(f.cfg, f.st, zap.NewNop())
	fresh.Now = f.r.Now
	if got, want := views(t, reloaded, f.now), views(t, fresh, f.now); got != want {
		t.Errorf("after the reload:\n%s\nwant, as loaded afresh:\n%s", got, want)
	}
	if got := views(t, old, f.now); got == "" {
		t.Error("the old Runner answers no more queries")
	}
}
