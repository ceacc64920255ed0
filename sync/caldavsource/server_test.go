package caldavsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// memServer is an in-process CalDAV server: go-webdav's caldav.Handler
// over an in-memory backend, with basic auth. Each user has a principal
// /<user>/, a home set /<user>/calendars/ and the calendars added with
// addCalendar. go-webdav's server has no getctag and no sync-collection,
// so the source runs its ETag-listing fallback against it.
type memServer struct {
	*httptest.Server
	mu        sync.Mutex
	users     map[string]string
	calendars map[string]caldav.Calendar                  // by path
	objects   map[string]map[string]caldav.CalendarObject // calendar path → object path → object
	failHref  string                                      // a multiget naming it, and any query with data, answers 500
	refuse    string                                      // a calendar-query containing it answers 501
	delay     time.Duration                               // added to every multiget, and per write of a query's answer
	requests  []string
	// bearer, when set, makes the server take only bearer tokens (RFC
	// 6750), mapping a valid one to its user ("" for an invalid one).
	bearer func(token string) string
}

type userKey struct{}

func newMemServer(t testing.TB, users map[string]string) *memServer {
	s := &memServer{users: users, calendars: map[string]caldav.Calendar{}, objects: map[string]map[string]caldav.CalendarObject{}}
	h := &caldav.Handler{Backend: memBackend{s}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		s.mu.Lock()
		bearer := s.bearer
		s.mu.Unlock()
		if bearer != nil {
			tok, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if user = ""; isBearer {
				user = bearer(tok)
			}
			if user == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="test", error="invalid_token"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			ok, pass = true, s.users[user]
		}
		if !ok || s.users[user] != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		fail, delay := s.failHref != "" && bytes.Contains(body, []byte(s.failHref)), s.delay
		refuse := s.refuse != "" && bytes.Contains(body, []byte(s.refuse)) && bytes.Contains(body, []byte("calendar-query"))
		s.mu.Unlock()
		if refuse {
			http.Error(w, "not implemented", http.StatusNotImplemented)
			return
		}
		if r.Method == "REPORT" && bytes.Contains(body, []byte("calendar-multiget")) {
			time.Sleep(delay)
			if fail {
				http.Error(w, "cannot serialise object", http.StatusInternalServerError)
				return
			}
		}
		query := r.Method == "REPORT" && bytes.Contains(body, []byte("calendar-query"))
		if query && bytes.Contains(body, []byte("calendar-data")) {
			// One object the server cannot serialise fails a whole
			// query with data, as it fails any multiget naming it.
			if s.failing(r.URL.Path) {
				http.Error(w, "cannot serialise object", http.StatusInternalServerError)
				return
			}
			if delay > 0 {
				w = &slowWriter{ResponseWriter: w, delay: delay}
			}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	}))
	t.Cleanup(s.Close)
	return s
}

// failing reports whether the calendar at p holds the object failHref.
func (s *memServer) failing(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failHref == "" {
		return false
	}
	for o := range s.objects[strings.TrimSuffix(p, "/")+"/"] {
		if strings.Contains(o, s.failHref) {
			return true
		}
	}
	return false
}

// slowWriter sends an answer in small flushed pieces with a pause before
// each, so that a client reading it stores several batches meanwhile.
type slowWriter struct {
	http.ResponseWriter
	delay time.Duration
}

func (w *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), 2048)
		time.Sleep(w.delay)
		m, err := w.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		w.ResponseWriter.(http.Flusher).Flush()
		p = p[k:]
	}
	return n, nil
}

func (s *memServer) addCalendar(user, name, display string, comps ...string) string {
	p := "/" + user + "/calendars/" + name + "/"
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calendars[p] = caldav.Calendar{Path: p, Name: display, SupportedComponentSet: comps}
	s.objects[p] = map[string]caldav.CalendarObject{}
	return p
}

func (s *memServer) put(t testing.TB, objPath, ics string) {
	t.Helper()
	if err := s.store(objPath, ics); err != nil {
		t.Fatal(err)
	}
}

func (s *memServer) store(objPath, ics string) error {
	cal, err := ical.NewDecoder(strings.NewReader(ics)).Decode()
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(ics))
	s.mu.Lock()
	defer s.mu.Unlock()
	objs := s.objects[path.Dir(objPath)+"/"]
	if objs == nil {
		return webdav.NewHTTPError(http.StatusConflict, errors.New("no such calendar"))
	}
	objs[objPath] = caldav.CalendarObject{Path: objPath, ETag: hex.EncodeToString(sum[:8]), ModTime: time.Now(), Data: cal}
	return nil
}

func (s *memServer) remove(objPath string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects[path.Dir(objPath)+"/"], objPath)
}

func (s *memServer) takeRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

// memBackend implements caldav.Backend over a memServer.
type memBackend struct{ s *memServer }

var errNotFound = webdav.NewHTTPError(http.StatusNotFound, errors.New("not found"))

func userOf(ctx context.Context) string { u, _ := ctx.Value(userKey{}).(string); return u }

func (b memBackend) CurrentUserPrincipal(ctx context.Context) (string, error) {
	return "/" + userOf(ctx) + "/", nil
}

func (b memBackend) CalendarHomeSetPath(ctx context.Context) (string, error) {
	return "/" + userOf(ctx) + "/calendars/", nil
}

func (b memBackend) CreateCalendar(context.Context, *caldav.Calendar) error {
	return webdav.NewHTTPError(http.StatusForbidden, errors.New("read-only"))
}

func (b memBackend) ListCalendars(ctx context.Context) ([]caldav.Calendar, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	var out []caldav.Calendar
	for p, c := range b.s.calendars {
		if strings.HasPrefix(p, "/"+userOf(ctx)+"/") {
			out = append(out, c)
		}
	}
	return out, nil
}

func (b memBackend) GetCalendar(ctx context.Context, p string) (*caldav.Calendar, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	c, ok := b.s.calendars[strings.TrimSuffix(p, "/")+"/"]
	if !ok {
		return nil, errNotFound
	}
	return &c, nil
}

func (b memBackend) GetCalendarObject(ctx context.Context, p string, _ *caldav.CalendarCompRequest) (*caldav.CalendarObject, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	o, ok := b.s.objects[path.Dir(p)+"/"][p]
	if !ok {
		return nil, errNotFound
	}
	return &o, nil
}

func (b memBackend) ListCalendarObjects(ctx context.Context, p string, _ *caldav.CalendarCompRequest) ([]caldav.CalendarObject, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	objs, ok := b.s.objects[strings.TrimSuffix(p, "/")+"/"]
	if !ok {
		return nil, errNotFound // as a real server answers for a deleted calendar
	}
	var out []caldav.CalendarObject
	for _, o := range objs {
		out = append(out, o)
	}
	return out, nil
}

func (b memBackend) QueryCalendarObjects(ctx context.Context, p string, q *caldav.CalendarQuery) ([]caldav.CalendarObject, error) {
	all, err := b.ListCalendarObjects(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	return caldav.Filter(q, all)
}

func (b memBackend) PutCalendarObject(ctx context.Context, p string, cal *ical.Calendar, _ *caldav.PutCalendarObjectOptions) (*caldav.CalendarObject, error) {
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, err
	}
	if err := b.s.store(p, buf.String()); err != nil {
		return nil, err
	}
	o, _ := b.GetCalendarObject(ctx, p, nil)
	return o, nil
}

func (b memBackend) DeleteCalendarObject(ctx context.Context, p string) error {
	b.s.remove(p)
	return nil
}
