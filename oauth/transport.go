package oauth

import "net/http"

// Transport returns an http.RoundTripper that sends each request through
// base with `Authorization: Bearer` and the account's current access token
// (RFC 6750 section 2.1). A 401 answer expires the token (it may have been
// revoked before its expiry) and the request is sent once more with a
// refreshed one when its body can be replayed; a failed refresh (a revoked
// grant) is then the error. base nil means http.DefaultTransport.
func (c *Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &bearer{c: c, base: base}
}

type bearer struct {
	c    *Client
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper; it leaves req unchanged.
func (b *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := b.c.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	b.c.Expire(tok)
	if req.Body != nil && req.GetBody == nil {
		return resp, nil
	}
	fresh, terr := b.c.Token(req.Context())
	if terr != nil {
		resp.Body.Close()
		return nil, terr
	}
	if fresh == tok {
		return resp, nil
	}
	resp.Body.Close()
	r = req.Clone(req.Context())
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	r.Header.Set("Authorization", "Bearer "+fresh)
	resp, err = b.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		b.c.Expire(fresh)
	}
	return resp, err
}
