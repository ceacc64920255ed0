// Command caldav measures the CalDAV sync against the test bed's Radicale:
//
//	bench/caldav/run.sh            (starts the test bed, then runs this)
//	go run ./bench/caldav [-events 5000] [-recurring 0.1] [-runs 3]
//
// It fills bench1@example.test's calendar with -events events (a fraction
// -recurring of them weekly series, half of those with an EXDATE and a
// moved occurrence; the rest single meetings with a customer), writing the
// files straight into Radicale's collection under -testbed-dir as
// testbed/seed does (Radicale's PUT rescans the collection: 5,000 PUTs take
// over ten minutes), then one REPORT fills Radicale's item cache. Then it
// compares, -runs times each, side by side in one run: the first sync into
// an empty store (in a child process, which reports its peak RSS as VmHWM
// from /proc/self/status, default GC settings) against a bare REPORT
// calendar-query returning every event with its data, fully read (the
// cheapest way to read the whole calendar); and a no-change pass against a
// bare Depth-0 PROPFIND of getctag + sync-token. Each pair runs back to
// back, so load from other processes hits both alike; ratios are per pair.
// Last, a re-sync after one edit. Requests and bytes are the source's own
// counters.
package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/sync/caldavsource"
)

func main() {
	events := flag.Int("events", 5000, "events in the calendar")
	recurring := flag.Float64("recurring", 0.10, "fraction of events that are weekly series")
	runs := flag.Int("runs", 3, "repetitions of each timed step (the median is reported)")
	base := flag.String("url", envOr("TESTBED_CALDAV_URL", "http://127.0.0.1:15232/"), "CalDAV server")
	user := flag.String("user", "bench1@example.test", "user (the benchmark rewrites its calendar; the tests use none of the bench users)")
	pass := flag.String("pass", "bench1-pass", "password")
	dir := flag.String("testbed-dir", envOr("TESTBED_DIR", "/tmp/testbed"), "test bed state folder (Radicale's collections)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the parent's syncs to this file")
	child := flag.String("first-sync-child", "", "internal: run one first sync into a new store in this folder, print JSON")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	b := &bench{base: strings.TrimSuffix(*base, "/") + "/", user: *user, pass: *pass,
		collection: filepath.Join(*dir, "radicale", "collections", "collection-root", *user, "calendar")}
	b.cal = b.base + *user + "/calendar/"
	if *child != "" {
		if err := b.firstSyncChild(*child); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := b.run(*events, *recurring, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type bench struct {
	base, cal, user, pass string
	collection            string // Radicale's folder for the calendar
	hc                    http.Client
}

func (b *bench) run(n int, recurring float64, runs int) error {
	ctx := context.Background()
	now := time.Now().UTC()
	seeded, err := b.seed(n, recurring, now)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("calendar %s: %d events, %d weekly series (%s)\n", b.cal, n, int(float64(n)*recurring), seeded)
	dir, err := os.MkdirTemp("", "touchbase-bench-caldav-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Println("\nfirst sync into an empty store (own process, for its peak RSS) vs one bare calendar-query REPORT with calendar-data, fully read:")
	var ratios []float64
	for i := range max(runs, 1) {
		r, err := b.firstVsReport(filepath.Join(dir, fmt.Sprint("first", i)))
		if err != nil {
			return err
		}
		ratios = append(ratios, r)
	}
	fmt.Printf("  median ratio first sync / REPORT: %.2f (goal <= 2)\n", medianOf(ratios))

	st, src, err := b.source(ctx, filepath.Join(dir, "steady"))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := src.Sync(ctx); err != nil {
		return err
	}
	// The first sync reads no sync token (Radicale computes it from every
	// item): the pass after it compares ETags once and records the token.
	start := time.Now()
	confirm, err := src.Sync(ctx)
	if err != nil {
		return err
	}
	fmt.Println()
	line("pass after the first sync (ETags)", time.Since(start), confirm)
	fmt.Println("\nno-change pass vs one bare Depth-0 PROPFIND of getctag + sync-token:")
	ratios = ratios[:0]
	for range max(runs, 1) {
		r, err := b.noChangeVsPropfind(ctx, src)
		if err != nil {
			return err
		}
		ratios = append(ratios, r)
	}
	fmt.Printf("  median ratio no-change / PROPFIND: %.2f (goal <= 1.5)\n", medianOf(ratios))

	var edited map[string]int64
	edit := median(runs, func() (time.Duration, error) {
		i := rand.IntN(n)
		if err := b.put(fmt.Sprintf("bench-%05d.ics", i), event(b.user, i, recurring, now, "edited "+time.Now().Format(time.RFC3339Nano))); err != nil {
			return 0, err
		}
		start := time.Now()
		edited, err = src.Sync(ctx)
		return time.Since(start), err
	})
	if edit.err != nil {
		return edit.err
	}
	fmt.Println()
	line("re-sync after one edit (median)", edit.d, edited)
	return nil
}

// firstVsReport times the bare REPORT, then a first sync in a child
// process, and prints both with their ratio and the child's peak RSS.
func (b *bench) firstVsReport(dir string) (float64, error) {
	start := time.Now()
	nb, err := b.calendarQuery()
	if err != nil {
		return 0, err
	}
	report := time.Since(start)
	child, err := b.childFirstSync(dir)
	if err != nil {
		return 0, err
	}
	ratio := float64(child.Nanos) / float64(report)
	fmt.Printf("  first sync %8s (%d requests, %.0f KB, %d objects, %d occurrences)  REPORT %8s (1 request, %.0f KB)  ratio %.2f  peak RSS %.1f MB\n",
		time.Duration(child.Nanos).Round(time.Millisecond), child.Stats["http_requests"], float64(child.Stats["http_bytes"])/1024,
		child.Stats["fetched"], child.Stats["stored"], report.Round(time.Millisecond), float64(nb)/1024, ratio, float64(child.HWMKB)/1024)
	return ratio, nil
}

// noChangeVsPropfind times a bare Depth-0 PROPFIND, then a no-change pass.
func (b *bench) noChangeVsPropfind(ctx context.Context, src *caldavsource.Source) (float64, error) {
	start := time.Now()
	if err := b.propfind(); err != nil {
		return 0, err
	}
	bare := time.Since(start)
	start = time.Now()
	stats, err := src.Sync(ctx)
	if err != nil {
		return 0, err
	}
	pass := time.Since(start)
	ratio := float64(pass) / float64(bare)
	fmt.Printf("  no-change %8s (%d requests, %d fetched)  PROPFIND %8s (1 request)  ratio %.2f\n",
		pass.Round(time.Millisecond), stats["http_requests"], stats["fetched"], bare.Round(time.Millisecond), ratio)
	return ratio, nil
}

func line(name string, d time.Duration, stats map[string]int64) {
	fmt.Printf("%-34s %9s  %5d requests  %9.1f KB\n", name, d.Round(time.Millisecond), stats["http_requests"], float64(stats["http_bytes"])/1024)
}

type result struct {
	d   time.Duration
	err error
}

func median(runs int, f func() (time.Duration, error)) result {
	var ds []time.Duration
	for range max(runs, 1) {
		d, err := f()
		if err != nil {
			return result{err: err}
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return result{d: ds[len(ds)/2]}
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func (b *bench) source(ctx context.Context, dir string) (*store.Store, *caldavsource.Source, error) {
	st, err := store.Open(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(b.pass), 0o600); err != nil {
		return nil, nil, err
	}
	backfill, _ := cadence.ParseSpan("365d")
	horizon, _ := cadence.ParseSpan("180d")
	acct := config.Account{Name: "bench", Email: b.user,
		CalDAV: &config.CalDAV{URL: b.base, Username: b.user, Password: config.Secret{File: passFile}}}
	src, err := caldavsource.New(acct, config.Sync{Backfill: backfill, Horizon: horizon}, time.UTC, st, zap.NewNop())
	return st, src, err
}

// calendarQuery reads every VEVENT with its data in one REPORT and returns
// the bytes received.
func (b *bench) calendarQuery() (int64, error) {
	body := `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>` +
		`<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter></c:calendar-query>`
	resp, err := b.do("REPORT", b.cal, "application/xml", body, "1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

// propfind reads the calendar's getctag and sync-token with one Depth-0
// PROPFIND, fully read: the least a pass that finds nothing changed costs.
func (b *bench) propfind() error {
	body := `<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>`
	resp, err := b.do("PROPFIND", b.cal, "application/xml", body, "0")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (b *bench) do(method, url, ctype, body, depth string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(b.user, b.pass)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if depth != "" {
		req.Header.Set("Depth", depth)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return resp, nil
}

func (b *bench) put(name, ics string) error {
	resp, err := b.do("PUT", b.cal+name, "text/calendar; charset=utf-8", ics, "")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// seed makes the calendar hold exactly bench-00000.ics … bench-N.ics:
// written as files into Radicale's collection (atomic renames, as
// testbed/seed does), then one REPORT makes Radicale parse and cache them
// and one PROPFIND brings its sync-token history up to date.
func (b *bench) seed(n int, recurring float64, now time.Time) (string, error) {
	entries, err := os.ReadDir(b.collection)
	if err != nil {
		return "", fmt.Errorf("radicale collection (run through bench/caldav/run.sh): %w", err)
	}
	start := time.Now()
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".ics") && !strings.HasPrefix(e.Name(), "bench-") {
			if err := os.Remove(filepath.Join(b.collection, e.Name())); err != nil {
				return "", err
			}
		}
	}
	for i := range n {
		name := fmt.Sprintf("bench-%05d.ics", i)
		data := []byte(event(b.user, i, recurring, now, ""))
		if old, err := os.ReadFile(filepath.Join(b.collection, name)); err == nil && bytes.Equal(old, data) {
			continue // unchanged: keep Radicale's cached parse
		}
		tmp := filepath.Join(b.collection, "."+name+".tmp")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, filepath.Join(b.collection, name)); err != nil {
			return "", err
		}
	}
	for i := n; ; i++ { // a larger earlier run may have left more
		if err := os.Remove(filepath.Join(b.collection, fmt.Sprintf("bench-%05d.ics", i))); err != nil {
			break
		}
	}
	written := time.Since(start)
	start = time.Now()
	hrefs, err := b.list()
	if err != nil {
		return "", err
	}
	if len(hrefs) != n {
		return "", fmt.Errorf("calendar lists %d objects after seeding %d", len(hrefs), n)
	}
	// Radicale updates its sync-token history item by item the first time
	// a token is asked for after files changed (~25 s for 5,000): a one-off
	// that would land on the first timed sync, not on the bare REPORT.
	if err := b.propfind(); err != nil {
		return "", err
	}
	return fmt.Sprintf("files written in %s, Radicale cache filled in %s",
		written.Round(time.Millisecond), time.Since(start).Round(time.Millisecond)), nil
}

// list returns the calendar's object names (an ETag-only calendar-query).
func (b *bench) list() ([]string, error) {
	body := `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>` +
		`<c:filter><c:comp-filter name="VCALENDAR"/></c:filter></c:calendar-query>`
	resp, err := b.do("REPORT", b.cal, "application/xml", body, "1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ms struct {
		Hrefs []string `xml:"DAV: response>href"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&ms); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var out []string
	for _, h := range ms.Hrefs {
		if name := path.Base(h); strings.HasSuffix(name, ".ics") {
			out = append(out, name)
		}
	}
	return out, nil
}

var zones = []string{"Europe/Berlin", "America/New_York", "UTC"}

// event is the deterministic calendar object number i.
func event(user string, i int, recurring float64, now time.Time, note string) string {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	day := now.Truncate(24*time.Hour).AddDate(0, 0, r.IntN(455)-365)
	start := day.Add(time.Duration(7+r.IntN(11))*time.Hour + time.Duration(15*r.IntN(4))*time.Minute)
	tz := zones[r.IntN(len(zones))]
	dt := func(prop string, t time.Time) string {
		if tz == "UTC" {
			return prop + ":" + t.Format("20060102T150405Z")
		}
		return prop + ";TZID=" + tz + ":" + t.Format("20060102T150405")
	}
	uid := fmt.Sprintf("bench-%05d@touchbase.test", i)
	customer := fmt.Sprintf("contact%d@customer%d.example", r.IntN(4), r.IntN(200))
	lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//touchbase//bench//EN", "BEGIN:VEVENT",
		"UID:" + uid, "DTSTAMP:20260101T000000Z", dt("DTSTART", start), dt("DTEND", start.Add(time.Hour)),
		"SUMMARY:Meeting " + fmt.Sprint(i) + note, "ORGANIZER:mailto:" + user,
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:" + user,
		"ATTENDEE;CN=Customer;PARTSTAT=ACCEPTED:mailto:" + customer,
		"DESCRIPTION:" + strings.Repeat("Agenda item. ", 1+r.IntN(20))}
	var override []string
	if float64(i%100) < recurring*100 {
		lines = append(lines, "RRULE:FREQ=WEEKLY;BYDAY="+strings.ToUpper(start.Weekday().String()[:2]))
		if i%2 == 0 {
			lines = append(lines, dt("EXDATE", start.AddDate(0, 0, 14)))
			moved := start.AddDate(0, 0, 21)
			override = []string{"BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260101T000000Z", dt("RECURRENCE-ID", moved),
				dt("DTSTART", moved.Add(time.Hour)), dt("DTEND", moved.Add(2*time.Hour)), "SUMMARY:Moved", "END:VEVENT"}
		}
	}
	lines = append(lines, "END:VEVENT")
	lines = append(lines, override...)
	lines = append(lines, "END:VCALENDAR")
	return strings.Join(lines, "\r\n") + "\r\n"
}
