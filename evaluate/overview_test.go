package evaluate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

func TestWeekStartsKeepMidnightAcrossDST(t *testing.T) {
	// Sunday 2026-03-29 is the change to summer time in Berlin.
	got := weekStarts(tb("2026-04-01 12:00"), berlin, 3)
	var s []string
	for _, w := range got {
		s = append(s, w.Format("2006-01-02 15:04 Mon"))
	}
	want := "2026-03-16 00:00 Mon,2026-03-23 00:00 Mon,2026-03-30 00:00 Mon"
	if strings.Join(s, ",") != want {
		t.Errorf("weekStarts = %v, want %s", s, want)
	}
}

func TestStrips(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.now = tb("2026-03-10 10:00")
	// Slipped from Feb 18 (a Wednesday: its week is marked slipped, not
	// at risk) until resolved Mar 2; at risk
	// since Mar 9, still open.
	alerts := []cadence.Alert{
		{ID: "a1", CustomerID: "acme", Commitment: "weekly", Period: "p1", State: cadence.Resolved,
			DueAt: tb("2026-02-18 10:00"), OpenedAt: tb("2026-02-17 10:00"), UpdatedAt: tb("2026-03-02 10:00"), ResolvedAt: tb("2026-03-02 10:00")},
		{ID: "a2", CustomerID: "acme", Commitment: "reply", Period: "p2", State: cadence.AtRisk,
			DueAt: tb("2026-03-11 10:00"), OpenedAt: tb("2026-03-09 11:00"), UpdatedAt: tb("2026-03-09 11:00")},
		{ID: "a3", CustomerID: "gone", Commitment: "x", Period: "p", State: cadence.Slipped,
			DueAt: tb("2026-03-01 10:00"), OpenedAt: tb("2026-03-01 10:00"), UpdatedAt: tb("2026-03-01 10:00")},
	}
	if err := f.st.ApplyEvaluation(t.Context(), alerts, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, err := f.r.Strips(t.Context(), time.Time{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	render := func(ws []WeekView) string {
		var parts []string
		for _, w := range ws {
			parts = append(parts, fmt.Sprintf("%s:%d%s", w.Start.In(berlin).Format("01-02"), w.Count, w.Mark))
		}
		return strings.Join(parts, " ")
	}
	want := map[string]string{
		// Mar 2: the status mail and the question; the newsletter is a
		// list mail and does not count.
		"acme":    "02-09:0 02-16:0slipped 02-23:0slipped 03-02:2slipped 03-09:0at_risk",
		"globex":  "02-09:0 02-16:0 02-23:0 03-02:1 03-09:0",
		"initech": "02-09:0 02-16:0 02-23:0 03-02:0 03-09:0",
	}
	if len(got) != len(want) {
		t.Errorf("Strips has %d customers, want %d", len(got), len(want))
	}
	for id, w := range want {
		if g := render(got[id]); g != w {
			t.Errorf("%s: got %s, want %s", id, g, w)
		}
	}
}
