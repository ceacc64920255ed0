package webhooks

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Environment of the dispatcher process that TestKillBetweenSendAndRecord kills.
const (
	crashDir    = "TOUCHBASE_WEBHOOKS_CRASH_DIR"
	crashURL    = "TOUCHBASE_WEBHOOKS_CRASH_URL"
	crashSecret = "TOUCHBASE_WEBHOOKS_CRASH_SECRET_FILE"
)

// TestCrashChild is not a test: it is the dispatcher process that
// TestKillBetweenSendAndRecord starts and kills with SIGKILL.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDir)
	if dir == "" {
		t.Skip("helper process of TestKillBetweenSendAndRecord")
	}
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	h := config.Webhook{Name: "crm", URL: os.Getenv(crashURL), Secrets: []config.Secret{{File: os.Getenv(crashSecret)}}}
	d, err := New([]config.Webhook{h}, st, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = d.DeliverDue(t.Context())
	t.Fatalf("DeliverDue returned (%v): the receiver should have held the request until the kill", err)
}

// TestKillBetweenSendAndRecord kills (SIGKILL) a dispatcher process while
// the receiver holds its request — sent, but not recorded — then restarts
// on the same store: the event arrives again, with the same webhook-id.
func TestKillBetweenSendAndRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	held := make(chan struct{}, 1)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			held <- struct{}{}
			<-r.Context().Done() // until the client's connection dies with it
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	sec, secVal := newSecret(t)
	h := config.Webhook{Name: "crm", URL: rc.URL, Secrets: []config.Secret{sec}}
	dir := t.TempDir()
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvent(cadence.EventID("crash test"), CommitmentSlipped, time.Now(), map[string]any{"customer": map[string]string{"id": "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(t.Context(), []store.Event{ev}, Routes([]config.Webhook{h})); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var out bytes.Buffer
	child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	child.Env = append(os.Environ(), crashDir+"="+dir, crashURL+"="+rc.URL, crashSecret+"="+sec.File)
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(60 * time.Second):
		child.Process.Kill()
		t.Fatalf("the child never sent the event:\n%s", out.String())
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no cleanup, no record
		t.Fatal(err)
	}
	_ = child.Wait()

	st = openStore(t, dir)
	if ds, _ := st.Deliveries(t.Context(), store.DeliveryFilter{}); len(ds) != 1 || ds[0].State != store.DeliveryPending || ds[0].Attempts != 0 {
		t.Fatalf("after the kill: %+v; want the delivery pending with no recorded attempt", ds)
	}
	restarted, err := New([]config.Webhook{h}, st, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests right after the restart; want 1 (the claim's lease still holds)", n)
	}
	later, err := New([]config.Webhook{h}, st, zap.NewNop(), nil, WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := later.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 2 || reqs[0].ID() != ev.ID || reqs[1].ID() != ev.ID {
		t.Fatalf("requests %v; want the event twice with webhook-id %s", idsOf(reqs), ev.ID)
	}
	wh, err := standardwebhooks.NewWebhook(secVal)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		if err := wh.VerifyIgnoringTimestamp(r.Body, r.Header); err != nil || !bytes.Equal(r.Body, reqs[0].Body) {
			t.Errorf("request %d: %v; want the same, validly signed body", i, err)
		}
	}
	if ds, _ := st.Deliveries(t.Context(), store.DeliveryFilter{}); ds[0].State != store.DeliveryDelivered || ds[0].Attempts != 1 {
		t.Fatalf("after the resend: %+v; want delivered with one recorded attempt", ds[0])
	}
}

// Environment of the dispatcher processes TestTwoDispatcherProcesses runs.
const sharedDir = "TOUCHBASE_WEBHOOKS_SHARED_DIR"

// TestSharedChild is not a test: it is one of the dispatcher processes
// that TestTwoDispatcherProcesses runs on one store.
func TestSharedChild(t *testing.T) {
	dir := os.Getenv(sharedDir)
	if dir == "" {
		t.Skip("helper process of TestTwoDispatcherProcesses")
	}
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := config.Webhook{Name: "crm", URL: os.Getenv(crashURL), Secrets: []config.Secret{{File: os.Getenv(crashSecret)}}}
	d, err := New([]config.Webhook{h}, st, zap.NewNop(), nil, WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		if err := d.DeliverDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		if pending, _, err := st.OutboxDepth(t.Context()); err != nil || pending == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("deliveries still pending after a minute")
}

// TestTwoDispatcherProcesses runs two dispatcher processes on one store
// at once: their claims never overlap, so every event arrives exactly
// once, each customer's in order.
func TestTwoDispatcherProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // let the other process claim meanwhile
		w.WriteHeader(http.StatusOK)
	})
	sec, _ := newSecret(t)
	h := config.Webhook{Name: "crm", URL: rc.URL, Secrets: []config.Secret{sec}}
	dir := t.TempDir()
	st := openStore(t, dir)
	var evs []store.Event
	for i := range 300 {
		ev, err := NewEvent(cadence.EventID("shared", strconv.Itoa(i)), CommitmentSlipped, time.Now().Add(time.Duration(i)*time.Millisecond),
			map[string]any{"customer": map[string]string{"id": "c" + strconv.Itoa(i%20)}})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if err := st.Enqueue(t.Context(), evs, Routes([]config.Webhook{h})); err != nil {
		t.Fatal(err)
	}
	var children []*exec.Cmd
	var outs []*bytes.Buffer
	for range 2 {
		var out bytes.Buffer
		child := exec.Command(os.Args[0], "-test.run=^TestSharedChild$", "-test.v")
		child.Env = append(os.Environ(), sharedDir+"="+dir, crashURL+"="+rc.URL, crashSecret+"="+sec.File)
		child.Stdout, child.Stderr = &out, &out
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		children, outs = append(children, child), append(outs, &out)
	}
	for i, c := range children {
		if err := c.Wait(); err != nil {
			t.Fatalf("dispatcher process %d: %v\n%s", i, err, outs[i])
		}
	}
	seen := map[string]int{}
	last := map[string]int{} // customer → index of its last event received
	for _, r := range rc.requests() {
		seen[r.ID()]++
		i := slices.IndexFunc(evs, func(ev store.Event) bool { return ev.ID == r.ID() })
		cust := "c" + strconv.Itoa(i%20)
		if prev, ok := last[cust]; ok && prev > i {
			t.Errorf("customer %s: event %d arrived after event %d", cust, i, prev)
		}
		last[cust] = i
	}
	for _, ev := range evs {
		if seen[ev.ID] != 1 {
			t.Errorf("event %s arrived %d times; want once", ev.ID, seen[ev.ID])
		}
	}
}
