package imapsource

import (
	"context"
	"fmt"
	"sync"

	"github.com/emersion/go-imap/v2"
	"go.uber.org/zap"

	"github.com/touchbase/touchbase/config"
	"github.com/touchbase/touchbase/store"
)

// job is one changed folder to read.
type job struct {
	f      mailbox
	status *imap.StatusData
	prev   store.FolderState
	known  bool
}

// maxConns is the account's imap.max_connections; a Source built without
// the config package (tests, the benchmark) gets the default.
func (s *Source) maxConns() int {
	if s.imap.MaxConns < 1 {
		return config.DefaultIMAPMaxConns
	}
	return s.imap.MaxConns
}

// readFolders reads the changed folders over at most maxConns connections
// at once: the pass's own session and, when more than one folder changed,
// sessions opened for this pass alone (closed when it ends). A server may
// refuse the extra connections: the folders are then read on those that
// opened. The store takes one writer at a time, so parallel folders
// overlap the network and parsing, not the writes. The first error stops
// every reader at its next message, with its command completed rather
// than its connection closed (go-imap races when a connection closes
// under a literal being read); each folder's state still covers only
// what was stored.
func (s *Source) readFolders(ctx context.Context, sess *session, jobs []job, st stats) error {
	stop, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	n := min(s.maxConns(), len(jobs))
	results := make([]stats, n)
	var wg sync.WaitGroup
	for i := range n {
		results[i] = stats{}
		wg.Go(func() {
			if err := s.readQueue(ctx, stop, sess, i, queue, results[i]); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		for k, v := range r {
			st[k] += v
		}
	}
	return context.Cause(stop)
}

// readQueue reads folders from queue until it is empty or stop ends, on
// sess for the first reader and on a connection of its own, which ctx's
// end closes, for the others.
func (s *Source) readQueue(ctx, stop context.Context, sess *session, reader int, queue <-chan job, st stats) error {
	if reader > 0 {
		extra, err := s.dial(ctx, nil)
		if err != nil {
			// Not fatal: the other readers drain the queue (and report
			// the pass's end, when that is why the dial failed).
			if ctx.Err() == nil {
				s.log.Warn("extra connection refused, reading folders on fewer", zap.Error(err))
			}
			return nil
		}
		defer extra.c.Close()
		done := extra.use(ctx)
		defer done()
		sess = extra
	}
	for j := range queue {
		if err := s.syncFolder(stop, sess, j.f, j.status, j.prev, j.known, st); err != nil {
			return fmt.Errorf("sync %s/%s: %w", s.acct.Name, j.f.Name, ctxErr(stop, err))
		}
	}
	if reader > 0 {
		// A polite end; the deferred Close covers a server that does not answer.
		sess.c.Logout().Wait()
	}
	return nil
}
