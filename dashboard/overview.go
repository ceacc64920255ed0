package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
)

// states are the overview's state filter values, worst first.
var states = []cadence.State{cadence.Slipped, cadence.Unknown, cadence.AtRisk, cadence.OK, cadence.None}

// sorts are the overview's sort orders (?sort=); the first is the default.
var sorts = []string{"state", "name", "next_due", "last_contact"}

// filter is the overview's query: which rows, in which order.
type filter struct {
	State, Owner, Tier, Q, Sort string
}

func parseFilter(r *http.Request) filter {
	q := r.URL.Query()
	f := filter{State: q.Get("state"), Owner: q.Get("owner"), Tier: q.Get("tier"), Q: strings.TrimSpace(q.Get("q"))}
	// The form carries the current order in a hidden field and a column
	// button adds the new one after it: the last value wins.
	if s := q["sort"]; len(s) > 0 && slices.Contains(sorts, s[len(s)-1]) {
		f.Sort = s[len(s)-1]
	} else {
		f.Sort = sorts[0]
	}
	return f
}

// keep reports whether the filter lets row through.
func (f filter) keep(row *evaluate.OverviewRow) bool {
	if f.State != "" && string(row.State) != f.State || f.Owner != "" && row.Owner != f.Owner || f.Tier != "" && row.Tier != f.Tier {
		return false
	}
	if f.Q == "" {
		return true
	}
	q := strings.ToLower(f.Q)
	return strings.Contains(strings.ToLower(row.ID), q) || strings.Contains(strings.ToLower(row.Name), q)
}

// stateRank orders states worst first.
func stateRank(s cadence.State) int {
	if i := slices.Index(states, s); i >= 0 {
		return i
	}
	return len(states)
}

// dueAt is what the "due" column shows: since when a slipped customer is
// overdue, else its next due time; nil when neither.
func dueAt(row *evaluate.OverviewRow) *time.Time {
	if row.OverdueSince != nil {
		return row.OverdueSince
	}
	return row.NextDueAt
}

// sortable is a row with the keys sorting compares, computed once: a
// sort of thousands of rows compares each many times.
type sortable struct {
	row       *evaluate.OverviewRow
	rank      int
	due, last int64
	lowerName string
}

func newSortable(row *evaluate.OverviewRow) sortable {
	return sortable{row: row, rank: stateRank(row.State), due: sortKey(dueAt(row), math.MaxInt64),
		last: sortKey(row.LastContactAt, math.MinInt64), lowerName: strings.ToLower(row.Name)}
}

// compare orders two rows by the filter's sort, then by name and ID so
// the order is total.
func (f filter) compare(a, b sortable) int {
	var c int
	switch f.Sort {
	case "state":
		c = cmp.Compare(a.rank, b.rank)
		if c == 0 {
			c = cmp.Compare(a.due, b.due)
		}
	case "next_due":
		c = cmp.Compare(a.due, b.due)
	case "last_contact":
		// Longest without contact first: that is who needs attention.
		c = cmp.Compare(a.last, b.last)
	}
	if c != 0 {
		return c
	}
	if c := cmp.Compare(a.lowerName, b.lowerName); c != 0 {
		return c
	}
	return cmp.Compare(a.row.ID, b.row.ID)
}

// option is one <option> of a filter control.
type option struct {
	Value, Label string
	Selected     bool
}

type overviewBody struct {
	Rows                   template.HTML // rowsHTML
	Shown, Total           int
	States, Owners, Tiers  []option
	Q, Sort                string
	EvaluatedAt            *timeView
	ContactsTitle, DueHint string
}

type overviewRow struct {
	ID, Name, Owner, Tier, State string
	StateRank                    int
	LastIn, LastOut              *timeView
	SortIn, SortOut, SortDue     int64
	Overdue                      string // "overdue 3 d" for a slipped customer
	Due                          *timeView
	Contacts30, Contacts90       int
	Weeks                        []evaluate.WeekView
}

func (h *Handler) overview(ctx context.Context, r *http.Request) (*view, error) {
	now := h.now()
	rows, err := h.ev.Overview(ctx, time.Time{}, Weeks)
	if err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	f := parseFilter(r)
	c := clock{loc: h.ev.Location(), now: now}
	body := &overviewBody{Total: len(rows), Q: f.Q, Sort: f.Sort, EvaluatedAt: c.stamp(&now)}
	body.States = []option{{Label: "any"}}
	for _, s := range states {
		body.States = append(body.States, option{Value: string(s), Label: strings.ReplaceAll(string(s), "_", " "), Selected: f.State == string(s)})
	}
	var owners, tiers []string
	kept := make([]sortable, 0, len(rows))
	for i := range rows {
		owners, tiers = append(owners, rows[i].Owner), append(tiers, rows[i].Tier)
		if f.keep(&rows[i]) {
			kept = append(kept, newSortable(&rows[i]))
		}
	}
	body.Owners, body.Tiers = choices(owners, f.Owner), choices(tiers, f.Tier)
	slices.SortFunc(kept, f.compare)
	rowViews := make([]overviewRow, len(kept))
	for i, k := range kept {
		rowViews[i] = c.row(k.row)
	}
	body.Rows, body.Shown = rowsHTML(rowViews), len(kept)
	return &view{template: "overview", Title: "Customers", Nav: "customers", Body: body, Size: len(body.Rows)}, nil
}

// choices are the options of a filter over the distinct non-empty values.
func choices(values []string, selected string) []option {
	slices.Sort(values)
	values = slices.Compact(values)
	out := []option{{Label: "any"}}
	for _, v := range values {
		if v != "" {
			out = append(out, option{Value: v, Label: v, Selected: v == selected})
		}
	}
	return out
}

func (c clock) row(row *evaluate.OverviewRow) overviewRow {
	v := overviewRow{ID: row.ID, Name: row.Name, Owner: row.Owner, Tier: row.Tier, State: string(row.State),
		StateRank: stateRank(row.State), LastIn: c.ago(row.LastInboundAt), LastOut: c.ago(row.LastOutboundAt),
		SortIn: sortKey(row.LastInboundAt, 0), SortOut: sortKey(row.LastOutboundAt, 0),
		SortDue: sortKey(dueAt(row), math.MaxInt64), Contacts30: row.Contacts30d, Contacts90: row.Contacts90d,
		Weeks: row.Weeks}
	if row.OverdueSince != nil {
		v.Overdue = "overdue " + age(c.now.Sub(*row.OverdueSince))
		v.Due = c.stamp(row.OverdueSince)
	} else {
		v.Due = c.ago(row.NextDueAt)
	}
	return v
}
