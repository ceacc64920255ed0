package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/demo"
	"github.com/touchbase/touchbase/store"
)

// receiver is a webhook endpoint that answers with status and records
// what it got.
type receiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []*http.Request
	bodies [][]byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.status.Store(http.StatusOK)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got, r.bodies = append(r.got, req), append(r.bodies, body)
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		t.Fatal("the receiver got nothing")
	}
	return r.got[len(r.got)-1], r.bodies[len(r.bodies)-1]
}

// The fixture's evaluations queued deliveries (every event for ops,
// slipped ones for chat) that nothing sent yet.
func TestWebhooksGolden(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t, rcv.URL)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"webhooks-list.golden", []string{"webhooks", "list"}},
		{"webhooks-list.json.golden", []string{"webhooks", "list", "--json"}},
		{"webhooks-deliveries.golden", []string{"webhooks", "deliveries"}},
		{"webhooks-deliveries-chat.json.golden", []string{"webhooks", "deliveries", "--endpoint", "chat", "--state", "pending", "--limit", "2", "--json"}},
		{"webhooks-deliveries-none.json.golden", []string{"webhooks", "deliveries", "--state", "failed", "--json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			code, out, errOut := f.run(f.config, tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("%v: exit %d, stderr %q", tc.args, code, errOut)
			}
			golden(t, tc.golden, normalize(out, rcv.URL))
		})
	}
	if n := len(rcv.got); n != 0 {
		t.Errorf("listing sent %d requests to the receiver", n)
	}
}

// `webhooks test` sends a signed webhook.test at once and prints the
// status; a non-2xx or an unreachable receiver exits 1. A failed test
// delivery is replayable with redeliver, with the same webhook-id.
func TestWebhooksTestAndRedeliver(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t, rcv.URL)

	code, out, errOut := f.run(f.config, "webhooks", "test", "ops")
	okLine := regexp.MustCompile(`^ops: 200 OK in \d+(\.\d+)?[mµn]?s \(webhook-id (msg_[a-z0-9]{32})\)\n$`)
	m := okLine.FindStringSubmatch(out)
	if code != 0 || m == nil || errOut != "" {
		t.Fatalf("test ops: exit %d, stdout %q, stderr %q; want 0 and ops: 200 OK with the latency and webhook-id", code, out, errOut)
	}
	req, body := rcv.last(t)
	checkSigned(t, req, body)
	if got := req.Header.Get("webhook-id"); got != m[2] {
		t.Errorf("printed webhook-id %s, the receiver got %s", m[2], got)
	}
	var ev struct{ Type string }
	if json.Unmarshal(body, &ev); req.URL.Path != "/ops" || ev.Type != "webhook.test" {
		t.Errorf("receiver got %s %s, want a webhook.test on /ops", req.URL.Path, body)
	}

	rcv.status.Store(http.StatusInternalServerError)
	code, out, errOut = f.run(f.config, "webhooks", "test", "ops")
	if code != 1 || !strings.HasPrefix(out, "ops: 500 Internal Server Error in ") || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "test webhook ops") {
		t.Errorf("test ops answered 500: exit %d, stdout %q, stderr %q; want 1, the status, one error line", code, out, errOut)
	}
	// --json: the same answer for scripts, also when it failed.
	code, out, errOut = f.run(f.config, "webhooks", "test", "ops", "--json")
	var res testResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || res.Webhook != "ops" || res.Status != 500 ||
		res.LatencyMS < 0 || !res.Logged || !strings.Contains(res.Error, "500") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("test ops --json answered 500: exit %d, %+v (%v), stderr %q; want 1 and the status in JSON", code, res, err, errOut)
	}
	if req, _ := rcv.last(t); res.WebhookID == "" || req.Header.Get("webhook-id") != res.WebhookID {
		t.Errorf("--json webhook_id %q, the receiver got %q", res.WebhookID, req.Header.Get("webhook-id"))
	}
	failed := deliveries(t, f, "--state", "failed", "--limit", "1")
	if len(failed) != 1 || failed[0].EventType != "webhook.test" || failed[0].LastStatus != 500 {
		t.Fatalf("failed deliveries %+v, want the one test answered 500", failed)
	}

	id := strconv.FormatInt(failed[0].ID, 10)
	code, out, errOut = f.run(f.config, "webhooks", "redeliver", id)
	want := "delivery " + id + " (webhook.test to ops, webhook-id " + failed[0].EventID + ") is pending again\n"
	if code != 0 || out != want {
		t.Errorf("redeliver %s: exit %d, stdout %q, stderr %q; want %q", id, code, out, errOut, want)
	}
	pending := deliveries(t, f, "--endpoint", "ops", "--state", "pending", "--limit", "1")
	if len(pending) != 1 || pending[0].ID != failed[0].ID || pending[0].EventID != failed[0].EventID || len(pending[0].Log) != 1 {
		t.Errorf("after redeliver: newest pending to ops %+v, want delivery %s with its webhook-id and attempt log", pending, id)
	}

	code, _, errOut = f.run(f.config, "webhooks", "redeliver", "9999")
	if code != 1 || errOut != "touchbase: delivery 9999: no such delivery (see `touchbase webhooks deliveries`)\n" {
		t.Errorf("redeliver 9999: exit %d, stderr %q; want 1 and no such delivery", code, errOut)
	}

	rcv.Close()
	code, out, errOut = f.run(f.config, "webhooks", "test", "chat")
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "test webhook chat") {
		t.Errorf("test with the receiver down: exit %d, stdout %q, stderr %q; want 1 and one error line", code, out, errOut)
	}
}

// With a daemon running, `webhooks test` and `redeliver` ask it (the CLI's
// configuration names a data_dir that does not exist: only the daemon can
// answer), with the same output and exit statuses as without one.
func TestWebhooksThroughDaemon(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t, rcv.URL)
	f.startDaemon()

	code, out, errOut := f.run(f.cli, "webhooks", "test", "ops")
	if code != 0 || !strings.HasPrefix(out, "ops: 200 OK in ") || !strings.Contains(out, "(webhook-id msg_") || errOut != "" {
		t.Fatalf("test ops: exit %d, stdout %q, stderr %q; want 0 and ops: 200 OK in … (webhook-id …)", code, out, errOut)
	}
	req, body := rcv.last(t)
	checkSigned(t, req, body)

	rcv.status.Store(http.StatusInternalServerError)
	code, out, errOut = f.run(f.cli, "webhooks", "test", "ops")
	if code != 1 || !strings.HasPrefix(out, "ops: 500 Internal Server Error in ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "test webhook ops") {
		t.Errorf("test ops answered 500: exit %d, stdout %q, stderr %q; want 1, the status, one error line", code, out, errOut)
	}
	failed := deliveries(t, f, "--state", "failed")
	if len(failed) != 1 || failed[0].EventType != "webhook.test" || failed[0].LastStatus != 500 {
		t.Fatalf("failed deliveries %+v, want the one test the daemon logged", failed)
	}

	id := strconv.FormatInt(failed[0].ID, 10)
	code, out, errOut = f.run(f.cli, "webhooks", "redeliver", id)
	want := "delivery " + id + " (webhook.test to ops, webhook-id " + failed[0].EventID + ") is pending again\n"
	if code != 0 || out != want {
		t.Errorf("redeliver %s: exit %d, stdout %q, stderr %q; want %q", id, code, out, errOut, want)
	}
	if pending := deliveries(t, f, "--state", "pending", "--endpoint", "ops", "--limit", "1"); len(pending) != 1 || pending[0].ID != failed[0].ID {
		t.Errorf("after redeliver through the daemon: newest pending %+v, want delivery %s", pending, id)
	}
	code, _, errOut = f.run(f.cli, "webhooks", "redeliver", "9999")
	if code != 1 || errOut != "touchbase: delivery 9999: no such delivery (see `touchbase webhooks deliveries`)\n" {
		t.Errorf("redeliver 9999: exit %d, stderr %q; want 1 and no such delivery", code, errOut)
	}
}

func deliveries(t *testing.T, f *fixture, args ...string) []store.Delivery {
	t.Helper()
	code, out, errOut := f.run(f.config, append([]string{"webhooks", "deliveries", "--json"}, args...)...)
	var ds []store.Delivery
	if err := json.Unmarshal([]byte(out), &ds); code != 0 || err != nil {
		t.Fatalf("deliveries %v: exit %d, %v, stderr %q", args, code, err, errOut)
	}
	return ds
}

// checkSigned verifies the Standard Webhooks signature with the fixture's
// key: v1,base64(HMAC-SHA256(key, id.timestamp.body)).
func checkSigned(t *testing.T, req *http.Request, body []byte) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte("touchbase-cli-test-signing-key!!"))
	mac.Write([]byte(req.Header.Get("webhook-id") + "." + req.Header.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := req.Header.Get("webhook-signature"); req.Header.Get("webhook-id") == "" || !strings.Contains(got, want) {
		t.Errorf("webhook-signature %q, want %q", got, want)
	}
}

// `webhooks test` right after writing a configuration — no data_dir, no
// store, no daemon — sends the signed event straight to the receiver (a
// sink that verifies the signature) and prints its status and latency; a
// refusal exits 1 with the status printed.
func TestWebhooksTestWithoutStore(t *testing.T) {
	if _, err := os.Stat(filepath.Join(config.DefaultDataDir, store.FileName)); err == nil {
		t.Skip("a store exists in the default data_dir; the test needs none")
	}
	secret, err := demo.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	sink, err := demo.NewSink(secret, demo.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	refusing := newReceiver(t)
	refusing.status.Store(http.StatusServiceUnavailable)
	dir := t.TempDir()
	path := filepath.Join(dir, "touchbase.yaml")
	conf := "webhooks:\n" +
		"  - name: sink\n    url: " + sink.URL() + "\n    secret_file: hook.whsec\n" +
		"  - name: down\n    url: " + refusing.URL + "/down\n    secret_file: hook.whsec\n"
	for name, content := range map[string]string{"touchbase.yaml": conf, "hook.whsec": secret + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := runCLI(t, "webhooks", "test", "sink", "--config", path)
	if code != 0 || !regexp.MustCompile(`^sink: 204 No Content in \d+(\.\d+)?[mµn]?s \(sent directly: no store yet, so not logged\)\n$`).MatchString(out) {
		t.Fatalf("test sink: exit %d, stdout %q, stderr %q; want 0, the status and the latency", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "webhooks", "test", "sink", "--json", "--config", path)
	var res testResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || res.Status != 204 || res.Logged || res.Error != "" ||
		!strings.HasPrefix(res.WebhookID, "msg_") {
		t.Errorf("test sink --json: exit %d, %+v (%v), stderr %q; want 0, 204, not logged, a webhook-id", code, res, err, errOut)
	}
	evs := sink.Events()
	if len(evs) != 2 || evs[0].Type != "webhook.test" || len(sink.Rejected()) != 0 {
		t.Errorf("sink got %+v (rejected %+v), want two verified webhook.test", evs, sink.Rejected())
	}

	code, out, errOut = runCLI(t, "webhooks", "test", "down", "--config", path)
	if code != 1 || !strings.HasPrefix(out, "down: 503 Service Unavailable in ") || !strings.Contains(errOut, "test webhook down") {
		t.Errorf("test down: exit %d, stdout %q, stderr %q; want 1 and the 503", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(config.DefaultDataDir, store.FileName)); err == nil {
		t.Error("the test created a store")
	}
}

// `webhooks secret` prints a Standard Webhooks secret (whsec_ and the
// base64 of 24 to 64 bytes) that the signer accepts, new on every call,
// with no configuration at all.
func TestWebhooksSecret(t *testing.T) {
	var secrets []string
	for range 2 {
		code, out, errOut := runCLI(t, "webhooks", "secret", "--config", filepath.Join(t.TempDir(), "none.yaml"))
		if code != 0 || errOut != "" || !strings.HasSuffix(out, "\n") {
			t.Fatalf("webhooks secret: exit %d, stdout %q, stderr %q; want 0 and one line", code, out, errOut)
		}
		secret := strings.TrimSuffix(out, "\n")
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) < 24 || len(key) > 64 {
			t.Fatalf("secret %q: %d bytes, %v; want whsec_ and base64 of 24 to 64 bytes", secret, len(key), err)
		}
		if _, err := standardwebhooks.NewWebhook(secret); err != nil {
			t.Errorf("the Standard Webhooks library rejects %q: %v", secret, err)
		}
		secrets = append(secrets, secret)
	}
	if secrets[0] == secrets[1] {
		t.Errorf("two calls printed the same secret %q", secrets[0])
	}
}
