package store

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// BenchmarkSaveMailFirstSync stores 100,000 mails shaped like the IMAP
// benchmark's mailbox (random Message-IDs, times over three years, two or
// three participants from a few thousand addresses) in batches of 5,000,
// as a first sync of one folder does: the store's share of that sync.
func BenchmarkSaveMailFirstSync(b *testing.B) {
	const total, batch = 100000, 5000
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	mails := make([]cadence.Interaction, total)
	for i := range mails {
		id := fmt.Sprintf("%016x.%d@host-%d.example", r.Uint64(), i, r.IntN(200))
		people := []string{fmt.Sprintf("p%d@c%d.example", r.IntN(3000), r.IntN(200)), "carol@example.test"}
		if r.IntN(2) == 0 {
			people = append(people, fmt.Sprintf("p%d@c%d.example", r.IntN(3000), r.IntN(200)))
		}
		m := mail(id, start.Add(time.Duration(r.Int64N(int64(3*365*24*time.Hour)))), "", people...)
		m.Subject, m.InReplyTo, m.References = "Quarterly review of the contract", "", nil
		mails[i] = m
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var used time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, err := Open(b.Context(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := cpu()
		for i := 0; i < total; i += batch {
			st := FolderState{UIDValidity: 1, UIDNext: uint32(i + batch + 1)}
			if _, err := s.SaveMail(b.Context(), "bench", "INBOX", mails[i:i+batch], st); err != nil {
				b.Fatal(err)
			}
		}
		used += cpu() - t0
		b.StopTimer()
		s.Close()
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "mails/s")
	b.ReportMetric(used.Seconds()/float64(b.N), "cpu-s/op")
}
