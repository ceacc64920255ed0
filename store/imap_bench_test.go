package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/internal/pgtest"
)

// benchMails are n mails shaped like the IMAP benchmark's mailbox (random
// Message-IDs, times over three years, two or three participants from a
// few thousand addresses).
func benchMails(n int, seed uint64) []cadence.Interaction {
	r := rand.New(rand.NewPCG(seed, 2))
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	mails := make([]cadence.Interaction, n)
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
	return mails
}

// forEachBenchBackend runs bench per backend; open returns a new, empty
// store (on Postgres, in a new database).
func forEachBenchBackend(b *testing.B, bench func(b *testing.B, open func() *Store)) {
	b.Run("sqlite", func(b *testing.B) {
		bench(b, func() *Store {
			s, err := Open(b.Context(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		})
	})
	b.Run("postgres", func(b *testing.B) {
		bench(b, func() *Store {
			dsn, drop := pgtest.NewDatabase(b, "bench")
			b.Cleanup(func() { _ = drop() })
			s, err := OpenPostgres(b.Context(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			return s
		})
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSaveMailFirstSync stores 100,000 mails in batches of 5,000, as
// a first sync of one folder does: the store's share of that sync. The
// CPU time is this process's (on Postgres the server's is not in it).
func BenchmarkSaveMailFirstSync(b *testing.B) {
	const total, batch = 100000, 5000
	mails := benchMails(total, 1)
	forEachBenchBackend(b, func(b *testing.B, open func() *Store) {
		var used time.Duration
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			s := open()
			b.StartTimer()
			t0 := cpuTime()
			for i := 0; i < total; i += batch {
				st := FolderState{UIDValidity: 1, UIDNext: uint32(i + batch + 1)}
				if _, err := s.SaveMail(b.Context(), "bench", "INBOX", mails[i:i+batch], st); err != nil {
					b.Fatal(err)
				}
			}
			used += cpuTime() - t0
			b.StopTimer()
			s.Close()
		}
		b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "mails/s")
		b.ReportMetric(used.Seconds()/float64(b.N), "cpu-s/op")
	})
}

// BenchmarkCommit500 times commits of 500-mail batches (an IMAP sync's
// commit: the mails and the folder state in one transaction) into a store
// that already holds 50,000 mails, and reports the median and p99 commit
// latency. One op is one commit.
func BenchmarkCommit500(b *testing.B) {
	const stored, batch = 50000, 500
	mails := benchMails(stored, 3)
	forEachBenchBackend(b, func(b *testing.B, open func() *Store) {
		s := open()
		defer s.Close()
		for i := 0; i < stored; i += 5000 {
			if _, err := s.SaveMail(b.Context(), "bench", "INBOX", mails[i:i+5000], FolderState{UIDValidity: 1, UIDNext: uint32(i + 5001)}); err != nil {
				b.Fatal(err)
			}
		}
		fresh := benchMails(batch*b.N, 4)
		times := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			st := FolderState{UIDValidity: 1, UIDNext: uint32(stored + (i+1)*batch + 1)}
			if _, err := s.SaveMail(b.Context(), "bench", "INBOX", fresh[i*batch:(i+1)*batch], st); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(start))
		}
		b.StopTimer()
		slices.Sort(times)
		b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
	})
}
