package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
)

// customerAlerts bounds the alerts the customer page lists: the firing
// ones and the most recent resolved ones.
const customerAlerts = 20

type customerBody struct {
	ID, Name, Owner, Tier, State, Timezone string
	EvaluatedAt                            *timeView
	Overdue                                string
	Commitments                            []commitmentRow
	Timeline                               []timelineItem
	WhySince                               *timeView
	People                                 []personRow
	Silences                               []silenceRow
	Alerts                                 []alertRow
}

type commitmentRow struct {
	Name, Type, State, Rule, Expected string
	Silenced, Met                     bool
	Due, SlipsAt                      *timeView
	Last, About                       *refView
	Stale                             []staleView
}

type refView struct {
	At            *timeView
	What, Subject string
}

type staleView struct {
	Source string
	Last   *timeView
}

type timelineItem struct {
	At                       *timeView
	Kind, Direction, Subject string
	Counted, Planned         bool
	Reason, Who              string
	sortAt                   time.Time
}

type personRow struct {
	Address  string
	Contacts int
	Last     *timeView
}

type silenceRow struct {
	Target, Reason string
	From, Until    *timeView
	Active         bool
}

type alertRow struct {
	ID, CustomerID, CustomerName, Commitment, State, Resolution string
	Due, Opened, Resolved                                       *timeView
	Silenced                                                    bool
	About                                                       *refView
	Deliveries                                                  []deliveryRow
}

type deliveryRow struct {
	Endpoint, Event, State string
	Attempts               int
	Last                   *timeView
	LastError              string
}

func (h *Handler) customer(ctx context.Context, r *http.Request) (*view, error) {
	id := r.PathValue("id")
	d, err := h.ev.Why(ctx, id, time.Time{})
	if errors.Is(err, evaluate.ErrNoCustomer) {
		return nil, errNotFound(fmt.Sprintf("There is no customer %q in the configuration.", id))
	}
	if err != nil {
		return nil, fmt.Errorf("customer %s: %w", id, err)
	}
	c := clock{loc: h.ev.Location(), now: h.now()}
	b := &customerBody{ID: d.ID, Name: d.Name, Owner: d.Owner, Tier: d.Tier, State: string(d.State), Timezone: d.Timezone,
		EvaluatedAt: c.stamp(&d.EvaluatedAt), WhySince: c.stamp(d.WhySince)}
	for _, cm := range d.Commitments {
		b.Commitments = append(b.Commitments, c.commitment(cm))
	}
	b.Timeline = c.timeline(d)
	for _, p := range d.People {
		b.People = append(b.People, personRow{Address: p.Address, Contacts: p.Contacts, Last: c.ago(&p.LastAt)})
	}
	for _, s := range d.Silences {
		b.Silences = append(b.Silences, c.silence(s))
	}
	if b.Alerts, err = h.customerAlerts(ctx, c, d.ID, d.Silences); err != nil {
		return nil, err
	}
	return &view{template: "customer", Title: d.Name, Nav: "customers", Body: b}, nil
}

func (c clock) commitment(cm evaluate.CommitmentView) commitmentRow {
	row := commitmentRow{Name: cm.Name, Type: string(cm.Type), State: string(cm.State), Rule: cm.Reason.Rule,
		Expected: cm.Expected, Silenced: cm.Silenced, Met: cm.Met, Due: c.stamp(cm.DueAt), Last: c.ref(cm.Reason.LastSatisfying),
		About: c.ref(cm.About)}
	if cm.Reason.SlipsAt != nil {
		row.SlipsAt = c.stamp(cm.Reason.SlipsAt)
	}
	for _, s := range cm.Reason.StaleSources {
		row.Stale = append(row.Stale, staleView{Source: s.Source, Last: c.ago(s.LastSuccessAt)})
	}
	return row
}

func (c clock) ref(r *cadence.Ref) *refView {
	if r == nil {
		return nil
	}
	what := string(r.Kind)
	if r.Direction != "" {
		what = string(r.Direction) + " " + what
	}
	return &refView{At: c.stamp(&r.At), What: what, Subject: r.Subject}
}

// timeline merges what counted and what did not, newest first.
func (c clock) timeline(d evaluate.CustomerDetail) []timelineItem {
	var out []timelineItem
	for _, e := range d.Timeline {
		out = append(out, timelineItem{At: c.stamp(&e.At), Kind: string(e.Kind), Direction: string(e.Direction),
			Subject: e.Subject, Counted: true, Planned: e.Planned, Who: strings.Join(e.People, ", "), sortAt: e.At})
	}
	for _, n := range d.NotCounted {
		out = append(out, timelineItem{At: c.stamp(&n.At), Kind: string(n.Kind), Direction: string(n.Direction),
			Subject: n.Subject, Reason: string(n.Reason), Who: n.Sender, Planned: n.At.After(c.now), sortAt: n.At})
	}
	slices.SortStableFunc(out, func(a, b timelineItem) int { return b.sortAt.Compare(a.sortAt) })
	return out
}

func (c clock) silence(s cadence.Silence) silenceRow {
	target := s.CustomerID
	if s.Commitment != "" {
		target += "/" + s.Commitment
	}
	return silenceRow{Target: target, Reason: s.Reason, From: c.stamp(&s.StartsAt), Until: c.stamp(&s.EndsAt), Active: s.Active(c.now)}
}

// customerAlerts lists the customer's alerts, firing first, each with the
// deliveries of its events.
func (h *Handler) customerAlerts(ctx context.Context, c clock, id string, silences []cadence.Silence) ([]alertRow, error) {
	all, err := h.ev.Alerts(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("alerts of %s: %w", id, err)
	}
	var mine []evaluate.AlertView
	for _, a := range all {
		if a.CustomerID == id {
			mine = append(mine, a)
		}
	}
	// Alerts sorts firing first; among the resolved, the latest matter.
	firstResolved := slices.IndexFunc(mine, func(a evaluate.AlertView) bool { return a.State == string(cadence.Resolved) })
	if firstResolved >= 0 {
		resolved := mine[firstResolved:]
		slices.SortStableFunc(resolved, func(a, b evaluate.AlertView) int {
			return cmp.Compare(sortKey(b.ResolvedAt, 0), sortKey(a.ResolvedAt, 0))
		})
	}
	mine = mine[:min(len(mine), customerAlerts)]
	ids := make([]string, len(mine))
	for i, a := range mine {
		ids[i] = a.ID
	}
	deliveries, err := h.out.AlertDeliveries(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("alerts of %s: %w", id, err)
	}
	rows := make([]alertRow, len(mine))
	for i, a := range mine {
		rows[i] = c.alert(a, silences)
		for _, d := range deliveries[a.ID] {
			rows[i].Deliveries = append(rows[i].Deliveries, deliveryRow{Endpoint: d.Endpoint, Event: d.EventType,
				State: d.State, Attempts: d.Attempts, Last: c.ago(&d.LastAttemptAt), LastError: d.LastError})
		}
	}
	return rows, nil
}

func (c clock) alert(a evaluate.AlertView, silences []cadence.Silence) alertRow {
	return alertRow{ID: a.ID, CustomerID: a.CustomerID, CustomerName: a.CustomerName, Commitment: a.Commitment, State: a.State,
		Resolution: a.Resolution, Due: c.stamp(a.DueAt), Opened: c.ago(&a.OpenedAt), Resolved: c.ago(a.ResolvedAt),
		Silenced: silencedAt(silences, a, c.now), About: c.ref(a.About)}
}

// silencedAt reports whether a silence in force at now covers the alert's
// customer and commitment (as evaluation decides, cadence.Silence.Covers).
func silencedAt(silences []cadence.Silence, a evaluate.AlertView, now time.Time) bool {
	return a.CustomerID != "" && slices.ContainsFunc(silences, func(s cadence.Silence) bool {
		return s.CustomerID == a.CustomerID && s.Active(now) && s.Covers(a.Commitment)
	})
}

type alertsBody struct {
	Alerts   []alertRow
	Silenced int
}

func (h *Handler) alerts(ctx context.Context, _ *http.Request) (*view, error) {
	as, err := h.ev.Alerts(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	silences, err := h.ev.Silences(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	c := clock{loc: h.ev.Location(), now: h.now()}
	b := &alertsBody{}
	for _, a := range as {
		row := c.alert(a, silences)
		if row.Silenced {
			b.Silenced++
		}
		b.Alerts = append(b.Alerts, row)
	}
	return &view{template: "alerts", Title: "Alerts", Nav: "alerts", Body: b}, nil
}

type sourcesBody struct {
	Sources   []sourceRow
	Endpoints []endpointRow
}

type sourceRow struct {
	Name, Lag, LastError string
	LastSync, Failing    *timeView
	Failures             int
	Stale                bool
}

type endpointRow struct {
	Name            string
	Pending, Failed int
}

func (h *Handler) sources(ctx context.Context, _ *http.Request) (*view, error) {
	srcs, err := h.ev.SourceHealth(ctx)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	counts, err := h.out.QueueCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	c := clock{loc: h.ev.Location(), now: h.now()}
	b := &sourcesBody{}
	for _, s := range srcs {
		row := sourceRow{Name: s.Name, LastError: s.LastError, LastSync: c.ago(s.LastSuccessAt), Failing: c.ago(s.FailingSince),
			Failures: s.ConsecutiveFailures, Stale: s.Stale}
		if s.Lag != nil {
			row.Lag = age(*s.Lag)
		}
		b.Sources = append(b.Sources, row)
	}
	names := slices.Clone(h.endpoints)
	for name := range counts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		b.Endpoints = append(b.Endpoints, endpointRow{Name: name, Pending: counts[name].Pending, Failed: counts[name].Failed})
	}
	return &view{template: "sources", Title: "Sources", Nav: "sources", Body: b}, nil
}

// compile-time check that the store satisfies Outbox.
var _ Outbox = (*store.Store)(nil)
