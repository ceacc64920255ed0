package cadence

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// Tally breaks a number of contacts down by kind and direction. Mail sent
// by a third party has no direction, so Inbound + Outbound may be less than
// Total.
type Tally struct {
	Total    int `json:"total"`
	Email    int `json:"email"`
	Meeting  int `json:"meeting"`
	Inbound  int `json:"inbound"`
	Outbound int `json:"outbound"`
}

func (c *Tally) add(ct *entry) {
	c.Total++
	if ct.meeting() {
		c.Meeting++
	} else {
		c.Email++
	}
	switch {
	case ct.inbound():
		c.Inbound++
	case ct.outbound():
		c.Outbound++
	}
}

// Trend says whether contact is getting rarer than the customer's own
// baseline.
type Trend string

// Trends. NoTrend: less than 90 days of history, or no contact in it.
const (
	NoTrend Trend = ""
	Falling Trend = "falling"
	Steady  Trend = "steady"
	Rising  Trend = "rising"
)

// Smoothing time constants and the trend thresholds: contact at less than
// half its usual rate is falling, at more than 1.5 times rising.
const (
	day          = 24 * time.Hour
	longTau      = 180 * day
	shortTau     = longTau / 6 // 30 days; observe relies on the ratio
	minTrendData = 90 * day
	fallingBelow = 0.5
	risingAbove  = 1.5
)

// Observed is how often a customer is really contacted, from the counted
// interactions up to the evaluation time.
type Observed struct {
	LastContactAt  time.Time
	LastInboundAt  time.Time
	LastOutboundAt time.Time
	NextMeetingAt  time.Time // the first planned meeting; zero if none
	Contacts30d    Tally     // in (now − 30d, now]
	Contacts90d    Tally
	// MedianInterval is the median gap between consecutive contact days
	// (calendar days in the customer's zone) over the last year: a thread
	// of ten mails in one afternoon is one contact, not nine tiny gaps.
	// Zero when there are fewer than two contact days.
	MedianInterval time.Duration
	Rate           float64 // contact days per week, exponentially smoothed over ~30 days
	Baseline       float64 // the same over ~180 days: the customer's own normal
	Trend          Trend
}

// Reciprocity is the share of inbound among the directed contacts of the
// last 90 days; ok is false when there were none. A relationship where
// only one side writes is not a relationship.
func (o Observed) Reciprocity() (share float64, ok bool) {
	n := o.Contacts90d.Inbound + o.Contacts90d.Outbound
	if n == 0 {
		return 0, false
	}
	return float64(o.Contacts90d.Inbound) / float64(n), true
}

// observe computes Observed for one customer.
func (e *custEval) observe() Observed {
	var o Observed
	d30, d90, year := e.now.Add(-30*day), e.now.Add(-90*day), e.now.Add(-365*day)
	days := daysPool.Get().(*[]int64) // contact days in the last year, ascending, unique
	defer daysPool.Put(days)
	*days = (*days)[:0]
	var short, long float64
	lastDay := int64(math.MinInt64)
	cal := dayCounter{loc: e.loc}
	// Entries are whole seconds: after a time is after its second.
	d30s, d90s, yearS := d30.Unix(), d90.Unix(), year.Unix()
	for i := 0; i < e.past; i++ {
		ct := &e.es[i]
		o.LastContactAt = ct.time()
		switch {
		case ct.inbound():
			o.LastInboundAt = o.LastContactAt
		case ct.outbound():
			o.LastOutboundAt = o.LastContactAt
		}
		if ct.at > d90s {
			o.Contacts90d.add(ct)
			if ct.at > d30s {
				o.Contacts30d.add(ct)
			}
		}
		dn := cal.day(ct.at)
		if dn == lastDay {
			continue
		}
		lastDay = dn
		age := float64(e.now.Sub(o.LastContactAt))
		// shortTau is longTau / 6: one exponential gives both, as
		// exp(-age/shortTau) = exp(-age/longTau)^6.
		l := math.Exp(-age / float64(longTau))
		l2 := l * l
		short += l2 * l2 * l2
		long += l
		if ct.at > yearS {
			*days = append(*days, dn)
		}
	}
	for i := e.past; i < len(e.es); i++ {
		if e.es[i].meeting() {
			o.NextMeetingAt = e.es[i].time()
			break
		}
	}
	o.MedianInterval = medianGap(*days)
	history := e.now.Sub(e.start)
	o.Rate = perWeek(short, shortTau, history)
	o.Baseline = perWeek(long, longTau, history)
	if history >= minTrendData && o.Baseline > 0 {
		switch r := o.Rate / o.Baseline; {
		case r < fallingBelow:
			o.Trend = Falling
		case r > risingAbove:
			o.Trend = Rising
		default:
			o.Trend = Steady
		}
	}
	return o
}

// dayCounter numbers the calendar days of ascending Unix seconds in loc,
// looking the zone's offset up once per zone period (DST changes twice a
// year) instead of once per time.
type dayCounter struct {
	loc        *time.Location
	start, end int64 // the period with offset off: [start, end)
	off        int64
}

func (c *dayCounter) day(sec int64) int64 {
	if sec < c.start || sec >= c.end || c.start == c.end {
		t := time.Unix(sec, 0).In(c.loc)
		_, off := t.Zone()
		from, to := t.ZoneBounds()
		c.off, c.start, c.end = int64(off), math.MinInt64, math.MaxInt64
		if !from.IsZero() {
			c.start = from.Unix()
		}
		if !to.IsZero() {
			c.end = to.Unix()
		}
	}
	s := sec + c.off
	if s < 0 {
		return (s - 86399) / 86400
	}
	return s / 86400
}

// dayNumber is the calendar day of t in loc, as days since 1970-01-01.
func dayNumber(t time.Time, loc *time.Location) int64 {
	_, off := t.In(loc).Zone()
	s := t.Unix() + int64(off)
	if s < 0 {
		return (s - 86399) / 86400
	}
	return s / 86400
}

// perWeek turns an exponentially weighted count with time constant tau
// into a rate per week, correcting for a history shorter than the decay.
func perWeek(sum float64, tau, history time.Duration) float64 {
	if sum == 0 || history <= 0 {
		return 0
	}
	norm := float64(tau) * (1 - math.Exp(-float64(history)/float64(tau)))
	return sum / norm * float64(7*day)
}

// daysPool recycles the scratch list of contact days: a full evaluation
// would otherwise allocate one per customer.
var daysPool = sync.Pool{New: func() any { return new([]int64) }}

// medianGap returns the median gap between consecutive days; it overwrites
// days with the gaps.
func medianGap(days []int64) time.Duration {
	if len(days) < 2 {
		return 0
	}
	gaps := days[:len(days)-1]
	for i := range gaps {
		gaps[i] = days[i+1] - days[i]
	}
	slices.Sort(gaps)
	n := len(gaps)
	m := gaps[n/2]
	if n%2 == 0 {
		// Whole days keep the figure readable; round the mean of the middle two down.
		m = (gaps[n/2-1] + gaps[n/2]) / 2
	}
	return time.Duration(m) * day
}

// Person is someone at a customer the team has been in touch with.
type Person struct {
	Address  string    `json:"address"`
	Contacts int       `json:"contacts"`
	LastAt   time.Time `json:"last_at"`
}

// People lists the customer's people on contacts up to now, most recently
// touched first.
func People(contacts []Contact, now time.Time) []Person {
	idx := map[string]int{}
	var out []Person
	for i := range contacts {
		ct := &contacts[i]
		if ct.At.After(now) {
			continue
		}
		for _, p := range ct.People {
			j, ok := idx[p]
			if !ok {
				j = len(out)
				idx[p] = j
				out = append(out, Person{Address: p})
			}
			out[j].Contacts++
			if ct.At.After(out[j].LastAt) {
				out[j].LastAt = ct.At
			}
		}
	}
	slices.SortFunc(out, func(a, b Person) int {
		if c := b.LastAt.Compare(a.LastAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Address, b.Address)
	})
	return out
}
