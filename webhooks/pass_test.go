package webhooks

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// DeliverPass counts the attempts of its pass: delivered ones as sent,
// refused ones (retried later or not) as failed, naming their endpoints;
// an unreachable receiver fails too. The next pass counts only its own.
func TestDeliverPassCounts(t *testing.T) {
	ok := newReceiver(t, nil)
	refusing := newReceiver(t, statuses(http.StatusInternalServerError))
	gone := newReceiver(t, nil)
	gone.Close()
	e := newEnv(t, hook(t, "ok", ok.URL), hook(t, "refusing", refusing.URL), hook(t, "gone", gone.URL))
	e.enqueue(t, slipped(t, "acme", 0), slipped(t, "globex", -time.Minute))
	d := e.dispatcher(t)

	p, err := d.DeliverPass(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p.Sent != 2 || p.Failed != 4 || !slices.Equal(p.FailedEndpoints, []string{"gone", "refusing"}) {
		t.Errorf("first pass %+v, want 2 sent, 4 failed at gone and refusing", p)
	}
	p, err = d.DeliverPass(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p.Sent != 0 || p.Failed != 0 || len(p.FailedEndpoints) != 0 {
		t.Errorf("second pass, retries not due yet: %+v, want nothing attempted", p)
	}
}
