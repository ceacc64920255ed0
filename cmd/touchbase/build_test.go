package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/store"
)

// planBuilder registers the dashboard next to the API only when
// listen.dashboard is on.
func TestPlanBuilderDashboardRoutes(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:1")
	st, err := store.Open(t.Context(), filepath.Join(f.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, on := range []bool{false, true} {
		cfg := *f.cfg
		cfg.Listen.Dashboard = on
		plan, err := planBuilder(nil)(&cfg, st, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		plan.Routes(mux)
		want := map[string]int{"/v1/alerts": 200, "/dashboard/": 404, "/dashboard/alerts": 404}
		if on {
			want["/dashboard/"], want["/dashboard/alerts"] = 200, 200
		}
		for path, code := range want {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != code {
				t.Errorf("dashboard %t: GET %s = %d, want %d", on, path, rec.Code, code)
			}
			if on && strings.HasPrefix(path, "/dashboard/") && !strings.Contains(rec.Body.String(), "ACME Corp") {
				t.Errorf("dashboard on: GET %s does not list ACME Corp", path)
			}
		}
	}
}
