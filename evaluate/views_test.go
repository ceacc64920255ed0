package evaluate

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestCustomersView(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	cs, err := f.r.Customers(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "customers.json", indent(t, cs))
	// The SPEC's field names, with null where nothing is known.
	var raw []map[string]any
	json.Unmarshal(indent(t, cs), &raw)
	for _, k := range []string{"id", "name", "last_contact_at", "last_inbound_at", "last_outbound_at", "contacts_30d", "contacts_90d", "median_interval", "state", "next_due_at"} {
		if _, ok := raw[2][k]; !ok {
			t.Errorf("customers --json lacks %q", k)
		}
	}
	if raw[2]["state"] != "none" || raw[2]["last_contact_at"] != nil {
		t.Errorf("a customer without commitments or contact: %v", raw[2])
	}
}

// TestCustomersForecast: --at evaluates as of another moment.
func TestCustomersForecast(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	tests := []struct {
		at   time.Time
		want string
	}{
		{tb("2026-03-03 10:00"), "ok"},      // after the status mail, before the question
		{tb("2026-03-08 16:00"), "at_risk"}, // the weekly mail is due tomorrow
		{tb("2026-03-16 10:00"), "slipped"},
	}
	for _, tc := range tests {
		cs, err := f.r.Customers(t.Context(), tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].ID != "acme" || string(cs[0].State) != tc.want {
			t.Errorf("at %v: acme is %s, want %s", tc.at, cs[0].State, tc.want)
		}
	}
}

func TestCustomerDetail(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	d, err := f.r.Customer(t.Context(), "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "customer_acme.json", indent(t, d))
	if _, err := f.r.Customer(t.Context(), "nope", time.Time{}); !errors.Is(err, ErrNoCustomer) {
		t.Errorf("unknown customer: %v, want ErrNoCustomer", err)
	}
}

func TestAlertsView(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	// A calendar that has failed for three hours is listed as an alert too.
	if err := f.st.RecordSyncFailure(t.Context(), "caldav:alice", f.now.Add(-3*time.Hour), "connection refused", nil); err != nil {
		t.Fatal(err)
	}
	as, err := f.r.Alerts(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "alerts.json", indent(t, as))
}

func TestSuggestFromStore(t *testing.T) {
	f := newFixture(t)
	f.now = tb("2026-03-18 12:00")
	for i, d := range []string{"2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16"} {
		f.seed(mailFrom(fmt.Sprintf("r%d@us.example", i), tb(d+" 09:00"), "alice@us.example", "jane@globex.example",
			fmt.Sprintf("Weekly report KW %d", 6+i)))
	}
	ss, err := f.r.Suggest(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].CustomerID != "globex" || !strings.Contains(ss[0].Policy, "every: 1w") || len(ss[0].Evidence) != 7 {
		t.Fatalf("suggestions = %+v; want a weekly report for globex", ss)
	}
	golden(t, "suggest.json", indent(t, ss))
}

// TestUnmatched: counted-looking traffic that touches no customer, grouped
// by registrable domain; lists, customers, internal mail, declined
// invitations, planned meetings and mail before the window stay out.
func TestUnmatched(t *testing.T) {
	f := newFixture(t)
	f.history() // a customer's list mail and an internal mail: neither is unmatched
	partnerCc := mailFrom("p1@prospect.example", tb("2026-03-05 09:00"), "Pat@Prospect.example", "alice@us.example", "Introduction")
	partnerCc.Participants = append(partnerCc.Participants, cadence.Participant{Address: "kim@partner.example", Role: cadence.Cc})
	withCustomer := mailFrom("c1@acme.com", tb("2026-03-05 11:00"), "bob@acme.com", "alice@us.example", "Meet our agency")
	withCustomer.Participants = append(withCustomer.Participants, cadence.Participant{Address: "kim@partner.example", Role: cadence.Cc})
	toProspect := mailFrom("p2@us.example", tb("2026-03-06 10:00"), "alice@us.example", "pat@prospect.example", "Re: Introduction")
	toProspect.Participants = append(toProspect.Participants, cadence.Participant{Address: "lee@sales.prospect.example", Role: cadence.Cc})
	declined := meetingWith("ghost", tb("2026-03-04 15:00"), "Demo", "nobody@ghost.example")
	declined.Participants[1].PartStat = "DECLINED"
	f.seed(
		partnerCc, withCustomer, toProspect,
		mailFrom("p3@sales.prospect.example", tb("2026-03-07 16:30"), "lee@sales.prospect.example", "alice@us.example", "Pricing"),
		mailFrom("l1@newco.example", tb("2026-03-06 07:00"), "news@newco.example", "alice@us.example", "NewCo digest"),
		mailFrom("g1@gmail.com", tb("2026-03-03 20:00"), "stranger@gmail.com", "alice@us.example", "Hello"),
		mailFrom("o1@old.example", tb("2026-02-01 10:00"), "ceo@old.example", "alice@us.example", "Long ago"),
		meetingWith("fair", tb("2026-03-02 14:00"), "Trade fair follow-up", "Ann@Sub.Event.co.uk"),
		meetingWith("next", tb("2026-03-12 14:00"), "Planned", "pat@prospect.example"),
		declined,
	)
	db, _ := sql.Open("sqlite", filepath.Join(f.dir, store.FileName))
	defer db.Close()
	if _, err := db.Exec(`UPDATE interactions SET filter = 'list' WHERE key = 'mid:l1@newco.example'`); err != nil {
		t.Fatal(err)
	}

	us, err := f.r.Unmatched(t.Context(), DefaultUnmatchedSince)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "unmatched.json", indent(t, us))

	type row struct {
		domain                 string
		total, in, out, people int
	}
	var got []row
	for _, u := range us {
		got = append(got, row{u.Domain, u.Interactions, u.Inbound, u.Outbound, u.People})
	}
	want := []row{
		{"prospect.example", 3, 2, 1, 2},   // Pat wrote, we answered Pat and Lee, Lee wrote; the planned meeting is not yet
		{"event.co.uk", 1, 0, 1, 1},        // our meeting with a subdomain, under its registrable domain
		{"partner.example", 1, 0, 0, 1},    // on Pat's mail only: with ACME's it touched a customer
		{"stranger@gmail.com", 1, 1, 0, 1}, // a person on free mail, not gmail.com
	}
	if !slices.Equal(got, want) {
		t.Errorf("unmatched = %+v\nwant %+v", got, want)
	}
	if len(us) > 0 && (!us[0].FirstAt.Equal(tb("2026-03-05 09:00")) || !us[0].LastAt.Equal(tb("2026-03-07 16:30")) ||
		!slices.Equal(us[0].Addresses, []string{"lee@sales.prospect.example", "pat@prospect.example"})) {
		t.Errorf("prospect.example = %+v; want first 03-05 09:00, last 03-07 16:30, Lee and Pat", us[0])
	}

	// A longer window reaches the old mail.
	us, err = f.r.Unmatched(t.Context(), cadence.Span{Unit: cadence.Week, N: 6})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(us, func(u UnmatchedView) bool { return u.Domain == "old.example" && u.Inbound == 1 }) {
		t.Errorf("--since 6w: %+v; want old.example with one inbound mail", us)
	}
}

func TestParseSince(t *testing.T) {
	tests := []struct {
		in   string
		want cadence.Span
		bad  bool
	}{
		{in: "", want: DefaultUnmatchedSince},
		{in: "2w", want: cadence.Span{Unit: cadence.Week, N: 2}},
		{in: "3mo", want: cadence.Span{Unit: cadence.Month, N: 3}},
		{in: "72h", want: cadence.Span{Unit: cadence.Fixed, Fixed: 72 * time.Hour}},
		{in: "0", bad: true},
		{in: "soon", bad: true},
		{in: "-1d", bad: true},
	}
	for _, tc := range tests {
		got, err := ParseSince(tc.in)
		var arg *ArgError
		if tc.bad != errorsAs(err, &arg) || (!tc.bad && got != tc.want) {
			t.Errorf("ParseSince(%q) = %+v, %v; want %+v, bad %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestAPI(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.synced(f.now, "imap:alice", "caldav:alice")
	mux := http.NewServeMux()
	f.r.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		method, path, body string
		code               int
		contains           string
	}{
		{"GET", "/v1/customers", "", 200, `"state": "slipped"`},
		{"GET", "/v1/customers?at=2026-03-03T10:00:00%2B01:00", "", 200, `"state": "ok"`},
		{"GET", "/v1/customers?at=someday", "", 400, "error"},
		{"GET", "/v1/customers/acme", "", 200, `"commitments"`},
		{"GET", "/v1/customers/nope", "", 404, "no such customer"},
		{"GET", "/v1/alerts?all=true", "", 200, "["},
		{"GET", "/v1/suggestions", "", 200, "["},
		{"GET", "/v1/unmatched?since=2w", "", 200, "[]"},
		{"GET", "/v1/unmatched?since=soon", "", 400, "want a length"},
		{"POST", "/v1/silences", `{"targets": ["nope"], "ends_at": "2026-03-10T10:00:00Z"}`, 400, "no customer"},
		{"POST", "/v1/silences", `{"targets": ["acme"], "ends_at": "2026-03-10T10:00:00Z", "reason": "x"}`, 200, `"customer_id": "acme"`},
		{"GET", "/v1/silences", "", 200, `"reason": "x"`},
		{"DELETE", "/v1/silences/sil_nope", "", 404, "no such silence"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(buf.String(), tc.contains) {
			t.Errorf("%s %s = %d %s; want %d containing %q", tc.method, tc.path, resp.StatusCode, buf.String(), tc.code, tc.contains)
		}
	}
}

// Forecast: the alerts that would be firing at a later time, over what
// the store holds now. An alert open now keeps its ID and opening; one
// that is not is marked a forecast, opening when its commitment turns at
// risk; a silence in force then (not now) marks it silenced.
func TestForecast(t *testing.T) {
	f := newFixture(t)
	f.history()
	f.now = tb("2026-03-06 16:00")
	f.synced(f.now, "imap:alice", "caldav:alice")
	if err := f.r.Run(t.Context(), f.now); err != nil {
		t.Fatal(err)
	}
	open, err := f.r.Alerts(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.AddSilences(t.Context(), []string{"acme/reply"}, tb("2026-03-09 00:00"), tb("2026-03-20 00:00"), "", "bob"); err != nil {
		t.Fatal(err)
	}
	as, err := f.r.Forecast(t.Context(), tb("2026-03-10 12:00"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range as {
		got = append(got, fmt.Sprintf("%s %s/%s forecast=%v opened=%s silenced=%v/%v", a.State, a.CustomerID, a.Commitment,
			a.Forecast, a.OpenedAt.In(berlin).Format("01-02 15:04"), a.Silenced, a.SilenceID != ""))
	}
	// globex has had no next meeting since its kickoff: open now, due first.
	want := []string{
		"slipped globex/next_meeting forecast=false opened=03-06 16:00 silenced=false/false",
		"slipped acme/weekly forecast=true opened=03-08 10:00 silenced=false/false",
		"slipped acme/reply forecast=true opened=03-08 15:00 silenced=true/true",
	}
	if len(open) != 1 || open[0].Commitment != "next_meeting" {
		t.Fatalf("open now: %+v; want globex's next_meeting only", open)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("forecast:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, a := range as {
		if i := slices.IndexFunc(open, func(o AlertView) bool { return o.ID == a.ID }); i >= 0 && !a.OpenedAt.Equal(open[i].OpenedAt) {
			t.Errorf("%s: opened %v in the forecast, %v now", a.ID, a.OpenedAt, open[i].OpenedAt)
		}
	}
}
