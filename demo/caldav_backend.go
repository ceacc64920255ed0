package demo

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// calBackend is the caldav.Backend over a calStore for the user that
// basicAuth put in the request context.
type calBackend struct{ st *calStore }

var _ caldav.Backend = (*calBackend)(nil)

func (b *calBackend) user(ctx context.Context) (string, error) {
	u, ok := ctx.Value(userKey{}).(string)
	if !ok {
		return "", webdav.NewHTTPError(http.StatusUnauthorized, errors.New("no user"))
	}
	return u, nil
}

func (b *calBackend) CurrentUserPrincipal(ctx context.Context) (string, error) {
	u, err := b.user(ctx)
	return "/" + u + "/", err
}

func (b *calBackend) CalendarHomeSetPath(ctx context.Context) (string, error) {
	u, err := b.user(ctx)
	return "/" + u + "/calendars/", err
}

func (b *calBackend) CreateCalendar(context.Context, *caldav.Calendar) error {
	return webdav.NewHTTPError(http.StatusForbidden, errors.New("the demo server has one calendar per user"))
}

func (b *calBackend) ListCalendars(ctx context.Context) ([]caldav.Calendar, error) {
	u, err := b.user(ctx)
	if err != nil {
		return nil, err
	}
	return []caldav.Calendar{workCalendar(u)}, nil
}

func workCalendar(user string) caldav.Calendar {
	return caldav.Calendar{Path: CalendarPath(user), Name: "Work", Description: "Northwind Consulting work calendar",
		SupportedComponentSet: []string{ical.CompEvent}}
}

func (b *calBackend) GetCalendar(ctx context.Context, path string) (*caldav.Calendar, error) {
	u, err := b.user(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSuffix(path, "/")+"/" != CalendarPath(u) {
		return nil, webdav.NewHTTPError(http.StatusNotFound, errors.New("no such calendar"))
	}
	c := workCalendar(u)
	return &c, nil
}

func (b *calBackend) GetCalendarObject(ctx context.Context, path string, _ *caldav.CalendarCompRequest) (*caldav.CalendarObject, error) {
	if _, err := b.calendarOf(ctx, path); err != nil {
		return nil, err
	}
	o, ok := b.st.get(path)
	if !ok {
		return nil, errNotFound
	}
	return &o, nil
}

func (b *calBackend) ListCalendarObjects(ctx context.Context, path string, _ *caldav.CalendarCompRequest) ([]caldav.CalendarObject, error) {
	if _, err := b.GetCalendar(ctx, path); err != nil {
		return nil, err
	}
	return b.st.list(strings.TrimSuffix(path, "/") + "/"), nil
}

// QueryCalendarObjects filters with go-webdav's matcher. The matcher fails
// on what go-ical's recurrence code cannot read (multi-valued EXDATE,
// Windows zone names); such objects are returned rather than dropped, as a
// client filters again after expanding, and a missing meeting is worse
// than an extra one.
func (b *calBackend) QueryCalendarObjects(ctx context.Context, path string, query *caldav.CalendarQuery) ([]caldav.CalendarObject, error) {
	all, err := b.ListCalendarObjects(ctx, path, nil)
	if err != nil || query == nil {
		return all, err
	}
	var out []caldav.CalendarObject
	for i := range all {
		if ok, err := caldav.Match(query.CompFilter, &all[i]); ok || err != nil {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func (b *calBackend) PutCalendarObject(ctx context.Context, path string, cal *ical.Calendar, opts *caldav.PutCalendarObjectOptions) (*caldav.CalendarObject, error) {
	if _, err := b.calendarOf(ctx, path); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".ics") {
		return nil, webdav.NewHTTPError(http.StatusForbidden, errors.New("calendar objects are named *.ics"))
	}
	return b.st.put(path, cal, opts)
}

func (b *calBackend) DeleteCalendarObject(ctx context.Context, path string) error {
	if _, err := b.calendarOf(ctx, path); err != nil {
		return err
	}
	if !b.st.delete(path) {
		return errNotFound
	}
	return nil
}

// calendarOf checks that an object path lies directly in the user's calendar.
func (b *calBackend) calendarOf(ctx context.Context, path string) (string, error) {
	u, err := b.user(ctx)
	if err != nil {
		return "", err
	}
	dir := path[:strings.LastIndex(path, "/")+1]
	if dir != CalendarPath(u) {
		return "", errNotFound
	}
	return dir, nil
}
