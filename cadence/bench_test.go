package cadence

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"
)

const (
	benchCustomers = 10_000
	benchPerCust   = 200 // 2,000,000 interactions
)

var (
	benchOnce   sync.Once
	benchIn     Input
	benchInputB uint64 // live heap the input takes
)

// benchInput builds 10,000 customers with 5 policies each and 2,000,000
// counted interactions over 400 days, and the open alerts of a previous
// evaluation (the steady state of a daemon evaluating every minute).
func benchInput() Input {
	benchOnce.Do(func() {
		before := liveHeap()
		r := rand.New(rand.NewPCG(1, 2))
		now := time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)
		start := now.Add(-400 * day)
		policies := []Commitment{
			{Name: "weekly", Type: CadenceType, Kind: Email, Direction: Outbound, Subject: re(`(?i)status`), Every: sp("1w"), Min: 1, Grace: sp("1bd")},
			{Name: "monthly", Type: CadenceType, Per: PerMonth, Min: 1},
			{Name: "reply", Type: ReplyType, Within: sp("1bd")},
			{Name: "next_meeting", Type: NextMeetingType, Within: sp("30d")},
			{Name: "breadth", Type: BreadthType, MinContacts: 2, Window: sp("90d")},
		}
		subjects := []string{"Status week 12", "Question about the invoice", "Re: Question about the invoice", "Monthly report", "Lunch?", "Planning"}
		zones := []*time.Location{berlin, newYork, time.UTC}
		in := Input{Now: now, HistoryStart: start, Contacts: make(map[string][]Contact, benchCustomers),
			Alerting: Alerting{RepeatInterval: 24 * time.Hour, AtRiskBefore: day}}
		for i := range benchCustomers {
			id := fmt.Sprintf("cust-%05d", i)
			people := make([][]string, 5)
			for p := range people {
				people[p] = []string{fmt.Sprintf("p%d@%s.example", p, id)}
			}
			in.Customers = append(in.Customers, Customer{ID: id, Name: id, Location: zones[i%len(zones)], Commitments: policies})
			cs := make([]Contact, benchPerCust)
			for j := range cs {
				at := start.Add(time.Duration(r.Int64N(int64(430 * day)))) // some planned meetings after now
				c := Contact{At: at, Key: fmt.Sprintf("mid:%d.%d", i, j), Kind: Email, Subject: subjects[r.IntN(len(subjects))],
					People: people[r.IntN(len(people))]}
				switch x := r.IntN(20); {
				case x < 3:
					c.Kind, c.End, c.Direction = Meeting, at.Add(time.Hour), Outbound
				case x < 11:
					c.Direction = Inbound
				default:
					c.Direction = Outbound
				}
				if c.Kind == Email && at.After(now) {
					c.At = now.Add(-time.Duration(r.Int64N(int64(30 * day)))) // mail is never in the future
				}
				cs[j] = c
			}
			SortContacts(cs)
			in.Contacts[id] = cs
		}
		in.Alerts = Evaluate(in).Changes
		benchIn = in
		benchInputB = liveHeap() - before
	})
	return benchIn
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// peakSampler records the largest heap (live objects and not yet collected
// garbage) seen while it runs; runtime/metrics reads without stopping the
// world.
func peakSampler() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

// BenchmarkEvaluateFull: every commitment of 10,000 customers (5 policies
// each) over 2,000,000 interactions. Reports the input's live heap, the
// peak heap during evaluation (input included) and the allocations.
func BenchmarkEvaluateFull(b *testing.B) {
	in := benchInput()
	var res Result
	b.ReportAllocs()
	stop := peakSampler()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		res = Evaluate(in)
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	peak := stop()
	b.ReportMetric(float64(benchInputB)/(1<<20), "input-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MB/op")
	b.ReportMetric(float64(len(res.Changes)), "changes")
}

// BenchmarkEvaluateIncremental: one new interaction arrives; only its
// customer is evaluated again.
func BenchmarkEvaluateIncremental(b *testing.B) {
	in := benchInput()
	c := in.Customers[4242]
	var open []Alert
	for _, a := range in.Alerts {
		if a.CustomerID == c.ID && a.Open() {
			open = append(open, a)
		}
	}
	one := Input{Now: in.Now.Add(time.Minute), HistoryStart: in.HistoryStart, Customers: []Customer{c},
		Contacts: in.Contacts, Alerts: open, Alerting: in.Alerting}
	fresh := Contact{At: in.Now, Key: "mid:new", Kind: Email, Direction: Outbound, Subject: "Status week 12",
		People: []string{"p1@" + c.ID + ".example"}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// The cost of adding it to the customer's sorted list is part of the case.
		cs := in.Contacts[c.ID]
		i, _ := slices.BinarySearchFunc(cs, fresh, compareContacts)
		one.Contacts = map[string][]Contact{c.ID: slices.Insert(slices.Clip(cs), i, fresh)}
		res := Evaluate(one)
		if len(res.Customers) != 1 {
			b.Fatal("no result")
		}
	}
}

// BenchmarkGroup: classifying 200,000 stored interactions (the directory
// step the runner does before Evaluate), for scale.
func BenchmarkGroup(b *testing.B) {
	var customers []Customer
	for i := range 1000 {
		customers = append(customers, Customer{ID: fmt.Sprintf("c%d", i), Domains: []string{fmt.Sprintf("c%d.example", i)}})
	}
	d := NewDirectory([]string{"us.example"}, []string{"alice@us.example"}, customers)
	r := rand.New(rand.NewPCG(3, 4))
	ins := make([]Interaction, 200_000)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range ins {
		cust := fmt.Sprintf("p@c%d.example", r.IntN(1000))
		ins[i] = Interaction{Key: fmt.Sprintf("mid:%d", i), Kind: Email, At: at.Add(time.Duration(i) * time.Minute), Sender: "alice@us.example",
			Subject: "Status", Participants: []Participant{{Address: "alice@us.example", Role: From}, {Address: cust, Role: To}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d.Group(ins, nil)
	}
}
