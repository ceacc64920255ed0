package demo

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	_ "github.com/emersion/go-message/charset" // non-UTF-8 encoded-words, as a real client reads them
	"github.com/emersion/go-message/mail"
)

// nows are evaluation moments with different weekdays, times of day,
// month ends and DST changes.
var nows = []struct {
	name string
	now  time.Time
}{
	{"sunday morning", time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)},
	{"monday just after midnight", time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)},
	{"friday evening", time.Date(2026, 10, 23, 18, 45, 0, 0, time.UTC)},
	{"day after DST start", time.Date(2027, 3, 29, 12, 0, 0, 0, time.UTC)},
	{"first of month", time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC)},
}

func TestScenarioIsDeterministic(t *testing.T) {
	for _, tc := range nows {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Scenario(tc.now), Scenario(tc.now)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("two calls with the same now differ")
			}
			other := Scenario(tc.now.Add(36 * time.Hour))
			if reflect.DeepEqual(a.Mails, other.Mails) {
				t.Fatal("a different now gives the same mails: times are not relative to now")
			}
		})
	}
}

func TestScenarioSize(t *testing.T) {
	h := Scenario(nows[0].now)
	if n := len(h.Mails); n < 150 || n > 300 {
		t.Errorf("got %d mails, want 150–300", n)
	}
	if n := len(h.Events); n < 15 || n > 25 {
		t.Errorf("got %d events, want about 20", n)
	}
	if len(h.Expected) == 0 {
		t.Error("no expected alerts")
	}
}

func TestScenarioMailsParse(t *testing.T) {
	for _, tc := range nows {
		t.Run(tc.name, func(t *testing.T) {
			h := Scenario(tc.now)
			names := map[string]string{} // address → decoded display name
			for _, m := range h.Mails {
				if bytes.Contains(bytes.ReplaceAll(m.Raw, []byte("\r\n"), nil), []byte("\n")) {
					t.Fatalf("%s: bare LF in message", m.MessageID)
				}
				r, err := mail.CreateReader(bytes.NewReader(m.Raw))
				if err != nil {
					t.Fatalf("%s: parse: %v", m.MessageID, err)
				}
				id, err := r.Header.MessageID()
				if err != nil || id != m.MessageID {
					t.Errorf("Message-ID: got %q (%v), want %q", id, err, m.MessageID)
				}
				date, err := r.Header.Date()
				if err != nil || !date.Equal(m.Date) {
					t.Errorf("%s: Date: got %v (%v), want %v", m.MessageID, date, err, m.Date)
				}
				from, err := r.Header.AddressList("From")
				if err != nil || len(from) != 1 {
					t.Fatalf("%s: From: %v %v", m.MessageID, from, err)
				}
				names[from[0].Address] = from[0].Name
				if subj, err := r.Header.Subject(); err != nil || subj != m.Subject {
					t.Errorf("%s: Subject: got %q (%v), want %q", m.MessageID, subj, err, m.Subject)
				}
				r.Close()
			}
			for addr, want := range map[string]string{
				juergen.addr: "Jürgen Groß", maria.addr: "Maria Schäfer", chloe.addr: "Chloé Dubois", anna.addr: "Anna Lindqvist",
			} {
				if got := names[addr]; got != want {
					t.Errorf("display name of %s: got %q, want %q", addr, got, want)
				}
			}
		})
	}
}

func TestScenarioEventsParse(t *testing.T) {
	h := Scenario(nows[0].now)
	for _, e := range h.Events {
		t.Run(e.Owner+"/"+e.UID, func(t *testing.T) {
			for _, line := range strings.Split(strings.TrimSuffix(string(e.ICS), "\r\n"), "\r\n") {
				if len(line) > 75 {
					t.Errorf("line longer than 75 octets: %q", line)
				}
			}
			cal, err := ical.NewDecoder(bytes.NewReader(e.ICS)).Decode()
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			zones := map[string]bool{}
			var events int
			for _, c := range cal.Children {
				switch c.Name {
				case ical.CompTimezone:
					id, _ := c.Props.Text(ical.PropTimezoneID)
					zones[id] = true
				case ical.CompEvent:
					events++
					if uid, _ := c.Props.Text(ical.PropUID); uid != e.UID {
						t.Errorf("UID: got %q, want %q", uid, e.UID)
					}
					for _, ps := range c.Props {
						for _, p := range ps {
							if tz := p.Params.Get(ical.ParamTimezoneID); tz != "" && !zones[tz] {
								t.Errorf("%s uses TZID %q without a VTIMEZONE before it", p.Name, tz)
							}
						}
					}
				}
			}
			if events == 0 {
				t.Error("no VEVENT")
			}
		})
	}
}
