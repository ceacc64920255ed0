package evaluate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// OverviewRow is one customer of the dashboard's overview: its row of
// `customers`, since when it is overdue, and its cadence strip.
type OverviewRow struct {
	CustomerView
	// OverdueSince is the earliest due time of a slipped commitment; nil
	// when none slipped.
	OverdueSince *time.Time
	Weeks        []WeekView // oldest first
}

// WeekView is one week of a customer's cadence strip.
type WeekView struct {
	Start time.Time // Monday 00:00 in the configured time zone
	Count int       // counted interactions (mail and past meetings) that week
	// Mark is the worst state one of the customer's alerts was in during
	// the week: cadence.Slipped, cadence.AtRisk, or "" for none.
	Mark cadence.State
}

// Overview evaluates every customer as of at (zero: now), as Customers
// does, and adds to each row its strip of the weeks weeks up to at's.
// Rows are ordered by ID.
func (r *Runner) Overview(ctx context.Context, at time.Time, weeks int) ([]OverviewRow, error) {
	in, res, err := r.evaluateAt(ctx, at)
	if err != nil {
		return nil, err
	}
	strips, err := r.stripsOf(ctx, in.History, in.Alerts, in.Now, r.Now(), weeks)
	if err != nil {
		return nil, err
	}
	out := make([]OverviewRow, 0, len(res.Customers))
	for _, cr := range res.Customers {
		row := OverviewRow{CustomerView: customerView(cr), Weeks: strips[cr.Customer.ID]}
		for _, cs := range cr.Commitments {
			if cs.State == cadence.Slipped && !cs.DueAt.IsZero() && (row.OverdueSince == nil || cs.DueAt.Before(*row.OverdueSince)) {
				row.OverdueSince = cadence.TimePtr(cs.DueAt)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// Strips returns, by customer ID, each configured customer's counted
// interactions in each of the weeks weeks (Monday to Monday in the
// configured time zone) up to and including the week holding at (zero:
// now), oldest first, with the weeks its alerts mark.
func (r *Runner) Strips(ctx context.Context, at time.Time, weeks int) (map[string][]WeekView, error) {
	wall := r.Now()
	if at.IsZero() {
		at = wall
	}
	hist, err := r.history(ctx, at.Add(-r.window()), false)
	if err != nil {
		return nil, err
	}
	open, err := r.st.OpenAlerts(ctx)
	if err != nil {
		return nil, err
	}
	return r.stripsOf(ctx, hist, open, at, wall, weeks)
}

// stripsOf adds to the open alerts those resolved within the weeks (the
// others cannot mark them) and computes the strips.
func (r *Runner) stripsOf(ctx context.Context, hist *cadence.History, open []cadence.Alert, at, wall time.Time, weeks int) (map[string][]WeekView, error) {
	resolved, err := r.st.ResolvedSince(ctx, weekStarts(at, r.Location(), weeks)[0])
	if err != nil {
		return nil, err
	}
	return r.strips(hist, append(resolved, open...), at, wall, weeks), nil
}

// strips computes Strips from a history and every alert. wall ends the
// marks of alerts still open.
func (r *Runner) strips(hist *cadence.History, alerts []cadence.Alert, at, wall time.Time, weeks int) map[string][]WeekView {
	starts := weekStarts(at, r.Location(), weeks)
	end := starts[len(starts)-1].AddDate(0, 0, 7)
	out := make(map[string][]WeekView, len(r.cfg.Customers))
	for _, c := range r.cfg.Customers {
		ws := make([]WeekView, len(starts))
		for i, s := range starts {
			ws[i].Start = s
		}
		for t := range hist.Times(c.ID) {
			// Planned meetings are not contact yet.
			if t.Before(starts[0]) || t.After(at) || !t.Before(end) {
				continue
			}
			ws[weekIndex(starts, t)].Count++
		}
		out[c.ID] = ws
	}
	for _, a := range alerts {
		ws, ok := out[a.CustomerID]
		if !ok {
			continue
		}
		for _, sp := range alertSpans(a, wall) {
			markWeeks(ws, starts, end, sp)
		}
	}
	return out
}

// alertSpan is a stretch of time an alert spent in a firing state.
type alertSpan struct {
	from, to time.Time
	state    cadence.State
}

// alertSpans reconstructs when an alert was at risk and when slipped: the
// store keeps no history of states, so an alert counts as slipped from its
// due time (grace aside) to its resolution, or to wall while it is open,
// and as at risk from when it opened until then. A resolved alert that
// resolved before its due time was only ever at risk.
func alertSpans(a cadence.Alert, wall time.Time) []alertSpan {
	end := wall
	if a.State == cadence.Resolved {
		end = a.ResolvedAt
	}
	if a.State == cadence.AtRisk {
		return []alertSpan{{a.OpenedAt, end, cadence.AtRisk}}
	}
	due := a.DueAt
	if due.IsZero() || due.After(end) {
		return []alertSpan{{a.OpenedAt, end, cadence.AtRisk}}
	}
	spans := []alertSpan{{due, end, cadence.Slipped}}
	if a.OpenedAt.Before(due) {
		spans = append(spans, alertSpan{a.OpenedAt, due, cadence.AtRisk})
	}
	return spans
}

// markWeeks marks the weeks sp overlaps; slipped wins over at risk.
func markWeeks(ws []WeekView, starts []time.Time, end time.Time, sp alertSpan) {
	if sp.to.Before(starts[0]) || !sp.from.Before(end) {
		return
	}
	first, last := 0, len(ws)-1
	if !sp.from.Before(starts[0]) {
		first = weekIndex(starts, sp.from)
	}
	if sp.to.Before(end) {
		last = weekIndex(starts, sp.to)
	}
	for i := first; i <= last; i++ {
		if ws[i].Mark != cadence.Slipped {
			ws[i].Mark = sp.state
		}
	}
}

// weekStarts returns the starts (Monday 00:00 in loc) of the n weeks up to
// and including the one holding at, oldest first. Built from dates, not by
// subtracting 7×24h, so a daylight-saving change keeps them on midnight.
func weekStarts(at time.Time, loc *time.Location, n int) []time.Time {
	t := at.In(loc)
	back := (int(t.Weekday()) + 6) % 7 // days since Monday
	monday := time.Date(t.Year(), t.Month(), t.Day()-back, 0, 0, 0, 0, loc)
	out := make([]time.Time, max(n, 1))
	for i := range out {
		out[i] = monday.AddDate(0, 0, -7*(len(out)-1-i))
	}
	return out
}

// weekIndex is the index of the week holding t, which must not be before
// starts[0].
func weekIndex(starts []time.Time, t time.Time) int {
	i, found := slices.BinarySearchFunc(starts, t, func(s, t time.Time) int { return s.Compare(t) })
	if found {
		return i
	}
	return i - 1
}

// SourceView is one configured source's health, for the dashboard.
type SourceView struct {
	Name                string
	LastSuccessAt       *time.Time
	LastAttemptAt       *time.Time
	Lag                 *time.Duration // since the last success
	FailingSince        *time.Time
	ConsecutiveFailures int
	LastError           string
	// Stale: not synced within sync.stale_after (or never), so the
	// commitments that depend on it evaluate as unknown.
	Stale bool
}

// SourceHealth reports the health of every configured source as of the
// wall clock, judged stale by the same rule evaluation uses.
func (r *Runner) SourceHealth(ctx context.Context) ([]SourceView, error) {
	health, err := r.st.Sources(ctx)
	if err != nil {
		return nil, fmt.Errorf("read source health: %w", err)
	}
	wall := r.Now()
	stale := map[string]bool{}
	for _, s := range r.stale(health, wall) {
		stale[s.Name] = true
	}
	names := r.sourceNames()
	slices.Sort(names)
	out := make([]SourceView, 0, len(names))
	for _, name := range names {
		v := SourceView{Name: name, Stale: stale[name]}
		i := slices.IndexFunc(health, func(h store.SourceStatus) bool { return h.Name == name })
		if i >= 0 {
			h := health[i]
			v.LastSuccessAt, v.LastAttemptAt = cadence.TimePtr(h.LastSuccessAt), cadence.TimePtr(h.LastAttemptAt)
			v.FailingSince, v.ConsecutiveFailures, v.LastError = cadence.TimePtr(h.FailingSince), h.ConsecutiveFailures, h.LastError
			if !h.LastSuccessAt.IsZero() {
				lag := wall.Sub(h.LastSuccessAt)
				v.Lag = &lag
			}
		}
		out = append(out, v)
	}
	return out, nil
}
