// Package imapsource turns an account's IMAP mailbox into interactions:
// one per message, metadata only (headers, never bodies), stored with the
// folder's sync state so a crash at any point loses and duplicates nothing.
//
// A first sync of a folder reads sync.backfill back (UID SEARCH SINCE;
// a zero backfill reads the whole folder); later passes read only UIDs at
// or above the stored UIDNEXT (RFC 3501), skipping unchanged folders on
// LIST-STATUS (RFC 5819) or STATUS alone. A changed UIDVALIDITY re-reads
// the folder; natural keys (Message-ID, else a header digest) make that,
// and the same message in several folders or accounts, one interaction.
// Expunged or moved mail is never deleted: a contact that happened stays.
//
// CONDSTORE (RFC 7162): HIGHESTMODSEQ is recorded with the state, but no
// CHANGEDSINCE fetch is made. Flag changes and expunges are the only
// changes it reports, and neither may alter an interaction; every new
// message raises UIDNEXT, which is what a pass compares.
package imapsource

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/oauth"
)

// Log field keys.
const (
	keyFolder  = "folder"
	keyAddr    = "addr"
	keyFetched = "fetched"
	keyStored  = "stored"
	keyTook    = "took"
)

// Source syncs one account's mailbox. It implements the daemon's Source,
// Watcher and Checker contracts. Sync and Watch may run concurrently (they
// use separate connections); Sync passes are serialised.
type Source struct {
	name string
	acct config.Account
	imap config.IMAP
	sync config.Sync
	st   Store
	log  *zap.Logger
	tls  *tls.Config
	now  func() time.Time
	// oauth gives access tokens with auth: oauth2; nil otherwise.
	oauth *oauth.Client
	// batch is how many messages one store transaction takes (batchSize;
	// tests make it small to see checkpoints).
	batch int

	mu        sync.Mutex  // one pass at a time; guards the fields below
	sess      *session    // kept open between passes; nil when there is none
	lastPass  time.Time   // when the last pass ended
	idleTimer *time.Timer // closes a connection no pass used for keepFor
}

// keepFor is how long a connection is kept without a pass: long enough
// for the usual poll intervals, short of servers' 30-minute autologout,
// and a bound on what a Source dropped by a config reload holds open.
const keepFor = 10 * time.Minute

// New returns the source of acct, whose IMAP settings must be set. log is
// the source's logger (the caller names the source in it). New reads the
// TLS CA file but neither connects nor touches the store, which may be nil
// when the source is only Checked.
//
// With auth: oauth2, tokens must give the account's OAuth client (the one
// its CalDAV source shares).
func New(acct config.Account, sync config.Sync, st Store, log *zap.Logger, tokens ...*oauth.Client) (*Source, error) {
	if acct.IMAP == nil {
		return nil, fmt.Errorf("account %s: no imap settings", acct.Name)
	}
	var oc *oauth.Client
	if len(tokens) > 0 {
		oc = tokens[0]
	}
	if acct.IMAP.Auth == config.AuthOAuth2 && oc == nil {
		return nil, fmt.Errorf("account %s: auth: oauth2 without an oauth client", acct.Name)
	}
	tlsCfg, err := tlsConfig(acct.IMAP.Addr, acct.IMAP.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acct.Name, err)
	}
	name := "imap:" + acct.Name
	s := &Source{name: name, acct: acct, imap: *acct.IMAP, sync: sync, st: st, tls: tlsCfg, now: time.Now, batch: batchSize, log: log, oauth: oc}
	if s.imap.TLS == config.TLSNone {
		s.log.Warn("imap without tls: password and mail headers cross the network in clear", zap.String(keyAddr, s.imap.Addr))
	}
	return s, nil
}

// Name returns "imap:<account name>".
func (s *Source) Name() string { return s.name }

// Sync runs one pass over the account's folders and returns its counters:
// fetched, stored (new interactions), duplicates (already stored),
// skipped_malformed, filtered_<reason> (stored, but not counting), and
// uidvalidity_resets. It returns on the first error, wrapped with the
// account and folder; what was stored before it stays stored. It never
// retries or sleeps: the caller owns backoff. The connection is kept for
// the next pass, and replaced when it failed.
func (s *Source) Sync(ctx context.Context) (map[string]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := stats{}
	err := s.pass(ctx, st)
	if err != nil {
		s.drop()
	}
	s.lastPass = time.Now()
	if s.idleTimer == nil {
		s.idleTimer = time.AfterFunc(keepFor, s.closeIdle)
	} else {
		s.idleTimer.Reset(keepFor)
	}
	return st, err
}

// closeIdle drops the kept connection unless a pass used it meanwhile.
func (s *Source) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.lastPass) >= keepFor {
		s.drop()
	}
}

// pass lists the folders and syncs each that changed. A kept connection
// that fails its first command may simply have died since the last pass:
// it gets one fresh connection before the pass counts as failed.
func (s *Source) pass(ctx context.Context, st stats) error {
	for attempt := 0; ; attempt++ {
		sess, reused, err := s.session(ctx)
		if err != nil {
			return fmt.Errorf("sync %s: %w", s.acct.Name, err)
		}
		done := sess.use(ctx)
		boxes, err := survey(sess)
		if err != nil {
			done()
			s.drop()
			if reused && attempt == 0 && ctx.Err() == nil {
				s.log.Info("kept connection failed, reconnecting", zap.Error(err))
				continue
			}
			return fmt.Errorf("sync %s: %w", s.acct.Name, ctxErr(ctx, err))
		}
		err = s.syncFolders(ctx, sess, boxes, st)
		done()
		return err
	}
}

// session returns the kept connection, or a new one.
func (s *Source) session(ctx context.Context) (sess *session, reused bool, err error) {
	if s.sess != nil && !s.sess.closed() {
		return s.sess, true, nil
	}
	s.drop()
	sess, err = s.dial(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	s.sess = sess
	return sess, false, nil
}

// drop closes the kept connection, if any.
func (s *Source) drop() {
	if s.sess != nil {
		s.sess.c.Close()
		s.sess = nil
	}
}

// Close closes the kept connection. The Source stays usable: the next
// pass connects again.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idleTimer != nil {
		s.idleTimer.Stop()
	}
	s.drop()
	return nil
}

// syncFolders finds the configured folders that changed since the
// stored state and reads them (readFolders).
func (s *Source) syncFolders(ctx context.Context, sess *session, boxes []mailbox, st stats) error {
	folders, err := resolve(s.imap.Folders, boxes)
	if err != nil {
		return fmt.Errorf("sync %s: %w", s.acct.Name, err)
	}
	states, err := s.st.FolderStates(ctx, s.acct.Name)
	if err != nil {
		return fmt.Errorf("sync %s: %w", s.acct.Name, err)
	}
	var jobs []job
	for _, f := range folders {
		prev, known := states[f.Name]
		status, dirty, err := changed(sess, f, prev, known)
		if err != nil {
			return fmt.Errorf("sync %s/%s: %w", s.acct.Name, f.Name, ctxErr(ctx, err))
		}
		if dirty {
			jobs = append(jobs, job{f: f, status: status, prev: prev, known: known})
		}
	}
	if len(jobs) > 0 {
		if err := s.readFolders(ctx, sess, jobs, st); err != nil {
			return err
		}
	}
	// Leave the first folder (INBOX) selected: the next pass polls it with
	// a NOOP, where a STATUS of an unselected folder makes servers such as
	// Dovecot re-read a large Maildir (100 ms for 100,000 messages).
	if len(folders) > 0 && sess.selected != folders[0].Name {
		if err := examine(sess, folders[0].Name); err != nil {
			return fmt.Errorf("sync %s/%s: %w", s.acct.Name, folders[0].Name, ctxErr(ctx, err))
		}
	}
	return nil
}

// survey lists the folders. On a connection with a folder selected it
// first waits for a NOOP, without which a server may report that folder's
// status as of its selection (Dovecot does). Not pipelined: Dovecot runs
// pipelined NOOP and LIST concurrently, and LIST can answer first.
func survey(sess *session) ([]mailbox, error) {
	if sess.selected != "" {
		if err := sess.c.Noop().Wait(); err != nil {
			return nil, fmt.Errorf("noop: %w", err)
		}
	}
	return list(sess)
}

// examine selects folder read-only (EXAMINE): nothing a sync does can
// change flags or expunge.
func examine(sess *session, folder string) error {
	_, err := examineData(sess, folder)
	return err
}

func examineData(sess *session, folder string) (*imap.SelectData, error) {
	sess.selected = ""
	data, err := sess.c.Select(folder, &imap.SelectOptions{ReadOnly: true, CondStore: sess.caps.Has(imap.CapCondStore)}).Wait()
	if err != nil {
		return nil, fmt.Errorf("examine: %w", err)
	}
	sess.selected, sess.validity = folder, data.UIDValidity
	return data, nil
}

// Check connects, logs in and resolves the configured folders, then logs
// out (`touchbase check --connect`). It does not touch the store.
func (s *Source) Check(ctx context.Context) error {
	sess, err := s.dial(ctx, nil)
	if err != nil {
		return fmt.Errorf("check %s: %w", s.acct.Name, err)
	}
	defer sess.c.Close()
	done := sess.use(ctx)
	defer done()
	boxes, err := list(sess)
	if err == nil {
		_, err = resolve(s.imap.Folders, boxes)
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", s.acct.Name, ctxErr(ctx, err))
	}
	if err := sess.c.Logout().Wait(); err != nil {
		return fmt.Errorf("check %s: log out: %w", s.acct.Name, ctxErr(ctx, err))
	}
	return nil
}

// stats are one pass's counters (see Sync).
type stats map[string]int64

// Stat names.
const (
	statFetched    = "fetched"
	statStored     = "stored"
	statDuplicates = "duplicates"
	statMalformed  = "skipped_malformed"
	statResets     = "uidvalidity_resets"
	statFiltered   = "filtered_" // + cadence.Filter
)
