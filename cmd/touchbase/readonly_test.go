package main

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// A store read as a snapshot (no daemon has it open) that a writer changes
// meanwhile is read again: the answer is the second reading's, never a mix.
func TestReadStoreRereadsAChangedSnapshot(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:1")
	b := &backend{cfg: f.cfg, log: zap.NewNop()}
	defer b.close()
	calls := 0
	n, err := readStore(t.Context(), b, func(st *store.Store) (int, error) {
		calls++
		if calls == 1 { // a writer starts, writes and checkpoints as it closes
			w, err := store.Open(t.Context(), f.cfg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			s := cadence.Silence{ID: "sil_reread1", CustomerID: "acme", StartsAt: fixtureNow, EndsAt: fixtureNow.Add(time.Hour)}
			if _, err := w.AddSilence(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			w.Close()
		}
		ss, err := st.Silences(t.Context(), fixtureNow, true)
		return len(ss), err
	})
	if err != nil || calls != 2 || n != 1 {
		t.Errorf("readStore: %d silences, %v, after %d readings; want the writer's 1 silence from a second reading", n, err, calls)
	}
}
