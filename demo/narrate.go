package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/evaluate"
)

// narrator prints the demo's story. Webhooks arrive on the sink's
// goroutines while the main one prints progress, so every print takes mu
// and writes whole lines.
type narrator struct {
	mu    sync.Mutex
	out   io.Writer
	start time.Time
	h     *History
	loc   *time.Location
	why   map[string]string   // alertKey → Why, for expected alerts
	seen  map[string][]string // customer ID → alerts received
	// held keeps webhook blocks back until the sync and cadence are told:
	// on loopback the first webhooks beat the status poll.
	held    bool
	pending []string
}

func newNarrator(out io.Writer, start time.Time, h *History) *narrator {
	n := &narrator{out: out, start: start, h: h, loc: mustZone(h.Timezone), why: map[string]string{},
		seen: map[string][]string{}, held: true}
	for _, e := range h.Expected {
		n.why[alertKey(e.Type, e.Customer, e.Commitment)] = e.Why
	}
	return n
}

func alertKey(typ, customer, commitment string) string {
	return typ + " " + customer + "/" + commitment
}

// printf writes one block of output at once.
func (n *narrator) printf(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.out, format, args...)
}

// release prints the webhooks held back so far; later ones print at once.
func (n *narrator) release() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.pending) > 0 {
		fmt.Fprintf(n.out, "%s webhooks received so far, each signature verified:\n", n.stamp())
	}
	for _, p := range n.pending {
		fmt.Fprint(n.out, p)
	}
	n.pending, n.held = nil, false
}

// stamp is the time since the demo started, for the left margin.
func (n *narrator) stamp() string {
	return fmt.Sprintf("[%5.1fs]", time.Since(n.start).Seconds())
}

func (n *narrator) say(msg string) { n.printf("%s %s\n", n.stamp(), msg) }

func (n *narrator) intro(env *runEnv) {
	var b strings.Builder
	fmt.Fprintf(&b, "Touchbase demo: Northwind Consulting (%s) and six customers, six months of history.\n\n",
		strings.Join(accountEmails(n.h), ", "))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  IMAP\timap://%s\t(go-imap in-memory server, %d messages in INBOX and Sent)\n", env.imapAddr, len(n.h.Mails))
	fmt.Fprintf(tw, "  CalDAV\t%s\t(go-webdav server, %d calendar objects)\n", env.caldavURL, len(n.h.Events))
	fmt.Fprintf(tw, "  webhooks\t%s\t(a local receiver that verifies every signature)\n", env.sink.URL())
	fmt.Fprintf(tw, "  config\t%s\t\n", env.configPath)
	fmt.Fprintf(tw, "  daemon log\t%s\t\n", env.logPath)
	tw.Flush()
	fmt.Fprintf(&b, "\nStarting the daemon (the same code as `touchbase daemon`) against them...\n")
	n.printf("%s", b.String())
}

func accountEmails(h *History) []string {
	var out []string
	for _, a := range h.Accounts {
		out = append(out, a.Email)
	}
	return out
}

// watchSync polls the daemon's status until every source synced once,
// printing each as it completes, then the interaction totals.
func (n *narrator) watchSync(ctx context.Context, d *daemon.Daemon) error {
	done := map[string]bool{}
	failing := map[string]string{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := d.Status(ctx)
		if err != nil {
			return err
		}
		all := len(st.Sources) > 0
		for _, s := range st.Sources {
			switch {
			case done[s.Name]:
			case s.LastSuccessAt != nil:
				done[s.Name] = true
				n.say(fmt.Sprintf("synced %-12s %s", s.Name, statsLine(s.Stats)))
			case s.LastError != "" && failing[s.Name] != s.LastError:
				failing[s.Name] = s.LastError
				n.say(fmt.Sprintf("%s is failing (retrying): %s", s.Name, s.LastError))
			}
			all = all && done[s.Name]
		}
		if all {
			n.say(interactionsLine(st.Interactions))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d sources synced: %w", len(done), len(st.Sources), ctx.Err())
		case <-tick.C:
		}
	}
}

func statsLine(stats map[string]int64) string {
	parts := []string{fmt.Sprintf("%d fetched", stats["fetched"])}
	if v, ok := stats["occurrences"]; ok {
		parts = append(parts, fmt.Sprintf("%d occurrences", v))
	}
	parts = append(parts, fmt.Sprintf("%d stored", stats["stored"]))
	if v := stats["duplicates"]; v > 0 {
		parts = append(parts, fmt.Sprintf("%d already known (same Message-ID in another folder or account)", v))
	}
	return strings.Join(parts, ", ")
}

func interactionsLine(in daemon.InteractionsStatus) string {
	total := in.Counted
	var reasons []string
	for r, c := range in.Filtered {
		total += c
		reasons = append(reasons, fmt.Sprintf("%s %d", strings.ReplaceAll(r, "_", " "), c))
	}
	sort.Strings(reasons)
	return fmt.Sprintf("%d interactions stored (metadata only, never bodies): %d count; never counted: %s",
		total, in.Counted, strings.Join(reasons, ", "))
}

// cadence prints each customer's observed cadence, read over the demo's
// API socket as `touchbase customers` does.
func (n *narrator) cadence(ctx context.Context, socket string) error {
	var cs []evaluate.CustomerView
	if err := getJSON(ctx, socket, "/v1/customers", &cs); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s observed cadence per customer (touchbase customers):\n", n.stamp())
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CUSTOMER\tTYPICAL GAP\tCONTACTS 30D/90D\tLAST CONTACT\tSTATE\tNEXT DUE")
	now := time.Now()
	for _, c := range cs {
		fmt.Fprintf(tw, "  %s\t%s\t%d / %d\t%s\t%s\t%s\n", c.Name, gap(c.MedianInterval), c.Contacts30d, c.Contacts90d,
			ago(c.LastContactAt, now), c.State, n.when(c.NextDueAt))
	}
	tw.Flush()
	n.printf("%s", b.String())
	return nil
}

// gap renders a median interval as days.
func gap(d *string) string {
	if d == nil {
		return "-"
	}
	v, err := time.ParseDuration(*d)
	if err != nil {
		return *d
	}
	return fmt.Sprintf("%.1f days", v.Hours()/24)
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	switch days := math.Round(now.Sub(*t).Hours() / 24); days {
	case 0:
		return "today"
	case 1:
		return "1 day ago"
	default:
		return fmt.Sprintf("%.0f days ago", days)
	}
}

func (n *narrator) when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.In(n.loc).Format("Mon 2 Jan 15:04")
}

// getJSON GETs path from the daemon's API on its unix socket.
func getJSON(ctx context.Context, socket, path string, v any) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://touchbase"+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("query daemon on %s: %w", socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("query daemon: %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("query daemon: %s: %w", path, err)
	}
	return nil
}
