package webhooks

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/touchbase/touchbase/config"
)

// TestSignatureVectors checks signatures against fixed vectors: the
// specification's published example and a rotation case computed with the
// npm reference package; the Go reference library verifies each as well.
func TestSignatureVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Comment   string   `json:"comment"`
		Secrets   []string `json:"secrets"`
		ID        string   `json:"id"`
		Timestamp int64    `json:"timestamp"`
		Payload   string   `json:"payload"`
		Signature string   `json:"signature"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		t.Run(v.Comment, func(t *testing.T) {
			var s signer
			for _, sec := range v.Secrets {
				key, err := decodeSecret(sec)
				if err != nil {
					t.Fatal(err)
				}
				s.keys = append(s.keys, key)
			}
			ts := time.Unix(v.Timestamp, 0)
			h := http.Header{}
			s.setHeaders(h, v.ID, ts, []byte(v.Payload))
			if got := h.Get(headerSignature); got != v.Signature {
				t.Errorf("signature %q, want %q", got, v.Signature)
			}
			for _, sec := range v.Secrets {
				wh, err := standardwebhooks.NewWebhook(sec)
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.VerifyIgnoringTimestamp([]byte(v.Payload), h); err != nil {
					t.Errorf("reference library rejects it: %v", err)
				}
			}
		})
	}
}

func TestDecodeSecret(t *testing.T) {
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"valid", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},
		{"not base64", "whsec_not*base64!", false},
		{"empty key", "whsec_", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeSecret(tc.secret)
			if (err == nil) != tc.ok {
				t.Fatalf("decodeSecret(%q) error %v; want ok=%v", tc.secret, err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(tc.secret, secretPrefix)) && tc.secret != secretPrefix {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

func TestUnreadableSecretHoldsDeliveries(t *testing.T) {
	rc := newReceiver(t, statuses(200))
	h := config.Webhook{Name: "crm", URL: rc.URL, Secrets: []config.Secret{{File: t.TempDir() + "/missing"}}}
	e := newEnv(t, h)
	d := e.dispatcher(t)
	ev := slipped(t, "acme", 0)
	e.enqueue(t, ev)
	e.pass(t, d)
	e.pass(t, d)
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("%d requests sent without a usable secret", n)
	}
	if got := e.delivery(t, ev.ID); got.State != "pending" || got.Attempts != 0 {
		t.Fatalf("delivery %+v; want pending, no attempt", got)
	}
	if n := e.logs.FilterMessageSnippet("secret unusable").Len(); n != 1 {
		t.Errorf("secret error logged %d times over two passes; want once", n)
	}
	if _, err := d.Test(t.Context(), "crm"); err == nil {
		t.Error("Test succeeded without a usable secret")
	}
}
