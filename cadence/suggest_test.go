package cadence

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// suggestFixture is a customer's history in testdata/suggest/*.json.
type suggestFixture struct {
	Now         time.Time `json:"now"`
	Commitments []struct {
		Subject string `json:"subject"`
		Every   string `json:"every"`
	} `json:"commitments"`
	Mails []struct {
		Subject string   `json:"subject"` // {n} and {month} count up from N
		N       int      `json:"n"`
		Reply   bool     `json:"reply"`
		Inbound bool     `json:"inbound"`
		Dates   []string `json:"dates"` // sent at 09:00 in Berlin
	} `json:"mails"`
	Meetings []struct {
		UID   string   `json:"uid"`
		Dates []string `json:"dates"` // at 10:00 in Berlin
	} `json:"meetings"`
}

func loadSuggestFixture(t *testing.T, path string) (Customer, []Contact, time.Time) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f suggestFixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := customer(berlin)
	for i, cm := range f.Commitments {
		p := Commitment{Name: fmt.Sprintf("declared-%d", i), Type: CadenceType, Every: sp(cm.Every), Min: 1}
		if cm.Subject != "" {
			p.Subject = re(cm.Subject)
		}
		c.Commitments = append(c.Commitments, p)
	}
	var cs []Contact
	for _, m := range f.Mails {
		for i, d := range m.Dates {
			subj := strings.ReplaceAll(m.Subject, "{n}", fmt.Sprint(m.N+i))
			subj = strings.ReplaceAll(subj, "{month}", time.Month((m.N+i-1)%12+1).String())
			dir := Outbound
			if m.Inbound {
				dir = Inbound
			}
			ct := mail(tb(d+" 09:00"), dir, subj)
			if m.Reply {
				ct.Thread = []string{"earlier@acme.com"}
			}
			cs = append(cs, ct)
		}
	}
	for _, m := range f.Meetings {
		for _, d := range m.Dates {
			ct := meeting(tb(d+" 10:00"), time.Hour, "Jour fixe")
			ct.Key = MeetingKey(m.UID, ct.At)
			cs = append(cs, ct)
		}
	}
	SortContacts(cs)
	return c, cs, f.Now
}

// TestSuggest runs each fixture and compares the suggestions, as YAML, with
// its .golden file (empty: nothing may be suggested).
func TestSuggest(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "suggest", "*.json"))
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			c, cs, now := loadSuggestFixture(t, path)
			var b strings.Builder
			for _, s := range Suggest([]Customer{c}, NewHistory(map[string][]Contact{c.ID: cs}), now) {
				b.WriteString(s.YAML())
				for _, ev := range s.Evidence {
					fmt.Fprintf(&b, "#   %s %s\n", ev.At.In(berlin).Format("2006-01-02 Mon"), ev.Subject)
				}
			}
			golden(t, strings.TrimSuffix(path, ".json")+".golden", []byte(b.String()))
		})
	}
}

func TestNormalizeSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Status week 12", "status week #"},
		{"Re: AW: Status Week 12", "status week #"},
		{"FWD: Monthly report March 2026", "monthly report # #"},
		{"Monatsbericht März", "monatsbericht #"},
		{"Report 2026-03-02", "report #"},
		{"Statusbericht KW 11/2026", "statusbericht kw #"},
		{"  Q1   review – ", "q# review"},
	}
	for _, tc := range tests {
		if got := NormalizeSubject(tc.in); got != tc.want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSuggestedPolicyHoldsOnItsEvidence: evaluated at each occurrence's
// time, the proposed policy was never slipped, so it encodes what the team
// really did.
func TestSuggestedPolicyHoldsOnItsEvidence(t *testing.T) {
	for _, name := range []string{"weekly_status", "monthly_report", "biweekly_meetings"} {
		c, cs, now := loadSuggestFixture(t, filepath.Join("testdata", "suggest", name+".json"))
		ss := Suggest([]Customer{c}, NewHistory(map[string][]Contact{c.ID: cs}), now)
		if len(ss) != 1 {
			t.Fatalf("%s: %d suggestions, want 1", name, len(ss))
		}
		s := ss[0]
		c.Commitments = []Commitment{s.Commitment}
		for _, ev := range s.Evidence[1:] {
			st := evalOne(t, c, s.Evidence[0].At, ev.At.Add(-time.Minute), cs, Stale{})
			if st.State == Slipped {
				t.Errorf("%s: the suggested policy is slipped just before %s (due %v)", name, ev.At, st.DueAt)
			}
		}
	}
}
