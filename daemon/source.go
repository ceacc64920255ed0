package daemon

import "context"

// Source is one sync source (an account's mailbox or calendars). The
// scheduler calls Sync on every poll and after a Watch notification; Sync
// does one incremental pass and persists what it read together with its
// sync state, so a crash at any point loses and duplicates nothing.
// Stats are counters for this pass ("fetched", "stored", "skipped_malformed",
// ...), added to the source's totals in `touchbase status`. The scheduler
// records success, failure and backoff; Sync must not retry on its own.
type Source interface {
	Name() string // "imap:<account>" or "caldav:<account>"
	Sync(ctx context.Context) (stats map[string]int64, err error)
}

// Watcher is implemented by sources that can push changes (IMAP IDLE).
// Watch blocks until ctx ends or the connection fails, calling changed
// (which must not block) when new data may be available.
type Watcher interface {
	Watch(ctx context.Context, changed func()) error
}

// Checker is implemented by sources that can verify their settings without
// syncing: connect and log in, then disconnect (`touchbase check
// --connect`). Check must not change the store.
type Checker interface {
	Check(ctx context.Context) error
}
