package cadence

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Input is everything one evaluation reads. Evaluate does not modify it.
type Input struct {
	Now time.Time
	// HistoryStart is the earliest time the sources cover: rolling windows
	// with too few matches, and `per` windows with none, count from it. It
	// must be stable across evaluations (the earliest stored interaction,
	// not now − backfill), as it is part of those alerts' identity.
	HistoryStart time.Time
	Customers    []Customer
	// History holds the customers' counted interactions, past and planned;
	// nil is an empty history.
	History  *History
	Silences []Silence
	// Alerts are the open alerts (resolved ones are ignored). An open alert
	// whose customer is not in Customers is resolved as removed, so when
	// evaluating a subset of customers pass only their alerts.
	Alerts []Alert
	// Episodes holds, by alert ID, the last episode of resolved alerts: an
	// alert that fires again for the same period starts the next one.
	Episodes map[string]int
	Stale    Stale
	Alerting Alerting
}

// CustomerResult is the evaluation of one customer.
type CustomerResult struct {
	Customer    *Customer // points into Input.Customers
	Observed    Observed
	Commitments []CommitmentState // in the customer's order
	State       State             // the worst commitment state, None without commitments
	// NextDueAt is the earliest due time among commitments that are ok or
	// at risk and not already met; zero when none.
	NextDueAt time.Time
	// OverdueSince is the earliest due time among slipped commitments:
	// how long the customer has been waiting, which NextDueAt cannot say
	// since a slipped commitment is no longer open. Zero when none slipped.
	OverdueSince time.Time
}

// Result is what an evaluation found and what it changes.
type Result struct {
	Customers []CustomerResult // ordered by customer ID
	Changes   []Alert          // alert rows to write (new or changed)
	Events    []Event          // events to enqueue, with Changes in one transaction
}

// Evaluate evaluates every commitment of every customer as of in.Now and
// returns the states, the alert changes and the events they produce. It is
// pure and deterministic: the same input gives the same result whatever
// the order of its slices, and applying Changes then evaluating again with
// the same input yields no changes. Customers are evaluated in parallel.
func Evaluate(in Input) Result {
	order := make([]int, len(in.Customers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(in.Customers[a].ID, in.Customers[b].ID) })
	alerts := map[string][]Alert{}
	known := map[string]bool{}
	for _, c := range in.Customers {
		known[c.ID] = true
	}
	var orphans []Alert
	for _, a := range in.Alerts {
		switch {
		case !a.Open() || a.CustomerID == "":
			// resolved, or not a customer's (sync health)
		case known[a.CustomerID]:
			alerts[a.CustomerID] = append(alerts[a.CustomerID], a)
		default:
			orphans = append(orphans, a)
		}
	}
	silences := map[string][]Silence{}
	for _, s := range in.Silences {
		if s.Active(in.Now) {
			silences[s.CustomerID] = append(silences[s.CustomerID], s)
		}
	}
	res := Result{Customers: make([]CustomerResult, len(order))}
	outs := make([]custOut, len(order))
	parallel(len(order), func(i int) {
		c := &in.Customers[order[i]]
		outs[i] = evalCustomer(&in, c, alerts[c.ID], silences[c.ID], &res.Customers[i])
	})
	for _, o := range outs {
		res.Changes = append(res.Changes, o.changes...)
		res.Events = append(res.Events, o.events...)
	}
	slices.SortFunc(orphans, func(a, b Alert) int { return cmp.Compare(a.ID, b.ID) })
	for _, a := range orphans {
		lc := lifecycle{now: in.Now}
		lc.removed(a)
		res.Changes = append(res.Changes, lc.changes...)
	}
	return res
}

// parallel calls fn(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+63)/64)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				start := next
				next += 64
				mu.Unlock()
				if start >= n {
					return
				}
				for i := start; i < min(start+64, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
}

type custOut struct {
	changes []Alert
	events  []Event
}

// evalCustomer evaluates one customer into res; open are its open alerts,
// silences those active now.
func evalCustomer(in *Input, c *Customer, open []Alert, silences []Silence, res *CustomerResult) custOut {
	e := newCustEval(c, in.History, in.Now, in.HistoryStart)
	*res = CustomerResult{Customer: c, Observed: e.observe(), State: None,
		Commitments: make([]CommitmentState, 0, len(c.Commitments))}
	lc := lifecycle{now: in.Now, episodes: in.Episodes, alerting: in.Alerting, customer: c, observed: res.Observed}
	var byName map[string][]Alert
	if len(open) > 0 {
		byName = make(map[string][]Alert, len(open))
		slices.SortFunc(open, func(a, b Alert) int { return cmp.Compare(a.ID, b.ID) })
		for _, a := range open {
			byName[a.Commitment] = append(byName[a.Commitment], a)
		}
	}
	var carried map[string]bool
	if len(in.Stale) > 0 {
		carried = e.carried(in.Stale)
	}
	for i := range c.Commitments {
		cs := e.commitment(&c.Commitments[i], in, carried)
		cm := &c.Commitments[i]
		cs.Silenced = silenced(silences, cm.Name)
		res.Commitments = append(res.Commitments, cs)
		if res.State == None || cs.State.Worse(res.State) {
			res.State = cs.State
		}
		if (cs.State == OK || cs.State == AtRisk) && !cs.Met && !cs.DueAt.IsZero() &&
			(res.NextDueAt.IsZero() || cs.DueAt.Before(res.NextDueAt)) {
			res.NextDueAt = cs.DueAt
		}
		if cs.State == Slipped && !cs.DueAt.IsZero() && (res.OverdueSince.IsZero() || cs.DueAt.Before(res.OverdueSince)) {
			res.OverdueSince = cs.DueAt
		}
		as := byName[cm.Name]
		lc.step(&res.Commitments[len(res.Commitments)-1], as)
		delete(byName, cm.Name)
	}
	for _, a := range open {
		if _, gone := byName[a.Commitment]; gone {
			lc.removed(a)
		}
	}
	return custOut{changes: lc.changes, events: lc.events}
}

// commitment evaluates one commitment.
// carried are the stale sources that carried the customer's interactions.
func (e *custEval) commitment(cm *Commitment, in *Input, carried map[string]bool) CommitmentState {
	d := e.rule(cm)
	cs := CommitmentState{Commitment: cm, DueAt: d.at, Period: d.period, Last: e.ref(d.last), About: e.ref(d.about),
		Expect: d.expect, Met: d.satisfied}
	if !d.at.IsZero() {
		cs.SlipsAt = e.after(cm.Grace, d.at)
	}
	if len(in.Stale) > 0 {
		cs.StaleSources = in.Stale.blocking(*cm, carried)
	}
	switch {
	case len(cs.StaleSources) > 0:
		cs.State = Unknown
	case d.at.IsZero() || d.satisfied:
		cs.State = OK
	default:
		cs.State = stateAt(cs.SlipsAt, e.now, in.Alerting.AtRiskBefore)
	}
	return cs
}

func silenced(ss []Silence, commitment string) bool {
	for _, s := range ss {
		if s.Covers(commitment) {
			return true
		}
	}
	return false
}
