package demo

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestScenarioTimingHolds re-checks, for evaluation moments spread over a
// year, the facts History.Expected was reasoned from: every due time is at
// least a day away from the state boundaries (now and now + 3d), and every
// commitment not in Expected is comfortably ok. It reads the rendered
// messages and calendars, not the generator's variables, so it also
// catches a story the data does not tell.
func TestScenarioTimingHolds(t *testing.T) {
	start := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 150; i++ {
		now := start.Add(time.Duration(i) * (61*time.Hour + 7*time.Minute))
		h := Scenario(now)
		c := newChecker(t, h)
		c.noFutureMail()
		c.replies()
		c.contoso()
		c.litware()
		c.adatum()
		c.wingtip()
		c.fabrikam()
		c.tailspin()
		if t.Failed() {
			t.Fatalf("scenario at %s (%s) breaks its expected alerts", now.Format(time.RFC3339), now.In(c.loc).Weekday())
		}
	}
}

const day = 24 * time.Hour

type tmail struct {
	id, subject string
	date        time.Time
	from        string
	rcpts       []string
	counts      bool // not bulk, automated or a bounce
}

type checker struct {
	t     *testing.T
	h     *History
	loc   *time.Location
	mails []tmail // one per Message-ID, by date
	occ   []occurrence
}

func newChecker(t *testing.T, h *History) *checker {
	c := &checker{t: t, h: h, loc: mustZone(h.Timezone)}
	seen := map[string]bool{}
	dec := &mime.WordDecoder{}
	for _, m := range h.Mails {
		if seen[m.MessageID] {
			continue
		}
		seen[m.MessageID] = true
		msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
		if err != nil {
			t.Fatalf("%s: %v", m.MessageID, err)
		}
		tm := tmail{id: m.MessageID, date: m.Date, subject: m.Subject}
		from, _ := msg.Header.AddressList("From")
		tm.from = strings.ToLower(from[0].Address)
		for _, k := range []string{"To", "Cc"} {
			as, _ := msg.Header.AddressList(k)
			for _, a := range as {
				tm.rcpts = append(tm.rcpts, strings.ToLower(a.Address))
			}
		}
		auto := msg.Header.Get("Auto-Submitted")
		prec, _ := dec.DecodeHeader(msg.Header.Get("Precedence"))
		tm.counts = msg.Header.Get("List-Id") == "" && (auto == "" || auto == "no") &&
			prec != "bulk" && !strings.HasPrefix(tm.from, "mailer-daemon@")
		c.mails = append(c.mails, tm)
	}
	sort.Slice(c.mails, func(i, j int) bool { return c.mails[i].date.Before(c.mails[j].date) })
	for _, e := range h.Events {
		c.occ = append(c.occ, expand(t, e.ICS, h.Now.Add(60*day))...)
	}
	return c
}

func (c *checker) customer(id string) Customer {
	for _, cu := range c.h.Customers {
		if cu.ID == id {
			return cu
		}
	}
	c.t.Fatalf("no customer %s", id)
	return Customer{}
}

// belongs reports whether addr is one of cu's people (and not excluded).
func belongs(cu Customer, addr string) bool {
	for _, x := range cu.Exclude {
		if x == addr {
			return false
		}
	}
	for _, x := range cu.Contacts {
		if x == addr {
			return true
		}
	}
	_, d, _ := strings.Cut(addr, "@")
	for _, cd := range cu.Domains {
		if d == cd || strings.HasSuffix(d, "."+cd) {
			return true
		}
	}
	return false
}

func (c *checker) internal(addr string) bool {
	_, d, _ := strings.Cut(addr, "@")
	for _, id := range c.h.InternalDomains {
		if d == id {
			return true
		}
	}
	return false
}

// inbound and outbound are the counted mails from and to cu.
func (c *checker) inbound(cu Customer) []tmail {
	var out []tmail
	for _, m := range c.mails {
		if m.counts && belongs(cu, m.from) {
			out = append(out, m)
		}
	}
	return out
}

func (c *checker) outbound(cu Customer, subject *regexp.Regexp) []tmail {
	var out []tmail
	for _, m := range c.mails {
		if !m.counts || !c.internal(m.from) || (subject != nil && !subject.MatchString(m.subject)) {
			continue
		}
		for _, r := range m.rcpts {
			if belongs(cu, r) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// meetings are cu's counted past occurrences: not cancelled, not declined
// by every one of cu's attendees, started before now.
func (c *checker) meetings(cu Customer) []occurrence {
	var out []occurrence
	for _, o := range c.occ {
		if o.cancelled || o.start.After(c.h.Now) {
			continue
		}
		ext, declined := 0, 0
		for addr, ps := range o.attendees {
			if belongs(cu, addr) {
				ext++
				if ps == "DECLINED" {
					declined++
				}
			}
		}
		if ext > 0 && declined < ext {
			out = append(out, o)
		}
	}
	return out
}

func (c *checker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf("at %s: %s", c.h.Now.Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// ok, atRisk and slipped check a due time against the boundaries with a
// day of margin (at_risk_before is 3d).
func (c *checker) ok(what string, due time.Time) {
	if due.Before(c.h.Now.Add(4 * day)) {
		c.errorf("%s: due %s, want ≥ now+4d (ok with a day to spare)", what, due.Format(time.RFC3339))
	}
}

func (c *checker) atRisk(what string, due time.Time) {
	if due.Before(c.h.Now.Add(day)) || due.After(c.h.Now.Add(2*day)) {
		c.errorf("%s: due %s, want within now+1d..now+2d (at risk, a day from both edges)", what, due.Format(time.RFC3339))
	}
}

func (c *checker) slipped(what string, due time.Time) {
	if due.After(c.h.Now.Add(-day)) {
		c.errorf("%s: due %s, want ≤ now−1d (slipped)", what, due.Format(time.RFC3339))
	}
}

// Calendar arithmetic as SPEC "Durations" defines it, written out here so
// the check does not depend on the engine's own code.
func weeksAfter(n int, t time.Time, loc *time.Location) time.Time {
	return t.In(loc).AddDate(0, 0, 7*n)
}

// monthsAfter clamps to the end of a shorter month (Jan 31 + 1mo = Feb 28).
func monthsAfter(n int, t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	first := time.Date(lt.Year(), lt.Month()+time.Month(n), 1, lt.Hour(), lt.Minute(), lt.Second(), 0, loc)
	d := min(lt.Day(), first.AddDate(0, 1, -1).Day())
	return first.AddDate(0, 0, d-1)
}

// businessDayAfter is t plus one business day; a weekend start counts from
// Monday 00:00.
func businessDayAfter(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	for isWeekend(lt) {
		lt = dayOf(lt).AddDate(0, 0, 1)
	}
	lt = lt.AddDate(0, 0, 1)
	for isWeekend(lt) {
		lt = lt.AddDate(0, 0, 1)
	}
	return lt
}

func (c *checker) noFutureMail() {
	for _, m := range c.mails {
		if m.date.After(c.h.Now.Add(-30 * time.Minute)) {
			c.errorf("mail %s dated %s is not in the past", m.id, m.date)
		}
	}
}

// replies: every counted inbound mail is answered within hours, except
// the one Expected says is waiting, which is past its 1bd due time with
// nothing sent to the customer after it.
func (c *checker) replies() {
	waiting := map[string]bool{}
	for _, e := range c.h.Expected {
		if e.Commitment == "reply" {
			waiting[e.MessageID] = true
		}
	}
	for _, cu := range c.h.Customers {
		outs := c.outbound(cu, nil)
		for _, in := range c.inbound(cu) {
			answered := false
			for _, o := range outs {
				if o.date.After(in.date) && !o.date.After(in.date.Add(6*time.Hour)) {
					answered = true
				}
			}
			switch {
			case answered && waiting[in.id]:
				c.errorf("%s: expected waiting mail %s was answered", cu.ID, in.id)
			case !answered && !waiting[in.id]:
				c.errorf("%s: inbound %s (%s) not answered within hours", cu.ID, in.id, in.subject)
			case !answered:
				c.slipped(cu.ID+" reply", businessDayAfter(in.date, c.loc))
				for _, o := range outs {
					if o.date.After(in.date) {
						c.errorf("%s: outbound %s after the waiting mail", cu.ID, o.id)
					}
				}
			}
		}
	}
}
