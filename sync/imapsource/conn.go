package imapsource

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/touchbase/touchbase/config"
)

// Network timing. go-imap has no context and no read timeout while it
// waits for a response, so a server that stops answering would hang a
// pass forever: stallLimit bounds that wait while commands run, TCP
// keepalive finds dead peers while a connection sits idle.
const (
	dialTimeout   = 30 * time.Second
	stallLimit    = 2 * time.Minute
	keepAliveIdle = 30 * time.Second
)

// stallConn is the network connection under go-imap. While armed, the "no
// deadline" go-imap sets between responses becomes now + the stall limit,
// so a silent server fails the command instead of blocking it; disarmed
// (between passes, during IDLE) it waits indefinitely as go-imap intends.
type stallConn struct {
	net.Conn
	mu    sync.Mutex    // orders go-imap's deadline updates with arm/disarm
	limit time.Duration // 0 when disarmed
}

// SetReadDeadline implements net.Conn.
func (c *stallConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.IsZero() && c.limit > 0 {
		t = time.Now().Add(c.limit)
	}
	return c.Conn.SetReadDeadline(t)
}

// arm starts bounding waits for the server by d.
func (c *stallConn) arm(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = d
	c.Conn.SetReadDeadline(time.Now().Add(d))
}

// disarm lets reads wait indefinitely again.
func (c *stallConn) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = 0
	c.Conn.SetReadDeadline(time.Time{})
}

// session is one logged-in IMAP connection.
type session struct {
	c        *imapclient.Client
	raw      *stallConn
	caps     imap.CapSet
	selected string // the folder EXAMINEd last; "" when none
	validity uint32 // its UIDVALIDITY when EXAMINEd
}

// use arms the stall limit and makes ctx's end close the connection (the
// only way to interrupt go-imap); the returned func undoes both.
func (s *session) use(ctx context.Context) (done func()) {
	s.raw.arm(stallLimit)
	stop := context.AfterFunc(ctx, func() { s.c.Close() })
	return func() {
		stop()
		s.raw.disarm()
	}
}

// closed reports whether the server or the network ended the connection.
func (s *session) closed() bool {
	select {
	case <-s.c.Closed():
		return true
	default:
		return false
	}
}

// tlsConfig builds the TLS settings for addr: certificates are always
// verified, against the system roots plus caFile when set.
func tlsConfig(addr, caFile string) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("imap address %q: %w", addr, err)
	}
	pool, err := config.RootCAs(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{ServerName: host, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// dial connects to the account's server (implicit TLS, STARTTLS or plain)
// and logs in. handler receives unilateral data (IDLE notifications); it
// may be nil. The connection is closed if ctx ends while dialing.
func (s *Source) dial(ctx context.Context, handler *imapclient.UnilateralDataHandler) (*session, error) {
	sess, err := s.dialOnce(ctx, handler)
	if errors.Is(err, errTokenRenewed) {
		return s.dialOnce(ctx, handler)
	}
	return sess, err
}

// dialOnce is one connection attempt of dial.
func (s *Source) dialOnce(ctx context.Context, handler *imapclient.UnilateralDataHandler) (*session, error) {
	// The secret first: an OAuth helper may take its time, and the server
	// would not wait for it on an open connection.
	secret, err := s.secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("log in to %s as %s: %w", s.imap.Addr, s.imap.Username, err)
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: keepAliveIdle, Interval: 15 * time.Second, Count: 4}}
	nc, err := d.DialContext(ctx, "tcp", s.imap.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.imap.Addr, err)
	}
	raw := &stallConn{Conn: nc}
	raw.arm(dialTimeout)
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	opts := &imapclient.Options{WordDecoder: wordDecoder, UnilateralDataHandler: handler, TLSConfig: s.tls}
	var c *imapclient.Client
	switch s.imap.TLS {
	case config.TLSNone:
		c = imapclient.New(raw, opts)
	case config.TLSStartTLS:
		c, err = imapclient.NewStartTLS(raw, opts)
	default:
		tc := tls.Client(raw, s.tls)
		if err = tc.HandshakeContext(ctx); err == nil {
			c = imapclient.New(tc, opts)
		}
	}
	if err == nil {
		err = c.WaitGreeting()
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", s.imap.Addr, ctxErr(ctx, err))
	}
	sess := &session{c: c, raw: raw}
	if err := s.login(ctx, sess, secret); err != nil {
		c.Close()
		return nil, fmt.Errorf("log in to %s as %s: %w", s.imap.Addr, s.imap.Username, ctxErr(ctx, err))
	}
	raw.disarm()
	return sess, nil
}

// login authenticates with the configured mechanism, then reads the
// capabilities the server offers to logged-in clients.
func (s *Source) login(ctx context.Context, sess *session, secret string) error {
	var err error
	c := sess.c
	switch {
	case s.imap.Auth == config.AuthOAuth2:
		err = s.authenticateOAuth(ctx, c, secret)
	case s.imap.Auth == config.AuthXOAuth2:
		if !c.Caps().Has(imap.AuthCap("XOAUTH2")) {
			return errors.New("server does not offer AUTH=XOAUTH2")
		}
		err = c.Authenticate(&xoauth2{user: s.imap.Username, token: secret})
	case c.Caps().Has(imap.AuthCap(sasl.Plain)):
		err = c.Authenticate(sasl.NewPlainClient("", s.imap.Username, secret))
	case c.Caps().Has(imap.CapLoginDisabled):
		return errors.New("server refuses LOGIN on this connection (LOGINDISABLED): use tls")
	default:
		err = c.Login(s.imap.Username, secret).Wait()
	}
	if err != nil {
		return err
	}
	caps, err := c.Capability().Wait()
	if err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	sess.caps = caps
	return nil
}

// secret is the password, or with auth: oauth2 a fresh access token.
func (s *Source) secret(ctx context.Context) (string, error) {
	if s.imap.Auth == config.AuthOAuth2 {
		return s.oauth.Token(ctx)
	}
	return s.imap.Password.Value(ctx)
}

// errTokenRenewed: the server refused an access token before its expiry
// (revoked); a fresh one is ready, for a new connection.
var errTokenRenewed = errors.New("the server refused the OAuth access token; renewed it")

// authenticateOAuth authenticates with an OAuth 2.0 access token: with
// OAUTHBEARER (RFC 7628) when the server offers it, else XOAUTH2 (Gmail
// offers both, Microsoft 365 only XOAUTH2). A refused token may have been
// revoked before its expiry: it is expired and the grant refreshed at
// once, so that a revoked grant says so; when a new token came, the error
// is errTokenRenewed and dial tries once more on a new connection.
func (s *Source) authenticateOAuth(ctx context.Context, c *imapclient.Client, token string) error {
	var err error
	switch caps := c.Caps(); {
	case caps.Has(imap.AuthCap(sasl.OAuthBearer)):
		host, portStr, _ := net.SplitHostPort(s.imap.Addr)
		port, _ := strconv.Atoi(portStr)
		err = c.Authenticate(sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{
			Username: s.imap.Username, Token: token, Host: host, Port: port}))
	case caps.Has(imap.AuthCap("XOAUTH2")):
		err = c.Authenticate(&xoauth2{user: s.imap.Username, token: token})
	default:
		return errors.New("server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2")
	}
	if err == nil {
		return nil
	}
	s.oauth.Expire(token)
	fresh, terr := s.oauth.Token(ctx)
	switch {
	case terr != nil:
		return terr
	case fresh != token:
		return fmt.Errorf("%w: %v", errTokenRenewed, err)
	}
	return err
}

// xoauth2 is the XOAUTH2 SASL mechanism (Google, Microsoft 365), which
// go-sasl lacks: the user and an OAuth 2 access token in one message.
type xoauth2 struct {
	user, token string
	failure     string
}

// Start implements sasl.Client.
func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next implements sasl.Client. A challenge after the initial response is
// the server's JSON error report; the mechanism answers it with an empty
// response, after which the server fails the command.
func (x *xoauth2) Next(challenge []byte) ([]byte, error) {
	x.failure = string(challenge)
	return []byte{}, nil
}

// ctxErr prefers ctx's error: once ctx ends, the connection is closed on
// purpose and its "use of closed connection" says nothing useful.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
