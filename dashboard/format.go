package dashboard

import (
	"fmt"
	"time"
)

// stampLayout is how the server writes a time, in the configured zone;
// the script rewrites it into the viewer's zone.
const stampLayout = "2006-01-02 15:04 MST"

// timeView is one <time> element: the instant in RFC 3339 (UTC) and the
// text shown. A relative one ("3 d ago") keeps its text in the browser and
// gets the absolute time as its title.
type timeView struct {
	ISO   string
	Text  string
	Title string
	Rel   bool
}

// clock formats times for one request: in the configured zone, relative
// to one now.
type clock struct {
	loc *time.Location
	now time.Time
}

// stamp is t as an absolute time; nil for a nil or zero t.
func (c clock) stamp(t *time.Time) *timeView {
	if t == nil || t.IsZero() {
		return nil
	}
	return &timeView{ISO: t.UTC().Format(time.RFC3339), Text: t.In(c.loc).Format(stampLayout)}
}

// ago is t relative to now ("3 d ago", "in 2 h"), titled with the absolute
// time; nil for a nil or zero t.
func (c clock) ago(t *time.Time) *timeView {
	v := c.stamp(t)
	if v == nil {
		return nil
	}
	v.Title, v.Rel = v.Text, true
	d := c.now.Sub(*t)
	if d < 0 {
		v.Text = "in " + age(-d)
	} else {
		v.Text = age(d) + " ago"
	}
	return v
}

// age is a duration as the one unit that reads best: minutes under an
// hour, hours under two days, days beyond.
func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
}

// sortKey orders times for the script's column sort: Unix seconds, and
// for no time the given default (so "never" sorts where it should).
func sortKey(t *time.Time, none int64) int64 {
	if t == nil || t.IsZero() {
		return none
	}
	return t.Unix()
}
