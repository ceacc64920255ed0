package daemon

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// apiTimeout bounds the store work of one API request.
const apiTimeout = 10 * time.Second

// routes builds the mux for plan: the daemon's own routes plus the plan's.
// A plan registering a route twice is a programming error; it is returned
// rather than crashing a running daemon on reload.
func (d *Daemon) routes(plan *Plan) (mux *http.ServeMux, err error) {
	mux = http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", d.handleReady)
	mux.HandleFunc("GET /v1/status", d.handleStatus)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.opts.Registry, promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(d.log), Registry: d.opts.Registry,
	}))
	if plan.Routes != nil {
		defer func() {
			if p := recover(); p != nil {
				mux, err = nil, fmt.Errorf("register plan routes: %v", p)
			}
		}()
		plan.Routes(mux)
	}
	return mux, nil
}

// Handler serves the API of the running configuration; routes change on
// reload. It does no authentication (see authenticated).
func (d *Daemon) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.state.Load().mux.ServeHTTP(w, r)
	})
}

// authenticated requires the configured bearer token on every route but
// /healthz. Without a token (only allowed on loopback) it lets all through.
//
// The dashboard (/dashboard/) is opened in a browser, which cannot send a
// header from a link: there the token may come once as ?token=, which
// sets it as an HttpOnly, SameSite=Strict cookie and redirects to the same
// URL without it (so it leaves the address bar and the history), and the
// cookie is accepted afterwards.
func (d *Daemon) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := d.state.Load().token
		if token == "" || r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		dashboard := isDashboard(r.URL.Path)
		if dashboard && r.URL.Query().Has("token") {
			loginDashboard(w, r, token)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok && dashboard {
			if c, err := r.Cookie(dashboardCookie); err == nil {
				got, ok = c.Value, true
			}
		}
		if !ok || !sameToken(got, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="touchbase"`)
			if dashboard {
				http.Error(w, "Open the dashboard once as /dashboard/?token=TOKEN (the listen.token_file token).", http.StatusUnauthorized)
				return
			}
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// dashboardCookie carries the API token for the dashboard's pages.
const dashboardCookie = "touchbase_token"

func isDashboard(path string) bool {
	return path == "/dashboard" || strings.HasPrefix(path, "/dashboard/")
}

func sameToken(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// loginDashboard checks ?token=, sets the cookie and redirects to the URL
// without the token. A wrong token sets nothing.
func loginDashboard(w http.ResponseWriter, r *http.Request, token string) {
	q := r.URL.Query()
	if !sameToken(q.Get("token"), token) {
		http.Error(w, "wrong token", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: dashboardCookie, Value: token, Path: "/dashboard", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	q.Del("token")
	u := *r.URL
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
}

// handleReady answers 200 while Run serves a started plan over an open
// store, 503 before that and once shutdown began.
func (d *Daemon) handleReady(w http.ResponseWriter, _ *http.Request) {
	if !d.ready.Load() {
		writeError(w, http.StatusServiceUnavailable, "not ready")
		return
	}
	w.Write([]byte("ready\n"))
}

func (d *Daemon) handleStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	st, err := d.Status(ctx)
	if err != nil {
		d.log.Error("status", zap.Error(err))
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// isLoopback reports whether a listen address only accepts local
// connections. An empty host (":9090") listens everywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
