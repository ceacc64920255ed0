package imapsource

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.uber.org/zap"
)

// idleCycle is how long one IDLE (RFC 2177) runs before DONE and a NOOP
// prove the connection alive: go-imap cannot time out a silent IDLE, NAT
// boxes forget quiet connections, and Yahoo drops IDLE after 3 minutes.
const idleCycle = 2 * time.Minute

// Watch pushes new mail: it keeps IDLE running on INBOX, and on the \Sent
// folder (or the next configured folder) over a second connection where
// the server allows one, and calls changed, which must not block, when a
// watched folder grows. It also calls changed once each watch is set up,
// for mail that arrived while nobody watched. Other folders are left to
// polling. Watch returns nil when ctx ends and an error when a connection
// fails or drops; the caller reconnects with backoff.
func (s *Source) Watch(ctx context.Context, changed func()) error {
	handler := &imapclient.UnilateralDataHandler{
		// Runs on go-imap's reader goroutine: changed must not block.
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				changed()
			}
		},
	}
	first, err := s.dial(ctx, handler)
	if err != nil {
		return fmt.Errorf("watch %s: %w", s.acct.Name, err)
	}
	done := first.use(ctx)
	boxes, err := list(first)
	var folders []mailbox
	if err == nil {
		folders, err = resolve(s.imap.Folders, boxes)
	}
	done()
	if err != nil {
		first.c.Close()
		return fmt.Errorf("watch %s: %w", s.acct.Name, ctxErr(ctx, err))
	}
	if len(folders) == 0 {
		first.c.Close()
		return fmt.Errorf("watch %s: no folder to watch", s.acct.Name)
	}
	targets := watchTargets(folders)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(targets))
	var wg sync.WaitGroup
	wg.Go(func() { errs <- s.idle(ctx, first, targets[0], changed) })
	if len(targets) > 1 {
		if second, err := s.dial(ctx, handler); err != nil {
			if ctx.Err() == nil { // not the watch ending (a lease handed over, a reload)
				s.log.Warn("no second connection for idle, polling instead", zap.String(keyFolder, targets[1]), zap.Error(err))
			}
		} else {
			wg.Go(func() { errs <- s.idle(ctx, second, targets[1], changed) })
		}
	}
	err = <-errs // the first watch to end ends them all
	cancel()
	wg.Wait()
	return err
}

// watchTargets picks up to two folders to watch: INBOX (else the first
// folder), then the \Sent folder (else the next folder).
func watchTargets(folders []mailbox) []string {
	first := 0
	for i, f := range folders {
		if strings.EqualFold(f.Name, "INBOX") {
			first = i
			break
		}
	}
	out := []string{folders[first].Name}
	second := -1
	for i, f := range folders {
		if i != first && (second < 0 || f.has(imap.MailboxAttrSent)) {
			second = i
			if f.has(imap.MailboxAttrSent) {
				break
			}
		}
	}
	if second >= 0 {
		out = append(out, folders[second].Name)
	}
	return out
}

// idle watches folder on sess until ctx ends (nil) or the connection fails
// (an error). It owns sess and closes it.
func (s *Source) idle(ctx context.Context, sess *session, folder string, changed func()) error {
	defer sess.c.Close()
	stop := context.AfterFunc(ctx, func() { sess.c.Close() })
	defer stop()
	fail := func(what string, err error) error {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watch %s/%s: %s: %w", s.acct.Name, folder, what, err)
	}
	sess.raw.arm(stallLimit)
	if _, err := sess.c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return fail("examine", err)
	}
	for first := true; ; first = false {
		sess.raw.arm(stallLimit)
		cmd, err := sess.c.Idle()
		if err != nil {
			return fail("idle", err)
		}
		if first {
			// Only now is the server bound to report new mail: a signal
			// sent right after EXAMINE would leave a gap before IDLE in
			// which mail goes unreported until the next cycle's NOOP.
			changed()
		}
		sess.raw.disarm() // IDLE may rightly be silent for its whole cycle
		timer := time.NewTimer(idleCycle)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-sess.c.Closed():
			timer.Stop()
			return fail("idle", fmt.Errorf("connection closed by server or network"))
		case <-timer.C:
		}
		sess.raw.arm(stallLimit)
		if err := cmd.Close(); err != nil {
			return fail("end idle", err)
		}
		if err := cmd.Wait(); err != nil {
			return fail("end idle", err)
		}
		if err := sess.c.Noop().Wait(); err != nil {
			return fail("noop", err)
		}
	}
}
