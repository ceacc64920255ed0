package evaluate

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/store"
)

// Routes registers the API the CLI uses while a daemon runs (daemon
// Plan.Routes). Every answer is JSON, errors as {"error": "..."}.
//
//	GET    /v1/customers?at=TIME       []CustomerView
//	GET    /v1/customers/{id}?at=TIME  CustomerDetail (404: unknown ID); &why=true adds what did not count
//	GET    /v1/alerts?all=true         []AlertView, silenced ones marked
//	GET    /v1/alerts?at=TIME          []AlertView, the forecast (Forecast)
//	GET    /v1/suggestions             []SuggestionView
//	GET    /v1/unmatched?since=SPAN    []UnmatchedView (SPAN: 30d by default)
//	GET    /v1/silences?all=true       []cadence.Silence
//	POST   /v1/silences                {"targets": [...], "starts_at", "ends_at", "reason", "author"} → []cadence.Silence
//	DELETE /v1/silences/{id}           204, the silence expired (404: unknown ID, or already ended)
//
// TIME is anything ParseTime reads, SPAN anything ParseSince reads.
func (r *Runner) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/customers", func(w http.ResponseWriter, req *http.Request) {
		at, ok := r.queryTime(w, req)
		if ok {
			v, err := r.Customers(req.Context(), at)
			r.answer(w, v, err)
		}
	})
	mux.HandleFunc("GET /v1/customers/{id}", func(w http.ResponseWriter, req *http.Request) {
		at, ok := r.queryTime(w, req)
		if ok {
			get := r.Customer
			if req.URL.Query().Get("why") == "true" {
				get = r.Why
			}
			v, err := get(req.Context(), req.PathValue("id"), at)
			r.answer(w, v, err)
		}
	})
	mux.HandleFunc("GET /v1/alerts", func(w http.ResponseWriter, req *http.Request) {
		at, ok := r.queryTime(w, req)
		switch {
		case !ok:
		case !at.IsZero():
			v, err := r.Forecast(req.Context(), at)
			r.answer(w, v, err)
		default:
			v, err := r.Alerts(req.Context(), req.URL.Query().Get("all") == "true")
			r.answer(w, v, err)
		}
	})
	mux.HandleFunc("GET /v1/suggestions", func(w http.ResponseWriter, req *http.Request) {
		v, err := r.Suggest(req.Context(), time.Time{})
		r.answer(w, v, err)
	})
	mux.HandleFunc("GET /v1/unmatched", func(w http.ResponseWriter, req *http.Request) {
		since, err := ParseSince(req.URL.Query().Get("since"))
		if err != nil {
			r.answer(w, nil, err)
			return
		}
		v, err := r.Unmatched(req.Context(), since)
		r.answer(w, v, err)
	})
	mux.HandleFunc("GET /v1/silences", func(w http.ResponseWriter, req *http.Request) {
		v, err := r.Silences(req.Context(), req.URL.Query().Get("all") == "true")
		r.answer(w, v, err)
	})
	mux.HandleFunc("POST /v1/silences", r.handleAddSilences)
	mux.HandleFunc("DELETE /v1/silences/{id}", func(w http.ResponseWriter, req *http.Request) {
		if err := r.RemoveSilence(req.Context(), req.PathValue("id")); err != nil {
			r.answer(w, nil, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// SilenceRequest is the body of POST /v1/silences.
type SilenceRequest struct {
	Targets  []string  `json:"targets"` // customer IDs or ID/commitment
	StartsAt time.Time `json:"starts_at,omitzero"`
	EndsAt   time.Time `json:"ends_at"`
	Reason   string    `json:"reason,omitempty"`
	Author   string    `json:"author,omitempty"` // who adds it, recorded with it
}

func (r *Runner) handleAddSilences(w http.ResponseWriter, req *http.Request) {
	var body SilenceRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 64<<10)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON body: " + err.Error()})
		return
	}
	v, err := r.AddSilences(req.Context(), body.Targets, body.StartsAt, body.EndsAt, body.Reason, body.Author)
	r.answer(w, v, err)
}

func (r *Runner) queryTime(w http.ResponseWriter, req *http.Request) (time.Time, bool) {
	s := req.URL.Query().Get("at")
	if s == "" {
		return time.Time{}, true
	}
	t, err := ParseTime(s, r.Now(), r.Location())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return t, false
	}
	return t, true
}

// answer writes v, or err with a status that says whose fault it is.
func (r *Runner) answer(w http.ResponseWriter, v any, err error) {
	var arg *ArgError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, ErrNoCustomer), errors.Is(err, store.ErrNoSilence):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.As(err, &arg):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	default:
		r.log.Error("api", zap.Error(err))
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}
