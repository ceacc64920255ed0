package dashboard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
)

// benchCustomers is the overview's target size: a large team's book.
const benchCustomers = 10_000

// BenchmarkOverview renders the overview of 10,000 customers, each with a
// weekly commitment and about a dozen mails over the strip's 26 weeks,
// from a real store after one evaluation pass (so alerts mark the strips).
// It reports milliseconds per render, server side.
func BenchmarkOverview(b *testing.B) {
	dir := b.TempDir()
	cfg := loadConfig(b, dir)
	var y strings.Builder
	y.WriteString("customers:\n")
	for i := range benchCustomers {
		fmt.Fprintf(&y, "  - {id: c%05d, name: Customer %05d, domains: [c%05d.example], owner: %s, tier: %s, commitments: [weekly]}\n",
			i, i, i, []string{"alice", "bob"}[i%2], []string{"gold", "silver"}[i%2])
	}
	data, err := os.ReadFile(cfg.Path)
	if err != nil {
		b.Fatal(err)
	}
	text := string(data)
	start, end := strings.Index(text, "customers:\n"), strings.Index(text, "policies:\n")
	text = text[:start] + y.String() + text[end:]
	if err := os.WriteFile(cfg.Path, []byte(text), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg = loadConfigFile(b, cfg.Path)
	st, err := store.Open(b.Context(), cfg.DataDir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	fillBench(b, st)
	r := evaluate.New(cfg, st, zap.NewNop())
	r.Now = func() time.Time { return fixtureNow }
	if err := r.Run(b.Context(), fixtureNow); err != nil {
		b.Fatal(err)
	}
	mux := newHandler(b, cfg, st, r)
	render := func() int {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard/", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /dashboard/: %d", rec.Code)
		}
		return rec.Body.Len()
	}
	if n := strings.Count(text, "- {id: c"); n != benchCustomers {
		b.Fatalf("config has %d customers, want %d", n, benchCustomers)
	}
	render() // the first render loads the interactions into the runner
	b.ResetTimer()
	size := 0
	for b.Loop() {
		size = render()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/render")
	b.ReportMetric(float64(size)/(1<<20), "MiB/page")
}

// fillBench stores about a dozen mails per customer over the last half
// year: weekly status mails with gaps, so that states and strips vary.
func fillBench(b *testing.B, st *store.Store) {
	var batch []cadence.Interaction
	flush := func(pass int) {
		if _, err := st.SaveMail(b.Context(), "alice", "INBOX", batch, store.FolderState{UIDValidity: 1, UIDNext: uint32(pass)}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	pass := 0
	for i := range benchCustomers {
		for w := range 26 {
			if (w+i)%2 == 0 && w < 24+i%3 {
				continue // every other week, and some stop early: those slip
			}
			at := fixtureNow.AddDate(0, 0, -7*(26-w)+i%5)
			id := fmt.Sprintf("s%d-%d@us.example", i, w)
			batch = append(batch, mail(id, at.In(berlin).Format("2006-01-02 15:04"), "alice@us.example",
				fmt.Sprintf("pm@c%05d.example", i), "Status"))
		}
		if len(batch) >= 5000 {
			pass++
			flush(pass)
		}
	}
	pass++
	flush(pass)
	for _, src := range []string{"imap:alice", "caldav:alice", "imap:bob"} {
		if err := st.RecordSyncSuccess(b.Context(), src, fixtureNow.Add(-time.Minute), nil); err != nil {
			b.Fatal(err)
		}
	}
}
