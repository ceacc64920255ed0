package webhooks

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/config"
)

// npmVerifier installs the npm standardwebhooks package into a temporary
// directory and returns a function that verifies a captured request with it.
func npmVerifier(t *testing.T) func(r request, secret string) (string, error) {
	t.Helper()
	if testing.Short() {
		t.Skip("installs an npm package")
	}
	npm, errNPM := exec.LookPath("npm")
	node, errNode := exec.LookPath("node")
	if errNPM != nil || errNode != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and npm are required under CI: %v %v", errNPM, errNode)
		}
		t.Skipf("\n*** SKIPPING the npm standardwebhooks verification: node/npm unavailable (%v %v) ***\n", errNPM, errNode)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--silent", "standardwebhooks@1.1.1")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install standardwebhooks: %v\n%s", err, out)
	}
	script, err := filepath.Abs("testdata/verify.js")
	if err != nil {
		t.Fatal(err)
	}
	return func(r request, secret string) (string, error) {
		headers := map[string]string{}
		for k := range r.Header {
			headers[strings.ToLower(k)] = r.Header.Get(k)
		}
		b, _ := json.Marshal(map[string]any{"body": string(r.Body), "headers": headers})
		capture := filepath.Join(t.TempDir(), "capture.json")
		if err := os.WriteFile(capture, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, script, capture)
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"), "VERIFY_SECRET="+secret)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
}

// TestNPMReferenceVerifies sends real deliveries, signed with two secrets
// (rotation), and has the npm reference package verify them: with either
// secret they pass; with another secret or a tampered body they fail.
func TestNPMReferenceVerifies(t *testing.T) {
	verify := npmVerifier(t)
	rc := newReceiver(t, statuses(200))
	oldSec, oldVal := newSecret(t)
	newSec, newVal := newSecret(t)
	_, otherVal := newSecret(t)
	for _, format := range []string{config.FormatStandard, config.FormatSlack} {
		h := config.Webhook{Name: "crm-" + format, URL: rc.URL, Secrets: []config.Secret{oldSec, newSec}, Format: format}
		e := newEnv(t, h)
		d := e.dispatcher(t, WithClock(time.Now)) // the verifier checks the timestamp against real time
		e.enqueue(t, slipped(t, "acme", 0))
		e.pass(t, d)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		for name, secret := range map[string]string{"old": oldVal, "new": newVal} {
			if out, err := verify(r, secret); err != nil || !strings.HasPrefix(out, "verified") {
				t.Errorf("request %d, %s secret: %v: %s", i, name, err, out)
			}
		}
		if out, err := verify(r, otherVal); err == nil {
			t.Errorf("request %d verified with an unrelated secret: %s", i, out)
		}
		tampered := r
		tampered.Body = []byte(strings.Replace(string(r.Body), "acme", "acmf", 1))
		if out, err := verify(tampered, newVal); err == nil {
			t.Errorf("request %d verified with a tampered body: %s", i, out)
		}
	}
}
