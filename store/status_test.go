package store

import (
	"fmt"
	"testing"
	"time"
)

func TestOutboxDepth(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name                 string
		states               []string // one delivery per entry
		wantPending, wantBad int
	}{
		{name: "empty"},
		{name: "pending only", states: []string{"pending", "pending"}, wantPending: 2},
		{name: "mixed", states: []string{"pending", "failed", "delivered", "failed"}, wantPending: 1, wantBad: 2},
		{name: "delivered only", states: []string{"delivered"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t)
			ctx := t.Context()
			var endpoints []string
			for i := range tc.states {
				endpoints = append(endpoints, fmt.Sprintf("hook%d", i))
			}
			ev := Event{ID: "msg_1", Type: "webhook.test", CreatedAt: at, Payload: []byte(`{}`)}
			if err := s.Enqueue(ctx, []Event{ev}, func(string) []string { return endpoints }); err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.states {
				if _, err := s.db.ExecContext(ctx, `UPDATE deliveries SET state = ? WHERE endpoint = ?`, st, endpoints[i]); err != nil {
					t.Fatal(err)
				}
			}
			pending, failed, err := s.OutboxDepth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pending != tc.wantPending || failed != tc.wantBad {
				t.Errorf("OutboxDepth = %d pending, %d failed; want %d, %d", pending, failed, tc.wantPending, tc.wantBad)
			}
		})
	}
}
