package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/touchbase/touchbase/config"
)

// Standard Webhooks headers (https://www.standardwebhooks.com).
const (
	headerID        = "webhook-id"
	headerTimestamp = "webhook-timestamp"
	headerSignature = "webhook-signature"
	secretPrefix    = "whsec_"
)

// signer signs bodies with an endpoint's keys: one normally, two while a
// secret is rotated, so receivers holding either secret accept the message.
type signer struct {
	keys [][]byte
}

// loadSigner reads and decodes secrets. Errors name the secret's source,
// never its value.
func loadSigner(ctx context.Context, secrets []config.Secret) (signer, error) {
	var s signer
	for _, sec := range secrets {
		v, err := sec.Value(ctx)
		if err != nil {
			return signer{}, fmt.Errorf("read webhook secret %s: %w", sec, err)
		}
		key, err := decodeSecret(v)
		if err != nil {
			return signer{}, fmt.Errorf("webhook secret %s: %w", sec, err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// secretBytes is the key length of a new secret: Standard Webhooks wants
// 24 to 64 random bytes; 32 is HMAC-SHA256's block-independent sweet spot,
// the hash's own size.
const secretBytes = 32

// NewSecret returns a new random Standard Webhooks secret: "whsec_" and the
// base64 of 32 bytes from crypto/rand. Share it with the receiver and put
// it in the endpoint's secret_file.
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// decodeSecret turns "whsec_<base64>" into the HMAC key.
func decodeSecret(v string) ([]byte, error) {
	if !strings.HasPrefix(v, secretPrefix) {
		return nil, errors.New("not a Standard Webhooks secret (want whsec_ and base64)")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, secretPrefix))
	if err != nil {
		return nil, errors.New("invalid base64 after whsec_") // the error would quote the secret
	}
	if len(key) == 0 {
		return nil, errors.New("empty key after whsec_")
	}
	return key, nil
}

// signature returns the webhook-signature value for (id, ts, body):
// "v1,<base64 HMAC-SHA256 of id.ts.body>" per key, space-separated; "" when
// the endpoint has no secret.
func (s signer) signature(id string, ts time.Time, body []byte) string {
	sigs := make([]string, 0, len(s.keys))
	for _, key := range s.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// setHeaders sets the Standard Webhooks headers of one attempt.
func (s signer) setHeaders(h http.Header, id string, ts time.Time, body []byte) {
	h.Set("Content-Type", "application/json")
	h.Set(headerID, id)
	h.Set(headerTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if sig := s.signature(id, ts, body); sig != "" {
		h.Set(headerSignature, sig)
	}
}
