package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func TestSilences(t *testing.T) {
	s := openTestStore(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	active, err := s.AddSilence(ctx, cadence.Silence{CustomerID: "acme", EndsAt: now.Add(24 * time.Hour), Reason: "holiday",
		Author: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(active.ID) != 12 || !active.StartsAt.Equal(now) || !active.CreatedAt.Equal(now) {
		t.Errorf("added %+v; want an sil_ ID, starting now", active)
	}
	ended, err := s.AddSilence(ctx, cadence.Silence{CustomerID: "acme", Commitment: "weekly",
		StartsAt: now.Add(-48 * time.Hour), EndsAt: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Silences(ctx, now, false); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], active) {
		t.Errorf("current silences = %+v, %v; want the active one", got, err)
	}
	if got, err := s.Silences(ctx, now, true); err != nil || len(got) != 2 || got[0].ID != ended.ID {
		t.Errorf("all silences = %+v, %v; want both, oldest first", got, err)
	}
	// Expiring keeps the silence, ended now, for `silence list --all`.
	later := now.Add(time.Hour)
	if err := s.ExpireSilence(ctx, active.ID, later); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Silences(ctx, later, false); err != nil || len(got) != 0 {
		t.Errorf("current silences after expiring = %+v, %v; want none", got, err)
	}
	got, err := s.Silences(ctx, later, true)
	if err != nil || len(got) != 2 || got[1].ID != active.ID || !got[1].EndsAt.Equal(later) || got[1].Author != "alice" {
		t.Errorf("all silences after expiring = %+v, %v; want %s ended at %v, by alice", got, err, active.ID, later)
	}
	if err := s.ExpireSilence(ctx, active.ID, later); !errors.Is(err, ErrNoSilence) {
		t.Errorf("second expire: %v, want ErrNoSilence", err)
	}
	if err := s.ExpireSilence(ctx, "sil_nothere", later); !errors.Is(err, ErrNoSilence) {
		t.Errorf("expire of an unknown ID: %v, want ErrNoSilence", err)
	}
	// One yet to start ends before it ever starts.
	future, err := s.AddSilence(ctx, cadence.Silence{CustomerID: "acme", StartsAt: later.Add(time.Hour), EndsAt: later.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ExpireSilence(ctx, future.ID, later); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Silences(ctx, later, false); err != nil || len(got) != 0 {
		t.Errorf("current silences after expiring one yet to start = %+v, %v; want none", got, err)
	}
	for _, bad := range []cadence.Silence{{EndsAt: now.Add(time.Hour)}, {CustomerID: "acme", EndsAt: now.Add(-time.Hour)}} {
		if _, err := s.AddSilence(ctx, bad); err == nil {
			t.Errorf("AddSilence(%+v) succeeded; want an error", bad)
		}
	}
}
