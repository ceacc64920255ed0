// Package oauthtest is a small OAuth 2.0 authorization server for tests,
// on httptest: the device authorization grant (RFC 8628) with scripted
// poll answers, the authorization code grant with PKCE (RFC 7636),
// refresh (with rotation) and revocation (RFC 7009). It issues random
// tokens and tells resource servers in tests (IMAP, CalDAV) whether an
// access token is valid. Nothing here reaches beyond 127.0.0.1.
package oauthtest

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running authorization server. Its exported fields shape the
// answers; set them before the flow they affect starts, or under Lock.
type Server struct {
	URL          string // base URL; endpoints below
	ClientID     string
	ClientSecret string // required in token requests when set
	Scope        string // the scope answered with tokens ("" for none)
	ExpiresIn    int    // access token lifetime, seconds (default 3600)
	Interval     int    // device polling interval, seconds (default 1)
	// DeviceAnswers are the error codes answered to the device polls, in
	// order, before the token (authorization_pending, slow_down); a
	// terminal one (access_denied, expired_token) ends the flow.
	DeviceAnswers []string
	Rotate        bool // issue a new refresh token on each refresh

	mu       sync.Mutex
	t        testing.TB
	access   map[string]time.Time // access token → expiry
	refresh  map[string]bool      // refresh token → valid
	codes    map[string]string    // authorization code → PKCE challenge
	polls    []time.Time          // device poll times
	requests []string             // "POST /token grant_type=..." without values
}

// Endpoint paths under URL.
const (
	DevicePath    = "/device"
	AuthorizePath = "/authorize"
	TokenPath     = "/token"
	RevokePath    = "/revoke"
)

// New starts a server for clientID, stopped when the test ends.
func New(t testing.TB, clientID string) *Server {
	s := &Server{ClientID: clientID, ExpiresIn: 3600, Interval: 1, t: t,
		access: map[string]time.Time{}, refresh: map[string]bool{}, codes: map[string]string{}}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// Handler serves the endpoints; New serves it on httptest.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+DevicePath, s.device)
	mux.HandleFunc("GET "+AuthorizePath, s.authorize)
	mux.HandleFunc("POST "+TokenPath, s.token)
	mux.HandleFunc("POST "+RevokePath, s.revoke)
	return mux
}

// Lock and Unlock guard the exported fields while flows run.
func (s *Server) Lock()   { s.mu.Lock() }
func (s *Server) Unlock() { s.mu.Unlock() }

// Valid reports whether an access token was issued, has not expired and
// was not revoked.
func (s *Server) Valid(access string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.access[access]
	return ok && time.Now().Before(exp)
}

// ExpireAll makes every issued access token expired.
func (s *Server) ExpireAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.access {
		s.access[k] = time.Time{}
	}
}

// RevokeAll revokes every refresh token, as a user who removed the app's
// access would: refreshing then answers invalid_grant.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.refresh {
		s.refresh[k] = false
	}
}

// RefreshValid reports whether a refresh token is issued and not revoked.
func (s *Server) RefreshValid(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh[rt]
}

// Polls returns the times of the device polls so far.
func (s *Server) Polls() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.polls...)
}

// Requests lists the requests so far as "PATH grant_type" (no values).
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Tokens returns every access and refresh token issued so far, for tests
// that check that none leaks.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.access {
		out = append(out, k)
	}
	for k := range s.refresh {
		out = append(out, k)
	}
	return out
}

func (s *Server) device(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, DevicePath)
	if r.PostFormValue("client_id") != s.ClientID {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	writeJSON(w, map[string]any{
		"device_code": "dc-" + random(), "user_code": "WDJB-MJHT",
		"verification_uri": s.URL + "/activate", "expires_in": 900, "interval": s.Interval,
	})
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.requests = append(s.requests, AuthorizePath)
	ok := q.Get("client_id") == s.ClientID && q.Get("code_challenge_method") == "S256" && q.Get("code_challenge") != ""
	code := "code-" + random()
	if ok {
		s.codes[code] = q.Get("code_challenge") + " " + q.Get("redirect_uri")
	}
	s.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Hostname() != "127.0.0.1" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{"state": {q.Get("state")}}
	if ok {
		v.Set("code", code)
	} else {
		v.Set("error", "invalid_request")
	}
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	grant := r.PostForm.Get("grant_type")
	s.requests = append(s.requests, TokenPath+" "+grant)
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.ClientID || (s.ClientSecret != "" && secret != s.ClientSecret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	switch grant {
	case "urn:ietf:params:oauth:grant-type:device_code":
		s.polls = append(s.polls, time.Now())
		if len(s.DeviceAnswers) > 0 {
			code := s.DeviceAnswers[0]
			s.DeviceAnswers = s.DeviceAnswers[1:]
			oauthError(w, http.StatusBadRequest, code)
			return
		}
		s.issue(w, "")
	case "authorization_code":
		want, ok := s.codes[r.PostForm.Get("code")]
		delete(s.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || want != base64.RawURLEncoding.EncodeToString(sum[:])+" "+r.PostForm.Get("redirect_uri") {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		s.issue(w, "")
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !s.refresh[rt] {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		if s.Rotate {
			s.refresh[rt] = false
			s.issue(w, "")
			return
		}
		s.issue(w, rt)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

// issue answers a new access token, with keepRT as the refresh token or,
// when empty, a new one. Callers hold mu.
func (s *Server) issue(w http.ResponseWriter, keepRT string) {
	at := "at-" + random()
	s.access[at] = time.Now().Add(time.Duration(s.ExpiresIn) * time.Second)
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": s.ExpiresIn}
	if keepRT == "" {
		rt := "rt-" + random()
		s.refresh[rt] = true
		resp["refresh_token"] = rt
	}
	if s.Scope != "" {
		resp["scope"] = s.Scope
	}
	writeJSON(w, resp)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, RevokePath+" "+r.PostForm.Get("token_type_hint"))
	tok := r.PostForm.Get("token")
	if _, ok := s.refresh[tok]; ok {
		s.refresh[tok] = false
		return
	}
	if _, ok := s.access[tok]; ok {
		s.access[tok] = time.Time{}
		return
	}
	oauthError(w, http.StatusBadRequest, "invalid_token")
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":"test server says %s"}`, code, strings.ReplaceAll(code, "_", " "))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func random() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Browse plays the user's browser for the browser flow: it reads the
// sign-in instructions from r until the authorization URL of this server
// appears, opens it and follows the redirect back to the client's
// loopback listener. It returns that last answer's status, and keeps
// draining r so the writer never blocks.
func (s *Server) Browse(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, s.URL+AuthorizePath+"?") {
			continue
		}
		go io.Copy(io.Discard, r)
		resp, err := http.Get(line)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	return 0, fmt.Errorf("no authorization URL of %s in the output", s.URL)
}
