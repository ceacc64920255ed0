package demo

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

func startCalDAV(t *testing.T, h *History) string {
	t.Helper()
	base, stop, err := StartCalDAV(t.Context(), demoUsers, h.Events)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return base
}

func calClient(t *testing.T, base, user string) *caldav.Client {
	t.Helper()
	c, err := caldav.NewClient(webdav.HTTPClientWithBasicAuth(nil, user, demoUsers[user]), base)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var allEvents = caldav.CalendarQuery{
	CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
	CompFilter:  caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{Name: "VEVENT"}}},
}

func TestStartCalDAVServesTheHistory(t *testing.T) {
	h := Scenario(nows[0].now)
	base := startCalDAV(t, h)
	for user := range demoUsers {
		t.Run(user, func(t *testing.T) {
			want := map[string]bool{}
			for _, e := range h.Events {
				if e.Owner == user {
					want[e.UID] = true
				}
			}
			ctx, c := t.Context(), calClient(t, base, user)
			principal, err := c.FindCurrentUserPrincipal(ctx)
			if err != nil || principal != "/"+user+"/" {
				t.Fatalf("principal: got %q (%v)", principal, err)
			}
			home, err := c.FindCalendarHomeSet(ctx, principal)
			if err != nil || home != "/"+user+"/calendars/" {
				t.Fatalf("home set: got %q (%v)", home, err)
			}
			cals, err := c.FindCalendars(ctx, home)
			if err != nil || len(cals) != 1 || cals[0].Path != CalendarPath(user) {
				t.Fatalf("calendars: got %+v (%v)", cals, err)
			}
			ranged := allEvents
			ranged.CompFilter.Comps = []caldav.CompFilter{{Name: "VEVENT", Start: h.Now.AddDate(0, -7, 0), End: h.Now.AddDate(0, 7, 0)}}
			// Long before the history: the time-range filter must drop
			// objects (only those go-webdav's matcher cannot read stay).
			before := allEvents
			before.CompFilter.Comps = []caldav.CompFilter{{Name: "VEVENT", Start: h.Now.AddDate(-3, 0, 0), End: h.Now.AddDate(-2, 0, 0)}}
			if objs, err := c.QueryCalendar(ctx, cals[0].Path, &before); err != nil || len(objs) >= len(want) {
				t.Errorf("query years before: got %d objects (%v), want fewer than %d", len(objs), err, len(want))
			}
			for name, q := range map[string]caldav.CalendarQuery{"all": allEvents, "time range": ranged} {
				objs, err := c.QueryCalendar(ctx, cals[0].Path, &q)
				if err != nil {
					t.Fatalf("%s: query: %v", name, err)
				}
				got := map[string]bool{}
				for _, o := range objs {
					uid, _ := calendarUID(o.Data)
					got[uid] = true
					if o.ETag == "" {
						t.Errorf("%s: %s without ETag", name, o.Path)
					}
				}
				if len(got) != len(want) || len(objs) != len(want) {
					t.Errorf("%s: got %d objects (%d UIDs), want %d", name, len(objs), len(got), len(want))
				}
				for uid := range want {
					if !got[uid] {
						t.Errorf("%s: missing %s", name, uid)
					}
				}
			}
		})
	}
}

func TestCalDAVObjectLifecycle(t *testing.T) {
	h := Scenario(nows[0].now)
	base := startCalDAV(t, h)
	ctx, c := t.Context(), calClient(t, base, anna.addr)
	first := h.Events[0]
	path := ObjectPath(first.Owner, first.UID)

	multi, err := c.MultiGetCalendar(ctx, CalendarPath(anna.addr), &caldav.CalendarMultiGet{Paths: []string{path},
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true}})
	if err != nil || len(multi) != 1 {
		t.Fatalf("multiget: %v (%d objects)", err, len(multi))
	}
	got, err := c.GetCalendarObject(ctx, path)
	if err != nil || got.ETag != multi[0].ETag {
		t.Fatalf("GET: ETag %q (%v), multiget said %q", got.ETag, err, multi[0].ETag)
	}

	cal, err := ical.NewDecoder(bytes.NewReader(first.ICS)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	cal.Children[len(cal.Children)-1].Props.SetText(ical.PropSummary, "renamed")
	put, err := c.PutCalendarObject(ctx, path, cal)
	if err != nil || put.ETag == "" || put.ETag == got.ETag {
		t.Fatalf("PUT over: ETag %q (%v), was %q: want a new one", put.ETag, err, got.ETag)
	}
	for _, tc := range []struct {
		name, header, value string
		want                int
	}{
		{"create-only on an existing object", "If-None-Match", "*", http.StatusPreconditionFailed},
		{"stale If-Match", "If-Match", `"` + got.ETag + `"`, http.StatusPreconditionFailed},
		{"current If-Match", "If-Match", `"` + put.ETag + `"`, http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := rawPut(t, base+strings.TrimPrefix(path, "/"), first.ICS, tc.header, tc.value); code != tc.want {
				t.Errorf("got %d, want %d", code, tc.want)
			}
		})
	}
	if err := c.RemoveAll(ctx, path); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	if _, err := c.GetCalendarObject(ctx, path); err == nil {
		t.Fatal("GET after DELETE succeeded")
	}
}

func rawPut(t *testing.T, url string, body []byte, header, value string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(anna.addr, demoUsers[anna.addr])
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	req.Header.Set(header, value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCalDAVAccess(t *testing.T) {
	base := startCalDAV(t, Scenario(nows[0].now))
	sync := `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`
	for _, tc := range []struct {
		name, method, path, user, pass, body string
		want                                 int
	}{
		{"wrong password", "PROPFIND", "", anna.addr, "nope", "", http.StatusUnauthorized},
		{"no credentials", "PROPFIND", "", "", "", "", http.StatusUnauthorized},
		{"another user's calendar", "PROPFIND", "/" + ben.addr + "/calendars/work/", anna.addr, demoUsers[anna.addr], "", http.StatusForbidden},
		{"own calendar", "PROPFIND", CalendarPath(anna.addr), anna.addr, demoUsers[anna.addr], "", http.StatusMultiStatus},
		// RFC 6578 is not supported: clients must fall back to ETag diffs.
		{"sync-collection refused", "REPORT", CalendarPath(anna.addr), anna.addr, demoUsers[anna.addr], sync, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, strings.TrimSuffix(base, "/")+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			req.Header.Set("Depth", "0")
			req.Header.Set("Content-Type", "application/xml")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("got %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
