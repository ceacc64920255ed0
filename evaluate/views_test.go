package evaluate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
	var buf bytes.Buffer
	if err := RenderCustomers(&buf, cs, f.r.Location()); err != nil {
		t.Fatal(err)
	}
	golden(t, "customers.txt", buf.Bytes())
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
	var buf bytes.Buffer
	if err := RenderCustomer(&buf, d); err != nil {
		t.Fatal(err)
	}
	golden(t, "customer_acme.txt", buf.Bytes())
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
	var buf bytes.Buffer
	if err := RenderAlerts(&buf, as, f.r.Location()); err != nil {
		t.Fatal(err)
	}
	golden(t, "alerts.txt", buf.Bytes())
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
	var buf bytes.Buffer
	if err := RenderSuggestions(&buf, ss, f.r.Location()); err != nil {
		t.Fatal(err)
	}
	golden(t, "suggest.txt", buf.Bytes())
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
