package webhooks

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/touchbase/touchbase/store"
)

// TestResult is the answer of POST /v1/webhooks/{name}/test: the
// receiver's HTTP status (0 when none came), how long it took, the event's
// webhook-id and, unless it took the event, why not.
type TestResult struct {
	Endpoint  string `json:"endpoint"`
	Status    int    `json:"status"`
	LatencyMS int64  `json:"latency_ms"`
	WebhookID string `json:"webhook_id"`
	Error     string `json:"error,omitempty"`
}

// Routes registers the webhook commands that change state on the daemon's
// API, so that the CLI asks the daemon, which owns the store, instead of
// writing it (an operator in the service's group cannot):
//
//	POST /v1/webhooks/{name}/test       TestResult (404: no such endpoint)
//	POST /v1/deliveries/{id}/redeliver  store.Delivery (404: no such delivery)
//
// A receiver that refuses the test is an answer, not a failure of the
// request: 200 with Error set.
func (d *Dispatcher) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/webhooks/{name}/test", func(w http.ResponseWriter, req *http.Request) {
		name := req.PathValue("name")
		if _, ok := d.hooks[name]; !ok {
			writeError(w, http.StatusNotFound, "webhook "+strconv.Quote(name)+": no webhook of that name in the daemon's configuration")
			return
		}
		p, err := d.Test(req.Context(), name)
		res := TestResult{Endpoint: name, Status: p.Status, LatencyMS: p.Latency.Milliseconds(), WebhookID: p.EventID}
		if err != nil {
			res.Error = err.Error()
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /v1/deliveries/{id}/redeliver", func(w http.ResponseWriter, req *http.Request) {
		id, err := strconv.ParseInt(req.PathValue("id"), 10, 64)
		if err != nil || id < 1 {
			writeError(w, http.StatusBadRequest, "delivery ID "+strconv.Quote(req.PathValue("id"))+": want a number from `touchbase webhooks deliveries`")
			return
		}
		del, err := d.Redeliver(req.Context(), id)
		switch {
		case errors.Is(err, store.ErrNoDelivery):
			writeError(w, http.StatusNotFound, "delivery "+strconv.FormatInt(id, 10)+": no such delivery (see `touchbase webhooks deliveries`)")
		case err != nil:
			d.log.Error("api redeliver", zap.Int64("delivery", id), zap.Error(err))
			writeError(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusOK, del)
		}
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
