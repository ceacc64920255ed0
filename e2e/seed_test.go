package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"

	"github.com/touchbase/touchbase/demo"
	"github.com/touchbase/touchbase/internal/testbed"
)

// The test bed account reserved for the end-to-end test. It holds the
// whole team's mail and calendars: the scenario's config maps every
// customer owner to it (demo.AccountOptions).
const (
	daveUser = "dave@example.test"
	davePass = "dave-pass"
)

// seedIMAP empties dave's INBOX and \Sent mailbox on the test bed's
// Dovecot, then APPENDs every mail of h (all owners' copies) with its flags
// and its Date as INTERNALDATE. Reruns start from the same state.
func seedIMAP(t *testing.T, env testbed.Env, h *demo.History) {
	t.Helper()
	emptyMailbox(t, env, daveUser, davePass)
	if err := demo.AppendIMAP(t.Context(), env["TESTBED_IMAP_ADDR"], daveUser, davePass, h.Mails); err != nil {
		t.Fatal(err)
	}
}

// emptyMailbox expunges every message of user's INBOX and \Sent mailbox.
func emptyMailbox(t *testing.T, env testbed.Env, user, pass string) {
	t.Helper()
	c, err := demo.DialIMAP(t.Context(), env["TESTBED_IMAP_ADDR"], user, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent, err := demo.SentMailbox(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, box := range []string{demo.Inbox, sent} {
		sel, err := c.Select(box, nil).Wait()
		if err != nil {
			t.Fatalf("select %s of %s: %v", box, user, err)
		}
		if sel.NumMessages == 0 {
			continue
		}
		var all imap.SeqSet
		all.AddRange(1, 0) // 1:*
		if err := c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatalf("flag %s of %s deleted: %v", box, user, err)
		}
		if err := c.Expunge().Close(); err != nil {
			t.Fatalf("expunge %s of %s: %v", box, user, err)
		}
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("logout: %v", err)
	}
}

// uniqueEvents keeps the first copy of each UID: invitations sit on several
// of the team's calendars, but one calendar holds a UID once (RFC 4791
// no-uid-conflict).
func uniqueEvents(h *demo.History) []demo.Event {
	seen := map[string]bool{}
	var out []demo.Event
	for _, e := range h.Events {
		if !seen[e.UID] {
			seen[e.UID] = true
			out = append(out, e)
		}
	}
	return out
}

// seedCalDAV deletes every object in dave's calendar on the test bed's
// Radicale, then PUTs each of h's events (one per UID) as
// <calendar>/<uid-hash>.ics with its exact bytes.
func seedCalDAV(t *testing.T, env testbed.Env, h *demo.History) {
	t.Helper()
	seedCalendar(t, env, daveUser, davePass, uniqueEvents(h))
}

// seedCalendar deletes every object in user's calendar on the test bed's
// Radicale, then PUTs each of events as <calendar>/<uid-hash>.ics with its
// exact bytes. A calendar holds a UID once: events must not repeat one.
func seedCalendar(t *testing.T, env testbed.Env, user, pass string, events []demo.Event) {
	t.Helper()
	ctx, cal := t.Context(), userCalendar(env, user)
	objs, err := queryCalendar(ctx, env, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if code := testbed.DAV(t, http.MethodDelete, strings.TrimSuffix(env["TESTBED_CALDAV_URL"], "/")+o.Path, user, pass, nil); code != http.StatusOK && code != http.StatusNoContent {
			t.Fatalf("delete %s: status %d", o.Path, code)
		}
	}
	for _, e := range events {
		if code := testbed.DAV(t, http.MethodPut, cal+demo.UIDHash(e.UID)+".ics", user, pass, e.ICS); code != http.StatusCreated && code != http.StatusNoContent {
			t.Fatalf("put %s: status %d", e.UID, code)
		}
	}
}

func calendarPath(user string) string { return "/" + user + "/calendar/" }

// userCalendar is user's one Radicale calendar.
func userCalendar(env testbed.Env, user string) string {
	return strings.TrimSuffix(env["TESTBED_CALDAV_URL"], "/") + calendarPath(user)
}

// queryDave lists every event object in dave's calendar (calendar-query).
func queryDave(ctx context.Context, env testbed.Env) ([]caldav.CalendarObject, error) {
	return queryCalendar(ctx, env, daveUser, davePass)
}

// queryCalendar lists every event object in user's calendar (calendar-query).
func queryCalendar(ctx context.Context, env testbed.Env, user, pass string) ([]caldav.CalendarObject, error) {
	c, err := caldav.NewClient(webdav.HTTPClientWithBasicAuth(nil, user, pass), env["TESTBED_CALDAV_URL"])
	if err != nil {
		return nil, fmt.Errorf("caldav client: %w", err)
	}
	objs, err := c.QueryCalendar(ctx, calendarPath(user), &caldav.CalendarQuery{
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
		CompFilter:  caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{Name: "VEVENT"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", calendarPath(user), err)
	}
	return objs, nil
}
