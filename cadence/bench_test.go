package cadence

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
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
	benchBook   *Book
	benchNextID int64
	benchInputB uint64 // live heap the input takes
)

// benchInput builds 10,000 customers with 5 policies each and 2,000,000
// counted interactions over 400 days, classified into a Book as the
// daemon does, and the open alerts of a previous evaluation (the steady
// state of a daemon evaluating every minute).
func benchInput() Input {
	benchOnce.Do(func() {
		before := liveHeap()
		now := time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)
		start := now.Add(-400 * day)
		policies := []Commitment{
			{Name: "weekly", Type: CadenceType, Kind: Email, Direction: Outbound, Subject: re(`(?i)status`), Every: sp("1w"), Min: 1, Grace: sp("1bd")},
			{Name: "monthly", Type: CadenceType, Per: PerMonth, Min: 1},
			{Name: "reply", Type: ReplyType, Within: sp("1bd")},
			{Name: "next_meeting", Type: NextMeetingType, Within: sp("30d")},
			{Name: "breadth", Type: BreadthType, MinContacts: 2, Window: sp("90d")},
		}
		zones := []*time.Location{berlin, newYork, time.UTC}
		in := Input{Now: now, HistoryStart: start, Alerting: Alerting{RepeatInterval: 24 * time.Hour, AtRiskBefore: day}}
		for i := range benchCustomers {
			id := fmt.Sprintf("cust-%05d", i)
			in.Customers = append(in.Customers, Customer{ID: id, Name: id, Domains: []string{id + ".example"},
				Location: zones[i%len(zones)], Commitments: policies})
		}
		benchBook = NewBook(NewDirectory([]string{"us.example"}, nil, in.Customers), start)
		r := rand.New(rand.NewPCG(1, 2))
		var it Interaction
		for i := range benchCustomers {
			for j := range benchPerCust {
				benchNextID++
				benchInteraction(&it, r, i, j, start, now)
				benchBook.Put(benchNextID, &it)
			}
		}
		in.History = benchBook.Commit(start)
		in.Alerts = Evaluate(in).Changes
		benchIn = in
		benchInputB = liveHeap() - before
	})
	return benchIn
}

var benchSubjects = []string{"Status week 12", "Question about the invoice", "Re: Question about the invoice", "Monthly report", "Lunch?", "Planning"}

// benchInteraction fills it with the j-th interaction of customer i: 15%
// meetings (some planned), 40% inbound and 45% outbound mail, with one of
// five people at the customer.
func benchInteraction(it *Interaction, r *rand.Rand, i, j int, start, now time.Time) {
	cust := fmt.Sprintf("p%d@cust-%05d.example", r.IntN(5), i)
	at := start.Add(time.Duration(r.Int64N(int64(430 * day)))) // some planned meetings after now
	*it = Interaction{Key: fmt.Sprintf("mid:%d.%d", i, j), Kind: Email, At: at, Subject: benchSubjects[r.IntN(len(benchSubjects))],
		Sender: "alice@us.example", Participants: append(it.Participants[:0], Participant{Address: cust, Role: To})}
	switch x := r.IntN(20); {
	case x < 3:
		it.Kind, it.End, it.Key = Meeting, at.Add(time.Hour), fmt.Sprintf("ev:%d.%d@bench", i, j)
		it.Participants[0].Role = Attendee
	case x < 11:
		it.Sender, it.Participants[0].Address = cust, "alice@us.example"
	}
	if it.Kind == Email && at.After(now) {
		it.At = now.Add(-time.Duration(r.Int64N(int64(30 * day)))) // mail is never in the future
	}
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
// each) over 2,000,000 interactions. Reports the input's live heap (and
// per contact), the peak heap during evaluation (input included, sampled)
// and the allocations.
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
	b.ReportMetric(float64(benchInputB)/float64(in.History.Len()), "input-B/contact")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(max(ms1.HeapSys, ms0.HeapSys))/(1<<20), "heap-sys-MB")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/(1<<20), "alloc-MB/op")
	b.ReportMetric(float64(len(res.Changes)), "changes")
}

// BenchmarkEvaluateIncremental: one new interaction arrives; the Book
// takes it in and only its customer is evaluated again.
func BenchmarkEvaluateIncremental(b *testing.B) {
	in := benchInput()
	r := rand.New(rand.NewPCG(7, 8))
	b.ReportAllocs()
	b.ResetTimer()
	var it Interaction
	for n := 0; b.Loop(); n++ {
		ci := (n * 7919) % benchCustomers
		c := in.Customers[ci]
		benchNextID++
		benchInteraction(&it, r, ci, 1_000_000+n, in.Now, in.Now)
		benchBook.Put(benchNextID, &it)
		h := benchBook.Commit(in.HistoryStart)
		res := Evaluate(Input{Now: in.Now.Add(time.Minute), HistoryStart: in.HistoryStart, Customers: []Customer{c},
			History: h, Alerting: in.Alerting})
		if len(res.Customers) != 1 {
			b.Fatal("no result")
		}
	}
}

// BenchmarkBookUpdate: a stored meeting changes (a new time); the Book
// finds its entry among all 2,000,000 by ID and replaces it.
func BenchmarkBookUpdate(b *testing.B) {
	in := benchInput()
	r := rand.New(rand.NewPCG(9, 10))
	var it Interaction
	benchInteraction(&it, r, 4242, 0, in.Now, in.Now)
	it.Kind, it.Key, it.End = Meeting, "ev:update@bench", it.At.Add(time.Hour)
	benchNextID++
	id := benchNextID
	benchBook.Put(id, &it)
	benchBook.Commit(in.HistoryStart)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		it.At = in.Now.Add(time.Duration(n%48) * time.Hour)
		it.End = it.At.Add(time.Hour)
		benchBook.Put(id, &it)
		if h := benchBook.Commit(in.HistoryStart); h.Len() == 0 {
			b.Fatal("empty history")
		}
	}
}

// BenchmarkBookPut: classifying and staging stored interactions (the
// Directory and Book step of a full load), per interaction.
func BenchmarkBookPut(b *testing.B) {
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
		book := NewBook(d, time.Time{})
		for i := range ins {
			book.Put(int64(i+1), &ins[i])
		}
		book.Commit(time.Time{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ins)), "ns/interaction")
}
