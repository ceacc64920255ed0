package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// StartIMAP serves mails over plain IMAP (no TLS) on a free loopback port,
// with go-imap's in-memory server. users maps login (an email address) to
// password; each gets INBOX, Sent (\Sent), Drafts (\Drafts) and Trash
// (\Trash), and every mail whose Owner is that user is stored in its Folder
// with its Date as INTERNALDATE and its Flags. A mail for an unknown owner
// or folder is an error.
//
// The server runs until stop is called or ctx ends; stop is idempotent and
// closes every connection.
func StartIMAP(ctx context.Context, users map[string]string, mails []Mail) (addr string, stop func(), err error) {
	s := &imapServer{mem: imapmemserver.New(), users: map[string]*imapmemserver.User{}, boxes: map[string]*mailboxes{}}
	for name, pass := range users {
		if err := s.addUser(name, pass); err != nil {
			return "", nil, err
		}
	}
	for _, m := range mails {
		u := s.users[m.Owner]
		if u == nil {
			return "", nil, fmt.Errorf("seed %s: no IMAP user %s", m.MessageID, m.Owner)
		}
		if _, err := u.Append(m.Folder, bytes.NewReader(m.Raw), &imap.AppendOptions{Time: m.Date, Flags: m.Flags}); err != nil {
			return "", nil, fmt.Errorf("seed %s into %s/%s: %w", m.MessageID, m.Owner, m.Folder, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for IMAP: %w", err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{srv: s}, nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapSpecialUse: {}, imap.CapCreateSpecialUse: {}},
		// Loopback only, so plain-text LOGIN is acceptable here.
		InsecureAuth: true,
		// Closed connections are routine in a demo; their errors are noise.
		Logger: log.New(io.Discard, "", 0),
	})
	go srv.Serve(ln) //nolint:errcheck // Serve returns when stop closes the listener
	var once sync.Once
	done := make(chan struct{})
	stop = func() {
		once.Do(func() {
			close(done)
			srv.Close()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-done:
		}
	}()
	return ln.Addr().String(), stop, nil
}

// imapServer adds, around the in-memory server, what it lacks: it ignores
// special-use attributes on CREATE, so this keeps each user's mailbox list
// with attributes and answers LIST itself.
type imapServer struct {
	mem   *imapmemserver.Server
	mu    sync.Mutex
	users map[string]*imapmemserver.User
	boxes map[string]*mailboxes
}

// mailboxes is one user's mailbox names, attributes and subscriptions.
type mailboxes struct {
	mu         sync.Mutex
	specialUse map[string][]imap.MailboxAttr // name → attributes; every mailbox has an entry
	subscribed map[string]bool
}

var defaultMailboxes = []struct {
	name string
	attr imap.MailboxAttr
}{{Inbox, ""}, {Sent, imap.MailboxAttrSent}, {"Drafts", imap.MailboxAttrDrafts}, {"Trash", imap.MailboxAttrTrash}}

func (s *imapServer) addUser(name, pass string) error {
	u := imapmemserver.NewUser(name, pass)
	mb := &mailboxes{specialUse: map[string][]imap.MailboxAttr{}, subscribed: map[string]bool{}}
	for _, d := range defaultMailboxes {
		var attrs []imap.MailboxAttr
		if d.attr != "" {
			attrs = []imap.MailboxAttr{d.attr}
		}
		if err := u.Create(d.name, &imap.CreateOptions{SpecialUse: attrs}); err != nil {
			return fmt.Errorf("create %s for %s: %w", d.name, name, err)
		}
		if err := u.Subscribe(d.name); err != nil {
			return fmt.Errorf("subscribe %s for %s: %w", d.name, name, err)
		}
		mb.specialUse[d.name] = attrs
		mb.subscribed[d.name] = true
	}
	s.mem.AddUser(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = u
	s.boxes[name] = mb
	return nil
}

func (s *imapServer) user(name string) (*imapmemserver.User, *mailboxes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[name], s.boxes[name]
}

// imapSession is the memory server's session with LIST answered from the
// mailbox registry and the registry kept up to date by CREATE, DELETE,
// RENAME, SUBSCRIBE and UNSUBSCRIBE. Every other command, and the optional
// interfaces (MOVE, NAMESPACE, ...), come from the embedded UserSession.
type imapSession struct {
	*imapmemserver.UserSession // nil until login
	srv                        *imapServer
	boxes                      *mailboxes
}

func (s *imapSession) Login(username, password string) error {
	u, boxes := s.srv.user(username)
	if u == nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	s.boxes = boxes
	return nil
}

// Idle reports new mail like real servers do, including mail that
// arrived between the client's SELECT and its IDLE: the memory server only
// reports updates that arrive after it has registered the idler, so mail
// appended in that gap (the demo's recovery mail, say) would wait for the
// client's next command. Polling every few milliseconds closes the gap.
func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	tick := time.NewTicker(20 * time.Millisecond)
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

func (s *imapSession) Create(name string, options *imap.CreateOptions) error {
	if err := s.UserSession.Create(name, options); err != nil {
		return err
	}
	var attrs []imap.MailboxAttr
	if options != nil {
		attrs = options.SpecialUse
	}
	s.boxes.mu.Lock()
	s.boxes.specialUse[name] = attrs
	s.boxes.mu.Unlock()
	return nil
}

func (s *imapSession) Delete(name string) error {
	if err := s.UserSession.Delete(name); err != nil {
		return err
	}
	s.boxes.mu.Lock()
	delete(s.boxes.specialUse, name)
	delete(s.boxes.subscribed, name)
	s.boxes.mu.Unlock()
	return nil
}

func (s *imapSession) Rename(name, newName string, options *imap.RenameOptions) error {
	if err := s.UserSession.Rename(name, newName, options); err != nil {
		return err
	}
	s.boxes.mu.Lock()
	s.boxes.specialUse[newName] = s.boxes.specialUse[name]
	s.boxes.subscribed[newName] = s.boxes.subscribed[name]
	delete(s.boxes.specialUse, name)
	delete(s.boxes.subscribed, name)
	s.boxes.mu.Unlock()
	return nil
}

func (s *imapSession) Subscribe(name string) error   { return s.subscribe(name, true) }
func (s *imapSession) Unsubscribe(name string) error { return s.subscribe(name, false) }

func (s *imapSession) subscribe(name string, on bool) error {
	var err error
	if on {
		err = s.UserSession.Subscribe(name)
	} else {
		err = s.UserSession.Unsubscribe(name)
	}
	if err != nil {
		return err
	}
	s.boxes.mu.Lock()
	s.boxes.subscribed[name] = on
	s.boxes.mu.Unlock()
	return nil
}

// List answers LIST (RFC 9051 6.3.9, RFC 5258 LIST-EXTENDED, RFC 6154
// SPECIAL-USE). Like Dovecot, it always returns special-use attributes.
func (s *imapSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if options == nil {
		options = &imap.ListOptions{}
	}
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'})
	}
	type entry struct {
		name       string
		attrs      []imap.MailboxAttr
		subscribed bool
	}
	s.boxes.mu.Lock()
	list := make([]entry, 0, len(s.boxes.specialUse))
	for n, a := range s.boxes.specialUse {
		list = append(list, entry{n, a, s.boxes.subscribed[n]})
	}
	s.boxes.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	for _, e := range list {
		if !matchAny(e.name, ref, patterns) ||
			(options.SelectSubscribed && !e.subscribed) || (options.SelectSpecialUse && len(e.attrs) == 0) {
			continue
		}
		data := imap.ListData{Mailbox: e.name, Delim: '/', Attrs: append([]imap.MailboxAttr(nil), e.attrs...)}
		if e.subscribed {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if options.ReturnStatus != nil {
			st, err := s.UserSession.Status(e.name, options.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(&data); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, '/', ref, p) {
			return true
		}
	}
	return false
}
