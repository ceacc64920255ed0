package demo

import (
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	tests := []struct {
		at   *time.Time
		want string
	}{
		{nil, "never"},
		{at(3 * time.Hour), "today"},
		{at(30 * time.Hour), "1 day ago"},
		{at(13*24*time.Hour + time.Hour), "13 days ago"},
	}
	for _, tc := range tests {
		if got := ago(tc.at, now); got != tc.want {
			t.Errorf("ago(%v) = %q, want %q", tc.at, got, tc.want)
		}
	}
}
