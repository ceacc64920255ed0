// Package dashboard serves Touchbase's read-only HTML dashboard on the
// daemon's HTTP listener (listen.dashboard): the customer overview with
// filters and cadence strips, one page per customer with the why of every
// commitment, the firing alerts, and source and outbox health. Pages are
// html/template, rendered in the configured time zone; the stylesheet and
// the small script are embedded, so the dashboard needs no network beyond
// the daemon, and a strict Content-Security-Policy forbids anything inline.
//
// It only reads: evaluation without recording (evaluate.Runner) and the
// store's outbox. Authentication is the daemon's (daemon.authenticated).
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/evaluate"
	"github.com/touchbase/touchbase/store"
)

// Prefix is where the dashboard is served.
const Prefix = "/dashboard/"

// CSP is the Content-Security-Policy of every dashboard response: only
// the embedded stylesheet and script run, nothing inline, no framing.
const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Weeks is how many weeks the cadence strip shows.
const Weeks = 26

// requestTimeout bounds the store and evaluation work of one page.
const requestTimeout = 10 * time.Second

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/dashboard.css assets/dashboard.js assets/favicon.svg
var assetFS embed.FS

// Evaluator is what the dashboard reads from evaluation
// (*evaluate.Runner implements it).
type Evaluator interface {
	Overview(ctx context.Context, at time.Time, weeks int) ([]evaluate.OverviewRow, error)
	Why(ctx context.Context, id string, at time.Time) (evaluate.CustomerDetail, error)
	Alerts(ctx context.Context, all bool) ([]evaluate.AlertView, error)
	Silences(ctx context.Context, all bool) ([]cadence.Silence, error)
	SourceHealth(ctx context.Context) ([]evaluate.SourceView, error)
	Location() *time.Location
}

// Outbox is what the dashboard reads from the webhook outbox (*store.Store).
type Outbox interface {
	QueueCounts(ctx context.Context) (map[string]store.EndpointCounts, error)
	AlertDeliveries(ctx context.Context, alertIDs []string) (map[string][]store.Delivery, error)
}

// Options configures a Handler.
type Options struct {
	Evaluator Evaluator
	Outbox    Outbox
	// Endpoints are the configured webhook names, so the sources page
	// lists an endpoint with an empty queue too.
	Endpoints []string
	// Now is the wall clock for relative ages; nil: time.Now.
	Now func() time.Time
	Log *zap.Logger // nil: no logging
}

// Handler serves the dashboard pages.
type Handler struct {
	ev        Evaluator
	out       Outbox
	endpoints []string
	now       func() time.Time
	log       *zap.Logger
	pages     map[string]*template.Template
	assets    http.Handler
}

// New parses the templates; an error is a programming error in them.
func New(opts Options) (*Handler, error) {
	h := &Handler{ev: opts.Evaluator, out: opts.Outbox, endpoints: opts.Endpoints, now: opts.Now, log: opts.Log,
		pages: map[string]*template.Template{}}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	for _, name := range []string{"overview", "customer", "alerts", "sources", "error"} {
		t, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse dashboard template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	h.assets = http.StripPrefix(Prefix+"assets/", http.FileServerFS(sub))
	return h, nil
}

// Routes registers the dashboard's pages (GET only) on mux:
//
//	/dashboard/                 overview (?state, owner, tier, q, sort)
//	/dashboard/customers/{id}   one customer (404 page for an unknown ID)
//	/dashboard/alerts           firing alerts
//	/dashboard/sources          source health and outbox depth
//	/dashboard/assets/{file}    dashboard.css, dashboard.js, favicon.svg (a browser asks for an icon; a 404 is noise)
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /dashboard", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	mux.Handle("GET /dashboard/{$}", h.page(h.overview))
	mux.Handle("GET /dashboard/customers/{id}", h.page(h.customer))
	mux.Handle("GET /dashboard/alerts", h.page(h.alerts))
	mux.Handle("GET /dashboard/sources", h.page(h.sources))
	mux.Handle("GET /dashboard/assets/{file}", secured(h.assets))
	mux.Handle("GET /dashboard/", h.page(func(context.Context, *http.Request) (*view, error) {
		return nil, errNotFound("no such page")
	}))
}

// secured sets the headers every dashboard response carries.
func secured(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// view is a page to render: its template, title, navigation entry and data.
type view struct {
	template string
	Title    string
	Nav      string // "customers", "alerts", "sources" or ""
	Body     any
	Zone     string // the configured time zone's name
	// Size is the expected size of the page in bytes, when large: the
	// overview of many customers is tens of megabytes, better allocated once.
	Size int
}

type errorBody struct{ Title, Msg string }

// notFound is a page that does not exist (an unknown customer).
type notFound string

func (e notFound) Error() string { return string(e) }

func errNotFound(msg string) error { return notFound(msg) }

// page adapts a page function to a handler: it bounds the work, renders
// into a buffer so an error becomes an error page rather than half a page,
// and sets the headers.
func (h *Handler) page(fn func(context.Context, *http.Request) (*view, error)) http.Handler {
	return secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		v, err := fn(ctx, r)
		code := http.StatusOK
		if err != nil {
			code = http.StatusInternalServerError
			msg := "The dashboard could not read the store; the daemon's log has the details."
			if nf, ok := err.(notFound); ok {
				code, msg = http.StatusNotFound, string(nf)
			} else {
				h.log.Error("dashboard", zap.String("path", r.URL.Path), zap.Error(err))
			}
			v = &view{template: "error", Title: http.StatusText(code), Body: errorBody{Title: http.StatusText(code), Msg: msg}}
		}
		v.Zone = h.ev.Location().String()
		var buf bytes.Buffer
		buf.Grow(v.Size + 16<<10)
		if err := h.pages[v.template].Execute(&buf, v); err != nil {
			h.log.Error("dashboard render", zap.String("path", r.URL.Path), zap.Error(err))
			http.Error(w, "render failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_, _ = w.Write(buf.Bytes()) // the client went away; nothing to do
	}))
}
