package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
)

// EventTypes are the webhook event types (SPEC "Webhooks"), the values a
// webhook's `events` filter may name.
var EventTypes = []string{
	"commitment.at_risk",
	"commitment.slipped",
	"commitment.recovered",
	"sync.failing",
	"sync.recovered",
	"webhook.test",
}

// Webhook formats.
const (
	FormatStandard = "standard"
	FormatSlack    = "slack"
)

// whsecPrefix starts a Standard Webhooks secret; the rest is the base64 key.
const whsecPrefix = "whsec_"

func (b *builder) webhooks(rs []rawWebhook) []Webhook {
	out := make([]Webhook, 0, len(rs))
	names := map[string]string{}
	for i, r := range rs {
		key := fmt.Sprintf("webhooks[%d]", i)
		w := Webhook{
			Name:   r.Name,
			URL:    r.URL,
			Events: r.Events,
			Format: b.oneOf(key+".format", r.Format, FormatStandard, "format", FormatStandard, FormatSlack),
		}
		if b.required(key+".name", r.Name) {
			b.dupe(key+".name", "webhook name", r.Name, names, key)
		}
		if b.required(key+".url", r.URL) {
			b.url(key+".url", r.URL)
		}
		for j, e := range r.Events {
			if !slices.Contains(EventTypes, e) {
				b.p.add(fmt.Sprintf("%s.events[%d]", key, j), "unknown event type %q%s", e, didYouMean(e, EventTypes))
			}
		}
		w.Secrets = b.webhookSecrets(key, r, w.Format)
		out = append(out, w)
	}
	return out
}

// webhookSecrets checks secret_file and, during a key rotation,
// secret_file_next. A Slack incoming webhook does not verify signatures,
// so a secret is optional there.
func (b *builder) webhookSecrets(key string, r rawWebhook, format string) []Secret {
	var out []Secret
	if r.SecretFile == "" {
		if format == FormatStandard {
			b.p.add(key+".secret_file", "required key is missing (a whsec_… Standard Webhooks secret)")
		}
		if r.SecretFileNext != "" {
			b.p.add(key+".secret_file_next", "needs secret_file: the next secret only joins the current one")
		}
		return nil
	}
	for _, f := range []struct{ name, path string }{
		{"secret_file", r.SecretFile},
		{"secret_file_next", r.SecretFileNext},
	} {
		if f.path == "" {
			continue
		}
		path := b.path(f.path)
		b.checkWhsec(key+"."+f.name, path)
		out = append(out, Secret{File: path})
	}
	return out
}

// checkWhsec checks that a file holds a Standard Webhooks secret:
// "whsec_" and a standard base64 key, as the signing library decodes it.
// The content is cleared after the check and never appears in a message.
func (b *builder) checkWhsec(key, path string) {
	data := b.readSecretFile(key, path)
	if data == nil {
		return
	}
	defer clear(data)
	s := bytes.TrimSpace(data)
	rest, ok := bytes.CutPrefix(s, []byte(whsecPrefix))
	if !ok {
		b.p.add(key, "secret in %q does not start with %q", path, whsecPrefix)
		return
	}
	key64 := make([]byte, base64.StdEncoding.DecodedLen(len(rest)))
	defer clear(key64)
	n, err := base64.StdEncoding.Decode(key64, rest)
	if err != nil || n == 0 {
		b.p.add(key, "secret in %q is not %q followed by base64", path, whsecPrefix)
	}
}
