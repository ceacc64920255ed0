package caldavsource

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

// cannedServer answers the home-set listing and the first sync's REPORT
// with fixed multistatus bodies, as a server that sends one object it
// cannot read as a 500 response inside an otherwise good answer, and one
// malformed object. Multigets of the unreadable object keep failing.
type cannedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

const cannedCal = "/cal/"

func newCannedServer(t *testing.T, good string) *cannedServer {
	s := &cannedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.Header.Get("Depth"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		switch {
		case r.Method == "PROPFIND":
			fmt.Fprintf(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">
<d:response><d:href>%s</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype>
<cs:getctag>ctag-1</cs:getctag><d:sync-token>token-1</d:sync-token></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>`, cannedCal)
		case strings.Contains(string(body), "calendar-query"):
			fmt.Fprintf(w, `<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:response><d:href>%[1]sgood.ics</d:href><d:propstat><d:prop><d:getetag>"g1"</d:getetag><c:calendar-data>%[2]s</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>%[1]sbroken.ics</d:href><d:status>HTTP/1.1 500 Internal Server Error</d:status></d:response>
<d:response><d:href>%[1]smalformed.ics</d:href><d:propstat><d:prop><d:getetag>"m1"</d:getetag><c:calendar-data>not a calendar</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
</d:multistatus>`, cannedCal, xmlText(good))
		default: // the multiget of broken.ics
			fmt.Fprintf(w, `<d:multistatus xmlns:d="DAV:"><d:response><d:href>%sbroken.ics</d:href><d:status>HTTP/1.1 500 Internal Server Error</d:status></d:response></d:multistatus>`, cannedCal)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// TestFirstSyncSkipsBadObjects: in the first sync's streamed REPORT, an
// object the server fails on is fetched again alone and, failing again,
// counted without losing the others; a malformed one is stored without
// occurrences. The state is not recorded, so the next pass compares ETags
// rather than trusting a token that would never list the failed object.
func TestFirstSyncSkipsBadObjects(t *testing.T) {
	at := testNow.AddDate(0, 0, 2)
	srv := newCannedServer(t, vevent("good@x", utcStamp(at), utcStamp(at.Add(time.Hour)), "Good", nil))
	st := openStore(t, t.TempDir())
	src := newSource(t, account(t, "alice", "alice@example.test", srv.URL+cannedCal, "", ""), st, testNow)
	src.home = cannedCal // no principal discovery: list the calendar's parent directly

	stats, err := src.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "1 calendar objects could not be fetched") {
		t.Errorf("sync error %v, want the broken object reported", err)
	}
	if _, ok := meetings(t, st)[cadence.MeetingKey("good@x", at)]; !ok {
		t.Errorf("good meeting not stored (stats %v)", stats)
	}
	if stats["fetched"] != 2 || stats["skipped_malformed"] != 1 || stats["skipped_fetch_error"] != 1 {
		t.Errorf("stats %v: want fetched 2, skipped_malformed 1, skipped_fetch_error 1", stats)
	}
	etags, err := st.CalDAVETags(context.Background(), "alice", srv.URL+cannedCal)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(etags) != `map[/cal/good.ics:"g1" /cal/malformed.ics:"m1"]` {
		t.Errorf("stored etags %v, want good and malformed", etags)
	}
	cals, err := st.CalDAVCalendars(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cals {
		if c.SyncToken != "" || c.CTag != "" {
			t.Errorf("state recorded despite a failed object: %+v", c)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if got := fmt.Sprint(srv.requests); got != "[PROPFIND 1 REPORT 1 REPORT 1]" {
		t.Errorf("requests %s, want the listing, one calendar-query and one multiget", got)
	}
}
