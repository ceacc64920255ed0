package webhooks

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchbase/touchbase/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

func TestSlackText(t *testing.T) {
	files, err := filepath.Glob("testdata/slack/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var fx struct {
				Now     time.Time       `json:"now"`
				Payload json.RawMessage `json:"payload"`
			}
			if err := json.Unmarshal(raw, &fx); err != nil {
				t.Fatal(err)
			}
			var msg map[string]string
			if err := json.Unmarshal(slackBody(fx.Payload, fx.Now), &msg); err != nil || len(msg) != 1 {
				t.Fatalf("body %v, %v; want a JSON object with text only", msg, err)
			}
			golden(t, "slack/"+name+".golden", msg["text"]+"\n")
		})
	}
}

func TestHuman(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "under a minute"},
		{45 * time.Minute, "45m"},
		{5*time.Hour + 20*time.Minute, "5h 20m"},
		{2 * time.Hour, "2h"},
		{50 * time.Hour, "2d 2h"},
		{-72 * time.Hour, "3d"},
	}
	for _, tc := range tests {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestSlackEndpointGetsText(t *testing.T) {
	rc := newReceiver(t, statuses(200))
	h := hook(t, "team", rc.URL)
	h.Format = config.FormatSlack
	e := newEnv(t, h)
	d := e.dispatcher(t)
	e.clock.Advance(2 * time.Hour)
	e.enqueue(t, slipped(t, "acme", 0))
	e.pass(t, d)
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	var msg struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(reqs[0].Body, &msg); err != nil || !strings.Contains(msg.Text, "*acme*") ||
		!strings.Contains(msg.Text, "3h late") {
		t.Fatalf("slack body %s (%v); want a text naming acme, 3h late", reqs[0].Body, err)
	}
	if reqs[0].Header.Get(headerSignature) == "" {
		t.Error("slack delivery unsigned; the Standard Webhooks headers are sent to every format")
	}
}
