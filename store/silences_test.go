package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func TestSilences(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	active, err := s.AddSilence(ctx, cadence.Silence{CustomerID: "acme", EndsAt: now.Add(24 * time.Hour), Reason: "holiday"})
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
	if err := s.RemoveSilence(ctx, active.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSilence(ctx, active.ID); !errors.Is(err, ErrNoSilence) {
		t.Errorf("second remove: %v, want ErrNoSilence", err)
	}
	for _, bad := range []cadence.Silence{{EndsAt: now.Add(time.Hour)}, {CustomerID: "acme", EndsAt: now.Add(-time.Hour)}} {
		if _, err := s.AddSilence(ctx, bad); err == nil {
			t.Errorf("AddSilence(%+v) succeeded; want an error", bad)
		}
	}
}
