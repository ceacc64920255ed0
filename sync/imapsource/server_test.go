package imapsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// Test server: go-imap's in-memory server, with what it lacks added by a
// session wrapper: special-use attributes in LIST (it ignores them on
// CREATE), LIST-STATUS, and optional SASL mechanisms.

const (
	testUser  = "bob@example.test"
	testPass  = "bob-pass"
	testToken = "token-123"
)

// serverOptions shape the test server.
type serverOptions struct {
	caps       imap.CapSet
	specialUse bool     // report \Sent etc. in LIST
	mechs      []string // SASL mechanisms; nil: the default (PLAIN)
	sentName   string   // name of the \Sent folder; default "Sent"
	// token says whether an OAuth access token is valid (XOAUTH2 and
	// OAUTHBEARER); nil accepts testToken only.
	token func(string) bool
}

// rev2Caps is a modern server: LIST-STATUS, ESEARCH, SPECIAL-USE.
var rev2Caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapSpecialUse: {}}

// rev1Caps is a bare IMAP4rev1 server: STATUS and plain SEARCH only.
var rev1Caps = imap.CapSet{imap.CapIMAP4rev1: {}}

type testServer struct {
	t     *testing.T
	addr  string
	user  *imapmemserver.User
	opts  serverOptions
	mu    sync.Mutex
	boxes map[string][]imap.MailboxAttr // name → special-use attributes
}

// newServer starts a server with one user (testUser) and the folders
// INBOX, Sent (\Sent) and Archive (\Archive).
func newServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	if opts.caps == nil {
		opts.caps = rev2Caps
	}
	if opts.sentName == "" {
		opts.sentName = "Sent"
	}
	s := &testServer{t: t, opts: opts, user: imapmemserver.NewUser(testUser, testPass), boxes: map[string][]imap.MailboxAttr{}}
	s.create("INBOX")
	s.create(opts.sentName, imap.MailboxAttrSent)
	s.create("Archive", imap.MailboxAttrArchive)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if opts.mechs != nil {
				return &testSASLSession{testSession{srv: s}}, nil, nil
			}
			return &testSession{srv: s}, nil, nil
		},
		Caps:         opts.caps,
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	return s
}

// create creates a folder (again: a re-created folder gets a new UIDVALIDITY).
func (s *testServer) create(name string, attrs ...imap.MailboxAttr) {
	s.t.Helper()
	if err := s.user.Create(name, nil); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.boxes[name] = attrs
	s.mu.Unlock()
}

// recreate deletes and re-creates a folder, as a server that lost its
// index does: same name, new UIDVALIDITY, no messages.
func (s *testServer) recreate(name string) {
	s.t.Helper()
	s.mu.Lock()
	attrs := s.boxes[name]
	s.mu.Unlock()
	if err := s.user.Delete(name); err != nil {
		s.t.Fatal(err)
	}
	s.create(name, attrs...)
}

// add appends a raw message to folder with INTERNALDATE at.
func (s *testServer) add(folder string, raw []byte, at time.Time) {
	s.t.Helper()
	if _, err := s.user.Append(folder, bytes.NewReader(raw), &imap.AppendOptions{Time: at}); err != nil {
		s.t.Fatalf("append to %s: %v", folder, err)
	}
}

type testSession struct {
	*imapmemserver.UserSession
	srv *testServer
}

func (s *testSession) Login(username, password string) error {
	if err := s.srv.user.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(s.srv.user)
	return nil
}

// Idle reports new mail like Dovecot does, including mail that arrived
// between the client's EXAMINE and its IDLE: the memory server only reports
// updates that arrive after it has registered the idler, a gap that made
// the watch tests flaky. Polling every few milliseconds closes it.
func (s *testSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

// List reports the registry's folders with their special-use attributes
// (when the server has them) and, for LIST-STATUS, their status.
func (s *testSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	s.srv.mu.Lock()
	boxes := map[string][]imap.MailboxAttr{}
	for k, v := range s.srv.boxes {
		boxes[k] = v
	}
	s.srv.mu.Unlock()
	for name, attrs := range boxes {
		match := false
		for _, p := range patterns {
			match = match || imapserver.MatchList(name, '/', ref, p)
		}
		if !match {
			continue
		}
		data := &imap.ListData{Mailbox: name, Delim: '/'}
		if s.srv.opts.specialUse {
			data.Attrs = attrs
		}
		if options != nil && options.ReturnStatus != nil {
			st, err := s.UserSession.Status(name, options.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// testSASLSession adds SASL mechanisms: PLAIN and XOAUTH2 as listed.
type testSASLSession struct{ testSession }

func (s *testSASLSession) AuthenticateMechanisms() []string { return s.srv.opts.mechs }

func (s *testSASLSession) Authenticate(mech string) (sasl.Server, error) {
	if !slices.Contains(s.srv.opts.mechs, mech) {
		return nil, errors.New("mechanism not offered")
	}
	switch mech {
	case "XOAUTH2":
		return &xoauth2Server{sess: &s.testSession}, nil
	case sasl.OAuthBearer:
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if o.Username != testUser || !s.srv.validToken(o.Token) {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			s.UserSession = imapmemserver.NewUserSession(s.srv.user)
			return nil
		}), nil
	case "PLAIN":
		return sasl.NewPlainServer(func(_, user, pass string) error { return s.Login(user, pass) }), nil
	}
	return nil, errors.New("unsupported mechanism")
}

// xoauth2Server checks the XOAUTH2 initial response; on a bad token it
// sends the JSON error challenge and fails after the client's answer.
type xoauth2Server struct {
	sess   *testSession
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, imapserver.ErrAuthFailed
	}
	parts := strings.Split(string(resp), "\x01")
	if len(parts) == 4 && parts[0] == "user="+testUser && strings.HasPrefix(parts[1], "auth=Bearer ") &&
		x.sess.srv.validToken(strings.TrimPrefix(parts[1], "auth=Bearer ")) {
		x.sess.UserSession = imapmemserver.NewUserSession(x.sess.srv.user)
		return nil, true, nil
	}
	x.failed = true
	return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.example/"}`), false, nil
}

func (s *testServer) validToken(tok string) bool {
	if s.opts.token != nil {
		return s.opts.token(tok)
	}
	return tok == testToken
}

// newSource returns a Source for the test server at addr, with a fresh
// store in a temporary folder.
func newSource(t *testing.T, addr string, folders []string) (*Source, *store.Store) {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newSourceWith(t, addr, folders, st, config.Secret{File: secretFile(t, testPass)}), st
}

func newSourceWith(t *testing.T, addr string, folders []string, st *store.Store, pass config.Secret) *Source {
	t.Helper()
	acct := config.Account{Name: "bob", Email: testUser, IMAP: &config.IMAP{
		Addr: addr, TLS: config.TLSNone, Username: testUser, Password: pass, Folders: folders}}
	backfill, _ := cadence.ParseSpan("365d")
	src, err := New(acct, config.Sync{Backfill: backfill, Idle: true}, st, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// secretFile writes a password file.
func secretFile(t *testing.T, value string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// message builds a small RFC 5322 message.
func message(id, from, to, subject string, date time.Time, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n", date.Format(time.RFC1123Z), from, to, subject)
	if id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\nHello.\r\n")
	return []byte(b.String())
}

// syncOK runs one pass and fails the test on error.
func syncOK(t *testing.T, src *Source) stats {
	t.Helper()
	st, err := src.Sync(t.Context())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return st
}

// storedIDs returns the Message-IDs of every stored interaction, failing
// on a key stored twice.
func storedIDs(t *testing.T, st *store.Store) map[string]cadence.Interaction {
	t.Helper()
	ins, err := st.Interactions(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cadence.Interaction{}
	for _, in := range ins {
		if _, dup := out[in.Key]; dup {
			t.Fatalf("key %s stored twice", in.Key)
		}
		out[in.Key] = in
	}
	return out
}

// testLogger logs warnings and errors into the test's output.
func testLogger(t *testing.T) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}
