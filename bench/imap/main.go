// Command imap measures the IMAP sync (issue 3) against a real server. Each
// mode is one process, so its peak RSS is its own; bench/imap/run.sh runs
// them in order and prints the figures.
//
//	go run ./bench/imap -mode bare   -addr 127.0.0.1:10143 -user U -pass P
//	go run ./bench/imap -mode sync   -addr ... -data DIR   # first sync into a fresh store in DIR
//	go run ./bench/imap -mode resync -addr ... -data DIR   # no-change passes over that store
//	go run ./bench/imap -mode idle   -addr ... -data DIR   # push latency: APPEND to stored
//	go run ./bench/imap -mode remove -data DIR             # delete the store of DIR
//
// -store postgres puts the store of DIR in a PostgreSQL database instead
// (internal/benchbackend: -pg-admin names the server).
//
// "bare" is the reference: go-imap's UID FETCH 1:* over INBOX, messages
// consumed and dropped, of the items -items names (headers: exactly what
// a sync fetches; envelope: UID ENVELOPE INTERNALDATE). "sync" is the
// full path, fetch + classify + store, of imapsource.Source.Sync. "resync"
// repeats Sync on an unchanged mailbox over one kept connection and counts
// the IMAP commands it sends through a loopback proxy. "idle" runs Watch,
// syncs on each signal as the daemon's scheduler does, APPENDs messages to
// INBOX and times each from APPEND to stored interaction; it deletes them
// afterwards, leaving the mailbox as it was.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/internal/benchbackend"
	"github.com/touchbase/touchbase/store"
	"github.com/touchbase/touchbase/sync/imapsource"
)

// stores opens the store of -data on the backend -store names.
var stores = benchbackend.Register(flag.CommandLine)

func main() {
	mode := flag.String("mode", "bare", "bare | sync | resync | idle | remove")
	items := flag.String("items", "envelope", "bare: what to fetch: envelope (UID ENVELOPE INTERNALDATE), "+
		"headers (what a sync fetches: UID INTERNALDATE and its header fields) or both")
	addr := flag.String("addr", "127.0.0.1:10143", "IMAP server (plain TCP)")
	user := flag.String("user", "carol@example.test", "login")
	pass := flag.String("pass", "carol-pass", "password")
	data := flag.String("data", "", "store directory (sync, resync)")
	passes := flag.Int("passes", 20, "resync: passes to time")
	backfill := flag.String("backfill", "0", "sync.backfill (0: the whole folder)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memprofile := flag.String("memprofile", "", "write an allocation profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
		}
	}
	var err error
	switch *mode {
	case "bare":
		err = bare(*addr, *user, *pass, *items)
	case "sync":
		err = firstSync(*addr, *user, *pass, *data, *backfill)
	case "resync":
		err = resync(*addr, *user, *pass, *data, *backfill, *passes)
	case "idle":
		err = idle(*addr, *user, *pass, *data, *backfill, 5)
	case "remove":
		err = stores.Remove(context.Background(), *data)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	pprof.StopCPUProfile()
	if *memprofile != "" {
		if f, err := os.Create(*memprofile); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bareItems are the fetch items of the bare loop's variants: the envelope
// (the historical reference), exactly what a sync fetches, or both.
func bareItems(items string) (*imap.FetchOptions, error) {
	switch items {
	case "envelope":
		return &imap.FetchOptions{UID: true, Envelope: true, InternalDate: true}, nil
	case "headers":
		return imapsource.FetchOptions(), nil
	case "both":
		opts := imapsource.FetchOptions()
		opts.Envelope = true
		return opts, nil
	}
	return nil, fmt.Errorf("unknown -items %q", items)
}

// bare times UID FETCH 1:* with items on INBOX.
func bare(addr, user, pass, items string) error {
	opts, err := bareItems(items)
	if err != nil {
		return err
	}
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return err
	}
	start, cpu := time.Now(), startCPU()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return err
	}
	var all imap.UIDSet
	all.AddRange(1, 0)
	cmd := c.Fetch(all, opts)
	n := 0
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if _, err := msg.Collect(); err != nil {
			return err
		}
		n++
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("bare(%s): messages=%d seconds=%.3f rate=%.0f peak_rss_mb=%.1f %s\n", items, n, took.Seconds(), float64(n)/took.Seconds(), peakRSS(), cpu)
	return c.Logout().Wait()
}

func newSource(addr, user, pass, data, backfill string, log *zap.Logger) (*imapsource.Source, *store.Store, error) {
	span, err := cadence.ParseSpan(backfill)
	if err != nil {
		return nil, nil, err
	}
	st, err := stores.Open(context.Background(), data)
	if err != nil {
		return nil, nil, err
	}
	os.Setenv("BENCH_IMAP_PASSWORD", pass)
	acct := config.Account{Name: "bench", Email: user, IMAP: &config.IMAP{
		Addr: addr, TLS: config.TLSNone, Username: user, Password: config.Secret{Env: "BENCH_IMAP_PASSWORD"},
		Folders: []string{"INBOX"}}}
	src, err := imapsource.New(acct, config.Sync{Backfill: span}, st, log)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return src, st, nil
}

// firstSync times one Sync of INBOX into a fresh store.
func firstSync(addr, user, pass, data, backfill string) error {
	if data == "" {
		return fmt.Errorf("-data is required")
	}
	if err := stores.Remove(context.Background(), data); err != nil {
		return err
	}
	src, st, err := newSource(addr, user, pass, data, backfill, zap.NewNop())
	if err != nil {
		return err
	}
	defer st.Close()
	start, cpu := time.Now(), startCPU()
	stats, err := src.Sync(context.Background())
	took := time.Since(start)
	if err != nil {
		return err
	}
	n := stats["fetched"]
	fmt.Printf("sync: messages=%d stored=%d skipped=%d seconds=%.3f rate=%.0f peak_rss_mb=%.1f store=%s %s\n",
		n, stats["stored"], stats["skipped_malformed"], took.Seconds(), float64(n)/took.Seconds(), peakRSS(), stores.Backend, cpu)
	return src.Close()
}

// resync times no-change passes over one kept connection, counting the
// commands each sends.
func resync(addr, user, pass, data, backfill string, passes int) error {
	p, err := startProxy(addr)
	if err != nil {
		return err
	}
	defer p.close()
	src, st, err := newSource(p.addr, user, pass, data, backfill, zap.NewNop())
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := src.Sync(ctx); err != nil { // connects; must find nothing new
		return err
	}
	p.mu.Lock()
	clear(p.seen) // count only the timed passes' commands
	p.mu.Unlock()
	var times []time.Duration
	var cmds []int64
	for range passes {
		before := p.commands.Load()
		start := time.Now()
		stats, err := src.Sync(ctx)
		if err != nil {
			return err
		}
		times = append(times, time.Since(start))
		cmds = append(cmds, p.commands.Load()-before)
		if stats["fetched"] != 0 {
			return fmt.Errorf("no-change pass fetched %d messages", stats["fetched"])
		}
	}
	slices.Sort(times)
	fmt.Printf("resync: passes=%d folders=1 commands_per_pass=%v median_ms=%.2f max_ms=%.2f commands=%s\n",
		passes, cmds[0], ms(times[len(times)/2]), ms(times[len(times)-1]), strings.Join(p.names(), ","))
	return src.Close()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuMark is where the CPU counters stood when a measurement began. On a
// machine with few cores the bare loop alone keeps them all busy (Dovecot
// and go-imap's reader), so the CPU seconds a run uses, the machine's and
// this process's, bound the ratio a sync can reach: run.sh prints it.
type cpuMark struct{ machine, own time.Duration }

func startCPU() cpuMark { return cpuMark{machineBusy(), ownCPU()} }

// String reports the CPU used since m: machine_cpu_s (every process, from
// /proc/stat) and own_cpu_s (this process, getrusage).
func (m cpuMark) String() string {
	return fmt.Sprintf("machine_cpu_s=%.2f own_cpu_s=%.2f", (machineBusy() - m.machine).Seconds(), (ownCPU() - m.own).Seconds())
}

// machineBusy is the time all CPUs spent not idle since boot (the first
// line of /proc/stat, in USER_HZ ticks of 10 ms).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var busy int64
	for i, f := range strings.Fields(line)[1:] {
		var v int64
		fmt.Sscan(f, &v)
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond
}

func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is this process's peak resident set size (VmHWM), in MB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return kb / 1024
		}
	}
	return -1
}

// proxy relays one client connection at a time to the server and counts
// the tagged commands the client sends (go-imap tags are T1, T2, ...).
type proxy struct {
	ln       net.Listener
	addr     string
	commands atomic.Int64
	mu       sync.Mutex
	seen     map[string]bool
}

var tagged = regexp.MustCompile(`^T\d+ ([A-Za-z]+( [A-Za-z]+)?)`)

func startProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, addr: ln.Addr().String(), seen: map[string]bool{}}
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			go func() { io.Copy(client, server); client.Close() }()
			go func() { p.count(io.TeeReader(client, server)); server.Close() }()
		}
	}()
	return p, nil
}

func (p *proxy) count(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		m := tagged.FindSubmatch(bytes.TrimSpace(sc.Bytes()))
		if m == nil {
			continue
		}
		p.commands.Add(1)
		p.mu.Lock()
		p.seen[strings.ToUpper(strings.Fields(string(m[1]))[0])] = true
		p.mu.Unlock()
	}
}

func (p *proxy) names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for n := range p.seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (p *proxy) close() { p.ln.Close() }

// idle measures push latency: APPEND → IDLE notification → Sync → stored.
func idle(addr, user, pass, data, backfill string, n int) error {
	src, st, err := newSource(addr, user, pass, data, backfill, zap.NewNop())
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := src.Sync(ctx); err != nil {
		return err
	}
	changed := make(chan struct{}, 1)
	go src.Watch(ctx, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	stored := make(chan time.Duration, 64) // each storing pass's duration
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				t0 := time.Now()
				stats, err := src.Sync(ctx)
				if err == nil && stats["stored"] > 0 {
					stored <- time.Since(t0)
				}
			}
		}
	}()
	time.Sleep(time.Second) // let the watch settle
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		return err
	}
	var lat, appends, passes []time.Duration
	for i := range n {
		raw := fmt.Sprintf("Date: %s\r\nFrom: ann@acme.test\r\nTo: %s\r\nSubject: push %d\r\nMessage-ID: <push-%d-%d@bench.test>\r\n\r\nhi\r\n",
			time.Now().Format(time.RFC1123Z), user, i, time.Now().UnixNano(), i)
		start := time.Now()
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write([]byte(raw))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			return err
		}
		appended := time.Since(start)
		select {
		case pass := <-stored:
			lat = append(lat, time.Since(start))
			appends = append(appends, appended)
			passes = append(passes, pass)
		case <-time.After(30 * time.Second):
			return fmt.Errorf("message %d never stored", i)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Leave the mailbox as it was: delete what was appended.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return err
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "push"}}}, nil).Wait()
	if err == nil {
		if uids, _ := found.All.(imap.UIDSet); len(uids) > 0 {
			c.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
			c.Expunge().Close()
		}
	}
	for _, l := range [][]time.Duration{lat, appends, passes} {
		slices.Sort(l)
	}
	fmt.Printf("idle: messages=%d append_to_stored_median_ms=%.0f max_ms=%.0f (server APPEND median_ms=%.0f, sync pass median_ms=%.1f)\n",
		len(lat), ms(lat[len(lat)/2]), ms(lat[len(lat)-1]), ms(appends[len(appends)/2]), ms(passes[len(passes)/2]))
	return nil
}
