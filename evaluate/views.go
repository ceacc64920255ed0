package evaluate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/touchbase/touchbase/cadence"
)

// CustomerView is one row of `touchbase customers`. The JSON names up to
// next_due_at are the SPEC's and scripts rely on them.
type CustomerView struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	LastContactAt  *time.Time    `json:"last_contact_at"`
	LastInboundAt  *time.Time    `json:"last_inbound_at"`
	LastOutboundAt *time.Time    `json:"last_outbound_at"`
	Contacts30d    int           `json:"contacts_30d"`
	Contacts90d    int           `json:"contacts_90d"`
	MedianInterval *string       `json:"median_interval"` // Go duration
	State          cadence.State `json:"state"`           // worst commitment state, or none
	NextDueAt      *time.Time    `json:"next_due_at"`
	Owner          string        `json:"owner,omitempty"`
	Tier           string        `json:"tier,omitempty"`
	RatePerWeek    float64       `json:"rate_per_week"` // contact days per week, smoothed over ~30 days
	Trend          cadence.Trend `json:"trend,omitempty"`
	Reciprocity    *float64      `json:"reciprocity"` // share of inbound in 90 days
	NextMeetingAt  *time.Time    `json:"next_meeting_at"`
	// OverdueSince is when the earliest slipped commitment was due; null
	// unless the customer has slipped.
	OverdueSince *time.Time `json:"overdue_since"`
	// Silenced: every commitment in the customer's (worst) state is
	// silenced, so its at_risk or slipped fires no alert. State keeps the
	// SPEC's values; tables show "slipped (silenced)".
	Silenced bool `json:"silenced"`
}

// CustomerDetail is `touchbase customer ID`.
type CustomerDetail struct {
	CustomerView
	Timezone    string            `json:"timezone"`
	EvaluatedAt time.Time         `json:"evaluated_at"`
	Commitments []CommitmentView  `json:"commitments"`
	Observed    ObservedView      `json:"observed"`
	People      []cadence.Person  `json:"people"`
	Timeline    []TimelineEntry   `json:"timeline"`
	Silences    []cadence.Silence `json:"silences"`
	// NotCounted (with why) is the customer's mail and meetings in the
	// window that did not count, each with the reason.
	NotCounted []NotCountedView `json:"not_counted,omitempty"`
	// WhySince (with why) is the start of the window NotCounted covers.
	WhySince *time.Time `json:"why_since,omitempty"`
}

// NotCountedView is an interaction that concerns a customer but does not
// count for it.
type NotCountedView struct {
	At        time.Time         `json:"at"`
	Kind      cadence.Kind      `json:"kind"`
	Direction cadence.Direction `json:"direction,omitempty"`
	Subject   string            `json:"subject"`
	Sender    string            `json:"sender"`
	Reason    cadence.Filter    `json:"reason"` // list, bulk, automated, bounce, auto_reply, excluded, cancelled, declined
}

// CommitmentView is one commitment's state.
type CommitmentView struct {
	Name     string             `json:"name"`
	Type     cadence.PolicyType `json:"type"`
	State    cadence.State      `json:"state"`
	DueAt    *time.Time         `json:"due_at"`
	SlipsAt  *time.Time         `json:"slips_at"` // due_at + grace
	Last     *cadence.Ref       `json:"last"`     // what satisfied it last
	About    *cadence.Ref       `json:"about,omitempty"`
	Met      bool               `json:"met,omitempty"` // what is due is already done
	Expected string             `json:"expected"`      // what would satisfy it
	Silenced bool               `json:"silenced,omitempty"`
	Reason   cadence.Reason     `json:"reason"` // the rule, due time, last satisfying interaction, stale sources
}

// ObservedView is the observed frequency in detail.
type ObservedView struct {
	Contacts30d    cadence.Tally `json:"contacts_30d"`
	Contacts90d    cadence.Tally `json:"contacts_90d"`
	MedianInterval *string       `json:"median_interval"`
	RatePerWeek    float64       `json:"rate_per_week"`
	BaselinePerWk  float64       `json:"baseline_per_week"`
	Trend          cadence.Trend `json:"trend,omitempty"`
	Reciprocity    *float64      `json:"reciprocity"`
}

// TimelineEntry is one recent or planned interaction.
type TimelineEntry struct {
	At        time.Time         `json:"at"`
	Kind      cadence.Kind      `json:"kind"`
	Direction cadence.Direction `json:"direction,omitempty"`
	Subject   string            `json:"subject"`
	People    []string          `json:"people"`
	Planned   bool              `json:"planned,omitempty"`
}

// timelineLen is how many past interactions `customer ID` shows.
const timelineLen = 20

// ErrNoCustomer is returned by Customer for an ID the configuration lacks.
var ErrNoCustomer = errors.New("no such customer")

// evaluateAt evaluates without recording anything, for queries. A zero at
// means now.
func (r *Runner) evaluateAt(ctx context.Context, at time.Time) (cadence.Input, cadence.Result, error) {
	wall := r.Now()
	if at.IsZero() {
		at = wall
	}
	in, err := r.load(ctx, at, wall, false)
	if err != nil {
		return in, cadence.Result{}, err
	}
	return in, cadence.Evaluate(in), nil
}

// Customers evaluates every customer as of at (zero: now; later: a
// forecast) and returns one row each, ordered by ID.
func (r *Runner) Customers(ctx context.Context, at time.Time) ([]CustomerView, error) {
	_, res, err := r.evaluateAt(ctx, at)
	if err != nil {
		return nil, err
	}
	out := make([]CustomerView, 0, len(res.Customers))
	for _, cr := range res.Customers {
		out = append(out, customerView(cr))
	}
	return out, nil
}

// Customer evaluates one customer as of at (zero: now); ErrNoCustomer
// when the configuration has no customer with that ID.
func (r *Runner) Customer(ctx context.Context, id string, at time.Time) (CustomerDetail, error) {
	in, res, err := r.evaluateAt(ctx, at)
	if err != nil {
		return CustomerDetail{}, err
	}
	i := slices.IndexFunc(res.Customers, func(c cadence.CustomerResult) bool { return c.Customer.ID == id })
	if i < 0 {
		return CustomerDetail{}, fmt.Errorf("customer %q: %w", id, ErrNoCustomer)
	}
	cr := res.Customers[i]
	d := CustomerDetail{CustomerView: customerView(cr), Timezone: location(cr.Customer).String(), EvaluatedAt: in.Now.UTC(),
		Observed: observedView(cr.Observed), Commitments: []CommitmentView{}, Silences: []cadence.Silence{}}
	for _, cs := range cr.Commitments {
		d.Commitments = append(d.Commitments, CommitmentView{Name: cs.Commitment.Name, Type: cs.Commitment.Type, State: cs.State,
			DueAt: cadence.TimePtr(cs.DueAt), SlipsAt: cadence.TimePtr(cs.SlipsAt), Last: utcRef(cs.Last), About: utcRef(cs.About),
			Met: cs.Met, Expected: cs.Expect, Silenced: cs.Silenced, Reason: utcReason(cs.Reason())})
	}
	contacts := in.History.Contacts(id)
	d.People = cadence.People(contacts, in.Now)
	if d.People == nil {
		d.People = []cadence.Person{}
	}
	for j := range d.People {
		d.People[j].LastAt = d.People[j].LastAt.UTC()
	}
	d.Timeline = timeline(contacts, in.Now)
	for _, s := range in.Silences {
		if s.CustomerID == id {
			d.Silences = append(d.Silences, s)
		}
	}
	return d, nil
}

func customerView(cr cadence.CustomerResult) CustomerView {
	o := cr.Observed
	v := CustomerView{
		ID: cr.Customer.ID, Name: cr.Customer.Name, Owner: cr.Customer.Owner, Tier: cr.Customer.Tier,
		LastContactAt: cadence.TimePtr(o.LastContactAt), LastInboundAt: cadence.TimePtr(o.LastInboundAt),
		LastOutboundAt: cadence.TimePtr(o.LastOutboundAt), Contacts30d: o.Contacts30d.Total, Contacts90d: o.Contacts90d.Total,
		MedianInterval: cadence.DurationString(o.MedianInterval), State: cr.State, NextDueAt: cadence.TimePtr(cr.NextDueAt),
		RatePerWeek: round2(o.Rate), Trend: o.Trend, NextMeetingAt: cadence.TimePtr(o.NextMeetingAt),
		OverdueSince: cadence.TimePtr(cr.OverdueSince), Silenced: worstSilenced(cr),
	}
	if share, ok := o.Reciprocity(); ok {
		s := round2(share)
		v.Reciprocity = &s
	}
	return v
}

// worstSilenced reports whether the customer's state fires no alert
// because each commitment in that state is silenced: one unsilenced slip
// is enough for the customer to be plainly slipped.
func worstSilenced(cr cadence.CustomerResult) bool {
	if cr.State != cadence.AtRisk && cr.State != cadence.Slipped {
		return false
	}
	for _, cs := range cr.Commitments {
		if cs.State == cr.State && !cs.Silenced {
			return false
		}
	}
	return true
}

func observedView(o cadence.Observed) ObservedView {
	v := ObservedView{Contacts30d: o.Contacts30d, Contacts90d: o.Contacts90d, MedianInterval: cadence.DurationString(o.MedianInterval),
		RatePerWeek: round2(o.Rate), BaselinePerWk: round2(o.Baseline), Trend: o.Trend}
	if share, ok := o.Reciprocity(); ok {
		s := round2(share)
		v.Reciprocity = &s
	}
	return v
}

// timeline returns the planned meetings and the last timelineLen
// interactions up to now, newest first.
func timeline(contacts []cadence.Contact, now time.Time) []TimelineEntry {
	out := []TimelineEntry{}
	past := 0
	for i := len(contacts) - 1; i >= 0; i-- {
		c := contacts[i]
		planned := c.At.After(now)
		if planned && c.Kind != cadence.Meeting {
			continue
		}
		if !planned {
			if past == timelineLen {
				break
			}
			past++
		}
		out = append(out, TimelineEntry{At: c.At.UTC(), Kind: c.Kind, Direction: c.Direction, Subject: c.Subject,
			People: c.People, Planned: planned})
	}
	return out
}

func utcRef(r *cadence.Ref) *cadence.Ref {
	if r == nil {
		return nil
	}
	c := *r
	c.At = c.At.UTC()
	return &c
}

func location(c *cadence.Customer) *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// AlertView is one row of `touchbase alerts`.
type AlertView struct {
	ID             string             `json:"id"`
	CustomerID     string             `json:"customer_id"`
	CustomerName   string             `json:"customer_name"`
	Commitment     string             `json:"commitment"`
	Type           cadence.PolicyType `json:"type,omitempty"`
	State          string             `json:"state"` // at_risk, slipped, resolved; failing for a sync source
	Period         string             `json:"period,omitempty"`
	DueAt          *time.Time         `json:"due_at"`
	OpenedAt       time.Time          `json:"opened_at"`
	LastNotifiedAt *time.Time         `json:"last_notified_at"`
	ResolvedAt     *time.Time         `json:"resolved_at"`
	Resolution     string             `json:"resolution,omitempty"`
	Repeats        int                `json:"repeats"`
	About          *cadence.Ref       `json:"about,omitempty"`
	// Silenced: a silence in force covers this firing alert, so it sends
	// no webhook; SilenceID is that silence (the one ending last).
	Silenced  bool   `json:"silenced"`
	SilenceID string `json:"silence_id,omitempty"`
	// Forecast (alerts --at): the alert is not open now but would be by
	// then; OpenedAt is when it would open.
	Forecast bool `json:"forecast,omitempty"`
}

// Alerts lists the firing alerts, or with all every alert, resolved ones
// too, each firing one marked when a silence in force covers it; plus, as alerts of their own, sync sources failing for longer than
// sync.stale_after (the webhooks send sync.failing for them). Firing
// alerts come first, slipped before at_risk, then by due time.
func (r *Runner) Alerts(ctx context.Context, all bool) ([]AlertView, error) {
	alerts, err := r.st.Alerts(ctx, all)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, c := range r.cfg.Customers {
		names[c.ID] = c.Name
	}
	wall := r.Now()
	silences, err := r.st.Silences(ctx, wall, false)
	if err != nil {
		return nil, fmt.Errorf("read silences for alerts: %w", err)
	}
	out := []AlertView{}
	for _, a := range alerts {
		v := AlertView{ID: a.ID, CustomerID: a.CustomerID, CustomerName: names[a.CustomerID], Commitment: a.Commitment,
			Type: a.Details.Type, State: string(a.State), Period: a.Period, DueAt: cadence.TimePtr(a.DueAt), OpenedAt: a.OpenedAt,
			LastNotifiedAt: cadence.TimePtr(a.LastNotifiedAt), ResolvedAt: cadence.TimePtr(a.ResolvedAt),
			Resolution: a.Details.Resolution, Repeats: a.Details.Repeats, About: utcRef(a.Details.About)}
		if a.Open() {
			v.SilenceID = silencedBy(silences, a, wall)
			v.Silenced = v.SilenceID != ""
		}
		out = append(out, v)
	}
	sync, err := r.syncAlerts(ctx, wall)
	if err != nil {
		return nil, err
	}
	out = append(out, sync...)
	sortAlerts(out)
	return out, nil
}

// Forecast lists the alerts that would be firing at at: every commitment
// then at risk or slipped, evaluated over what the store holds now, marked
// silenced when a silence in force then covers it; and the sync sources
// that would by then have failed for sync.stale_after, if they keep
// failing. An alert open now keeps its ID, opening and notifications; one
// that is not is marked Forecast, with OpenedAt when it would open (not
// before now). Ordered as Alerts orders them.
func (r *Runner) Forecast(ctx context.Context, at time.Time) ([]AlertView, error) {
	in, res, err := r.evaluateAt(ctx, at)
	if err != nil {
		return nil, err
	}
	wall := r.Now()
	open := make(map[string]cadence.Alert, len(in.Alerts))
	for _, a := range in.Alerts {
		open[a.ID] = a
	}
	out := []AlertView{}
	for _, cr := range res.Customers {
		c := cr.Customer
		for _, cs := range cr.Commitments {
			if cs.State != cadence.AtRisk && cs.State != cadence.Slipped {
				continue
			}
			v := AlertView{ID: cadence.AlertID(c.ID, cs.Commitment.Name, cs.Period), CustomerID: c.ID, CustomerName: c.Name,
				Commitment: cs.Commitment.Name, Type: cs.Commitment.Type, State: string(cs.State), Period: cs.Period,
				DueAt: cadence.TimePtr(cs.DueAt.UTC()), About: utcRef(cs.About), Silenced: cs.Silenced}
			if a, ok := open[v.ID]; ok {
				v.OpenedAt, v.LastNotifiedAt, v.Repeats = a.OpenedAt, cadence.TimePtr(a.LastNotifiedAt), a.Details.Repeats
			} else {
				v.Forecast = true
				v.OpenedAt = cs.SlipsAt.Add(-r.cfg.Alerting.AtRiskBefore).UTC()
				if v.OpenedAt.Before(wall) && at.After(wall) {
					v.OpenedAt = wall.UTC()
				}
			}
			if v.Silenced {
				v.SilenceID = silencedBy(in.Silences, cadence.Alert{CustomerID: c.ID, Commitment: v.Commitment}, at)
			}
			out = append(out, v)
		}
	}
	sync, err := r.syncAlerts(ctx, at)
	if err != nil {
		return nil, err
	}
	out = append(out, sync...)
	sortAlerts(out)
	return out, nil
}

// syncAlerts are the sources that have failed for sync.stale_after by at,
// as alerts of their own (the webhooks send sync.failing for them).
func (r *Runner) syncAlerts(ctx context.Context, at time.Time) ([]AlertView, error) {
	sources, err := r.st.Sources(ctx)
	if err != nil {
		return nil, fmt.Errorf("read source health: %w", err)
	}
	var out []AlertView
	for _, s := range sources {
		if s.FailingSince.IsZero() || at.Sub(s.FailingSince) < r.staleAfter() {
			continue
		}
		out = append(out, AlertView{ID: cadence.AlertID("", "sync:"+s.Name, s.FailingSince.UTC().Format(time.RFC3339Nano)),
			Commitment: "sync:" + s.Name, State: "failing", OpenedAt: s.FailingSince.UTC()})
	}
	return out, nil
}

// sortAlerts puts firing alerts first, slipped before failing sources
// before at_risk, then by due time.
func sortAlerts(out []AlertView) {
	slices.SortStableFunc(out, func(a, b AlertView) int {
		if c := cmp.Compare(alertRank(a.State), alertRank(b.State)); c != 0 {
			return c
		}
		return cmp.Compare(timeOr(a.DueAt, a.OpenedAt).UnixNano(), timeOr(b.DueAt, b.OpenedAt).UnixNano())
	})
}

// silencedBy is the ID of the silence in force at now that covers the
// alert, the one ending last when several do; "" when none does.
func silencedBy(ss []cadence.Silence, a cadence.Alert, now time.Time) string {
	var by *cadence.Silence
	for i, s := range ss {
		if s.CustomerID == a.CustomerID && s.Covers(a.Commitment) && s.Active(now) && (by == nil || s.EndsAt.After(by.EndsAt)) {
			by = &ss[i]
		}
	}
	if by == nil {
		return ""
	}
	return by.ID
}

func alertRank(state string) int {
	switch state {
	case string(cadence.Slipped):
		return 0
	case "failing":
		return 1
	case string(cadence.AtRisk):
		return 2
	}
	return 3
}

func timeOr(t *time.Time, def time.Time) time.Time {
	if t == nil {
		return def
	}
	return *t
}

// SuggestionView is one inferred commitment.
type SuggestionView struct {
	CustomerID   string        `json:"customer_id"`
	CustomerName string        `json:"customer_name"`
	Name         string        `json:"name"`
	Pattern      string        `json:"pattern"`
	Interval     string        `json:"interval"` // median gap, Go duration
	Reason       string        `json:"reason"`
	Policy       string        `json:"policy"` // YAML for the customer's commitments list
	Evidence     []cadence.Ref `json:"evidence"`
}

// Suggest infers commitments from the history up to now that the
// configuration does not declare yet (see cadence.Suggest).
func (r *Runner) Suggest(ctx context.Context, now time.Time) ([]SuggestionView, error) {
	if now.IsZero() {
		now = r.Now()
	}
	in, err := r.load(ctx, now, r.Now(), false)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, c := range r.cfg.Customers {
		names[c.ID] = c.Name
	}
	out := []SuggestionView{}
	for _, s := range cadence.Suggest(in.Customers, in.History, now) {
		v := SuggestionView{CustomerID: s.CustomerID, CustomerName: names[s.CustomerID], Name: s.Name, Pattern: s.Pattern,
			Interval: s.Interval.String(), Reason: s.Reason, Policy: s.YAML()}
		for _, e := range s.Evidence {
			v.Evidence = append(v.Evidence, *utcRef(&e))
		}
		out = append(out, v)
	}
	return out, nil
}

// UnmatchedView is one row of `touchbase unmatched`: an organisation (or a
// person on free mail) the team has counted-looking traffic with that no
// customer claims.
type UnmatchedView struct {
	// Domain is the registrable domain (sub.example.co.uk: example.co.uk),
	// or for someone on a free-mail provider the full address: gmail.com
	// is not an organisation, but one person on it may be a customer's
	// contact the configuration lacks.
	Domain       string    `json:"domain"`
	FreeMail     bool      `json:"free_mail,omitempty"`
	Interactions int       `json:"interactions"` // mails and meetings it was on
	Inbound      int       `json:"inbound"`      // sent by one of its people
	Outbound     int       `json:"outbound"`     // sent by the team
	People       int       `json:"people"`       // distinct addresses
	FirstAt      time.Time `json:"first_at"`
	LastAt       time.Time `json:"last_at"`
	Addresses    []string  `json:"addresses"` // up to unmatchedAddresses, sorted
}

// DefaultUnmatchedSince is how far back `unmatched` looks without --since.
var DefaultUnmatchedSince = cadence.Span{Unit: cadence.Day, N: 30}

// unmatchedAddresses bounds the addresses a row lists: enough to recognise
// the organisation; People has the count.
const unmatchedAddresses = 3

// ParseSince reads the length of `unmatched --since` (empty: the default)
// as cadence.ParseSpan does; a bad or zero length is an *ArgError.
func ParseSince(s string) (cadence.Span, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultUnmatchedSince, nil
	}
	sp, err := cadence.ParseSpan(s)
	if err != nil || sp.IsZero() {
		return sp, &ArgError{Arg: s, Msg: "want a length such as 30d, 2w, 3mo or 72h"}
	}
	return sp, nil
}

// Unmatched lists the domains outside the configuration that the team had
// traffic with from since before now up to now: interactions no source-set
// filter removed (not list, bulk, automated, auto-reply, bounce, cancelled
// or declined) that touch no customer, the Directory's NoCustomer. These are
// the prospects and renamed customer domains the configuration misses.
// Rows are ordered by interactions, most first, then by domain.
func (r *Runner) Unmatched(ctx context.Context, since cadence.Span) ([]UnmatchedView, error) {
	now := r.Now()
	from := since.Before(now, r.Location())
	ins, err := r.st.Interactions(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("load unmatched: %w", err)
	}
	rows := map[string]*UnmatchedView{}
	people := map[string][]string{} // row key → sorted addresses
	for _, in := range ins {
		// Planned meetings are not traffic yet.
		if in.At.After(now) {
			continue
		}
		c := r.dir.Classify(in)
		if c.Filter != cadence.NoCustomer {
			continue
		}
		sender := cadence.NormAddress(in.Sender)
		seen := map[string]bool{} // rows this interaction already counted in
		for _, addr := range r.dir.External(in) {
			key, free := unmatchedKey(addr)
			if key == "" {
				continue
			}
			v := rows[key]
			if v == nil {
				v = &UnmatchedView{Domain: key, FreeMail: free, FirstAt: in.At.UTC(), LastAt: in.At.UTC()}
				rows[key] = v
			}
			if i, found := slices.BinarySearch(people[key], addr); !found {
				people[key] = slices.Insert(people[key], i, addr)
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			v.Interactions++
			switch {
			case c.Direction == cadence.Outbound:
				v.Outbound++
			case addr == sender:
				// External returns the sender first, so the sender's row
				// is the one counted inbound.
				v.Inbound++
			}
			if at := in.At.UTC(); at.Before(v.FirstAt) {
				v.FirstAt = at
			} else if at.After(v.LastAt) {
				v.LastAt = at
			}
		}
	}
	out := make([]UnmatchedView, 0, len(rows))
	for key, v := range rows {
		v.People = len(people[key])
		v.Addresses = people[key][:min(len(people[key]), unmatchedAddresses)]
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b UnmatchedView) int {
		if c := cmp.Compare(b.Interactions, a.Interactions); c != 0 {
			return c
		}
		return cmp.Compare(a.Domain, b.Domain)
	})
	return out, nil
}

// unmatchedKey is the row an external address belongs to: its registrable
// domain, or the address itself on a free-mail provider (free is true
// then). A domain the public suffix list cannot shorten (a bare suffix, a
// single label) stands for itself. An address without a domain has no row.
func unmatchedKey(addr string) (key string, free bool) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return "", false
	}
	dom := addr[at+1:]
	if cadence.IsFreeMail(dom) {
		return addr, true
	}
	if reg, err := publicsuffix.EffectiveTLDPlusOne(dom); err == nil {
		return reg, false
	}
	return dom, false
}

func utcReason(r cadence.Reason) cadence.Reason {
	r.LastSatisfying = utcRef(r.LastSatisfying)
	return r
}

// minWhyWindow is how far back `customer --why` lists what did not count
// at least; a customer whose commitments span longer gets their span.
const minWhyWindow = 30 * 24 * time.Hour

// Why is Customer with the explanation of every state: the reasons (which
// Customer has too) and the customer's mail and meetings that did not
// count since the longest of its commitments' spans (30 days at least)
// before at, planned meetings included.
func (r *Runner) Why(ctx context.Context, id string, at time.Time) (CustomerDetail, error) {
	d, err := r.Customer(ctx, id, at)
	if err != nil {
		return d, err
	}
	window := minWhyWindow
	for _, c := range r.cfg.Customers {
		if c.ID != id {
			continue
		}
		for _, cm := range c.Commitments {
			for _, sp := range []cadence.Span{cm.Every, cm.Within, cm.Window, cm.Before, cm.Grace} {
				window = max(window, sp.Approx())
			}
			window = max(window, periodApprox(cm.Per))
		}
	}
	since := d.EvaluatedAt.Add(-window)
	d.WhySince = &since
	ins, err := r.st.Interactions(ctx, since)
	if err != nil {
		return d, fmt.Errorf("why %s: %w", id, err)
	}
	d.NotCounted = []NotCountedView{}
	for _, in := range ins {
		c := r.dir.Classify(in)
		if c.Filter == cadence.Counts || c.Filter == cadence.InternalOnly || !r.dir.Mentions(in, id) {
			continue
		}
		d.NotCounted = append(d.NotCounted, NotCountedView{At: in.At.UTC(), Kind: in.Kind, Direction: c.Direction,
			Subject: in.Subject, Sender: cadence.NormAddress(in.Sender), Reason: c.Filter})
	}
	return d, nil
}

// periodApprox is a calendar period's longest length.
func periodApprox(p cadence.Period) time.Duration {
	day := 24 * time.Hour
	switch p {
	case cadence.PerWeek:
		return 7 * day
	case cadence.PerMonth:
		return 31 * day
	case cadence.PerQtr:
		return 92 * day
	case cadence.PerYear:
		return 366 * day
	}
	return 0
}
