package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// StartCalDAV serves events over CalDAV (RFC 4791) on a free loopback port
// with go-webdav's caldav.Handler and an in-memory backend. users maps login
// (an email address) to password (HTTP basic auth). Each user has the
// principal /<user>/, the calendar home set /<user>/calendars/ and one
// calendar /<user>/calendars/work/ holding the events whose Owner is that
// user, one object per UID at ObjectPath. Discovery PROPFINDs,
// calendar-query and calendar-multiget REPORTs, GET, PUT (with If-Match /
// If-None-Match) and DELETE work, with ETags; RFC 6578 sync-collection is
// refused, as go-webdav does, so clients exercise their fallback.
//
// The server runs until stop is called or ctx ends; stop is idempotent.
func StartCalDAV(ctx context.Context, users map[string]string, events []Event) (baseURL string, stop func(), err error) {
	st := &calStore{objects: map[string]*calObject{}}
	for _, e := range events {
		if _, ok := users[e.Owner]; !ok {
			return "", nil, fmt.Errorf("seed event %s: no CalDAV user %s", e.UID, e.Owner)
		}
		cal, err := ical.NewDecoder(bytes.NewReader(e.ICS)).Decode()
		if err != nil {
			return "", nil, fmt.Errorf("seed event %s: parse: %w", e.UID, err)
		}
		if _, err := st.put(ObjectPath(e.Owner, e.UID), cal, nil); err != nil {
			return "", nil, fmt.Errorf("seed event %s for %s: %w", e.UID, e.Owner, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for CalDAV: %w", err)
	}
	srv := &http.Server{
		Handler:           basicAuth(users, &caldav.Handler{Backend: &calBackend{st: st}}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln) //nolint:errcheck // returns http.ErrServerClosed on stop
	var once sync.Once
	done := make(chan struct{})
	stop = func() {
		once.Do(func() {
			close(done)
			srv.Close()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-done:
		}
	}()
	return "http://" + ln.Addr().String() + "/", stop, nil
}

// CalendarPath is the path of user's one calendar on the demo server.
func CalendarPath(user string) string { return "/" + user + "/calendars/work/" }

// ObjectPath is where the demo server keeps the event with uid: a hash, as
// UIDs may hold characters that are awkward in URLs.
func ObjectPath(user, uid string) string { return CalendarPath(user) + UIDHash(uid) + ".ics" }

// UIDHash is a stable, URL-safe resource name for a UID.
func UIDHash(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[:12])
}

type userKey struct{}

// basicAuth admits known users to their own tree only (and to the root and
// /.well-known/caldav, which lead to the principal).
func basicAuth(users map[string]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		want, known := users[user]
		if !ok || !known || subtle.ConstantTimeCompare([]byte(pass), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="touchbase demo"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		p := r.URL.Path
		if p != "/" && p != "/.well-known/caldav" && !strings.HasPrefix(p+"/", "/"+user+"/") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

// calObject is one stored calendar object resource.
type calObject struct {
	cal  *ical.Calendar
	uid  string
	data []byte // the encoded form that GET returns; the ETag hashes it
	etag string
	mod  time.Time
}

func (o *calObject) object(path string) caldav.CalendarObject {
	return caldav.CalendarObject{Path: path, ModTime: o.mod, ContentLength: int64(len(o.data)), ETag: o.etag, Data: o.cal}
}

// calStore holds every user's objects by path.
type calStore struct {
	mu      sync.Mutex
	objects map[string]*calObject
}

var errNotFound = webdav.NewHTTPError(http.StatusNotFound, errors.New("no such calendar object"))

func (st *calStore) put(path string, cal *ical.Calendar, opts *caldav.PutCalendarObjectOptions) (*caldav.CalendarObject, error) {
	if _, _, err := caldav.ValidateCalendarObject(cal); err != nil {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, err)
	}
	uid, err := calendarUID(cal)
	if err != nil {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, err)
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	o := &calObject{cal: cal, uid: uid, data: buf.Bytes(), etag: hex.EncodeToString(sum[:8]), mod: time.Now().UTC()}

	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.objects[path]
	if err := checkConditions(old, opts); err != nil {
		return nil, err
	}
	dir := path[:strings.LastIndex(path, "/")+1]
	for p, other := range st.objects {
		if p != path && other.uid == uid && strings.HasPrefix(p, dir) {
			return nil, caldav.NewPreconditionError(caldav.PreconditionNoUIDConflict)
		}
	}
	st.objects[path] = o
	co := o.object(path)
	return &co, nil
}

// checkConditions applies If-None-Match: * and If-Match (RFC 7232) to old,
// the current object or nil.
func checkConditions(old *calObject, opts *caldav.PutCalendarObjectOptions) error {
	if opts == nil {
		return nil
	}
	failed := webdav.NewHTTPError(http.StatusPreconditionFailed, errors.New("precondition failed"))
	if opts.IfNoneMatch.IsWildcard() && old != nil {
		return failed
	}
	if opts.IfMatch.IsSet() {
		if old == nil {
			return failed
		}
		if ok, err := opts.IfMatch.MatchETag(old.etag); err != nil || !ok {
			return failed
		}
	}
	return nil
}

func calendarUID(cal *ical.Calendar) (string, error) {
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent {
			return c.Props.Text(ical.PropUID)
		}
	}
	return "", errors.New("calendar object without VEVENT")
}

func (st *calStore) get(path string) (caldav.CalendarObject, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	o, ok := st.objects[path]
	if !ok {
		return caldav.CalendarObject{}, false
	}
	return o.object(path), true
}

func (st *calStore) list(dir string) []caldav.CalendarObject {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []caldav.CalendarObject
	for p, o := range st.objects {
		if strings.HasPrefix(p, dir) {
			out = append(out, o.object(p))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (st *calStore) delete(path string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.objects[path]
	delete(st.objects, path)
	return ok
}
