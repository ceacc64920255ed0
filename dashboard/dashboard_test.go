package dashboard

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// pages are every page the dashboard serves, and one it does not.
var pages = []string{"/dashboard/", "/dashboard/?state=slipped", "/dashboard/customers/acme", "/dashboard/customers/globex",
	"/dashboard/customers/initech", "/dashboard/alerts", "/dashboard/sources", "/dashboard/customers/nobody", "/dashboard/nothing"}

func TestPagesGolden(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ target, golden string }{
		{"/dashboard/", "overview.html"},
		{"/dashboard/customers/acme", "customer.html"},
		{"/dashboard/alerts", "alerts.html"},
		{"/dashboard/sources", "sources.html"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			rec := f.get(tc.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d, want 200\n%s", tc.target, rec.Code, rec.Body)
			}
			golden(t, tc.golden, rec.Body.Bytes())
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	for _, target := range append(pages, "/dashboard/assets/dashboard.css", "/dashboard/assets/dashboard.js", "/dashboard/assets/none.js") {
		rec := f.get(target)
		want := map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
				"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("GET %s (%d): %s = %q, want %q", target, rec.Code, k, got, v)
			}
		}
	}
}

var (
	inlineScript  = regexp.MustCompile(`(?i)<script(\s[^>]*)?>`)
	styleAttr     = regexp.MustCompile(`(?i)\sstyle=`)
	styleElement  = regexp.MustCompile(`(?i)<style[\s>]`)
	handlerAttr   = regexp.MustCompile(`(?i)\son[a-z]+=`)
	javascriptURL = regexp.MustCompile(`(?i)javascript:`)
)

// The CSP blocks inline script and style: none may exist.
func TestNoInlineScriptOrStyle(t *testing.T) {
	f := newFixture(t)
	for _, target := range pages {
		body := f.get(target).Body.String()
		for _, m := range inlineScript.FindAllString(body, -1) {
			if !strings.Contains(m, " src=") {
				t.Errorf("GET %s: inline script %q", target, m)
			}
		}
		for name, re := range map[string]*regexp.Regexp{"style attribute": styleAttr, "style element": styleElement,
			"event handler attribute": handlerAttr, "javascript: URL": javascriptURL} {
			if m := re.FindString(body); m != "" {
				t.Errorf("GET %s: %s %q", target, name, m)
			}
		}
		if !strings.Contains(body, `<html lang="en">`) || strings.Count(body, "<h1>") != 1 || !strings.Contains(body, `<nav aria-label="Main">`) {
			t.Errorf("GET %s: want <html lang=\"en\">, one <h1> and the main nav", target)
		}
	}
}

var rowRE = regexp.MustCompile(`<tr class="customer" data-id="([^"]*)" data-state="([^"]*)" data-owner="([^"]*)" data-tier="([^"]*)"`)

// rows lists the overview's rows as id/state/owner/tier, in order.
func rows(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, strings.Join(m[1:], "/"))
	}
	return out
}

func TestOverviewFilterAndSort(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		query string
		want  string
	}{
		// Worst first: ACME slipped; Umbrella at risk; then ok, then none.
		{"", "acme/slipped/alice/gold umbrella/at_risk/bob/gold globex/ok/bob/silver initech/none/alice/"},
		{"?state=slipped", "acme/slipped/alice/gold"},
		{"?state=ok", "globex/ok/bob/silver"},
		{"?owner=bob", "umbrella/at_risk/bob/gold globex/ok/bob/silver"},
		{"?tier=gold&owner=alice", "acme/slipped/alice/gold"},
		{"?q=GLO", "globex/ok/bob/silver"},
		{"?q=sons", "initech/none/alice/"},
		{"?sort=name", "acme/slipped/alice/gold globex/ok/bob/silver initech/none/alice/ umbrella/at_risk/bob/gold"},
		// The hidden field carries the old order, the column button the new.
		{"?sort=state&sort=name&owner=bob", "globex/ok/bob/silver umbrella/at_risk/bob/gold"},
		{"?sort=bogus&state=none", "initech/none/alice/"},
		{"?state=unknown", ""},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			rec := f.get("/dashboard/" + tc.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET: %d, want 200", rec.Code)
			}
			if got := strings.Join(rows(rec.Body.String()), " "); got != tc.want {
				t.Errorf("rows = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOverviewStateSlippedOnlySlipped(t *testing.T) {
	f := newFixture(t)
	body := f.get("/dashboard/?state=slipped").Body.String()
	got := rows(body)
	if len(got) == 0 {
		t.Fatal("no rows for state=slipped; the fixture has a slipped customer")
	}
	for _, r := range got {
		if strings.Split(r, "/")[1] != "slipped" {
			t.Errorf("row %s is not slipped", r)
		}
	}
	if !strings.Contains(body, `<option value="slipped" selected>`) {
		t.Error("the state filter does not show slipped as selected")
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	for _, target := range []string{"/dashboard/customers/nobody", "/dashboard/nothing", "/dashboard/assets/none.js"} {
		rec := f.get(target)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, rec.Code)
		}
	}
	body := f.get("/dashboard/customers/nobody").Body.String()
	if !strings.Contains(body, `There is no customer &#34;nobody&#34;`) {
		t.Errorf("404 page does not name the customer:\n%s", body)
	}
}

func TestAssets(t *testing.T) {
	f := newFixture(t)
	for target, ctype := range map[string]string{"/dashboard/assets/dashboard.css": "text/css", "/dashboard/assets/dashboard.js": "javascript"} {
		rec := f.get(target)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), ctype) || rec.Body.Len() < 100 {
			t.Errorf("GET %s: %d %q, %d bytes; want 200 %s", target, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), ctype)
		}
	}
	// Only GET: the dashboard changes nothing.
	rec := f.get("/dashboard")
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/dashboard/" {
		t.Errorf("GET /dashboard: %d to %q, want 301 to /dashboard/", rec.Code, rec.Header().Get("Location"))
	}
}
