package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of OpenReadOnly and Open that callers turn into advice.
var (
	// ErrNotWritable: this user cannot write the store (the service's
	// files, read by an operator in its group), so it can neither change
	// nor migrate it.
	ErrNotWritable = errors.New("not writable")
	// ErrOlderSchema: the store is at an older schema than this binary
	// reads; only a writable Open migrates it.
	ErrOlderSchema = errors.New("store schema is older than this binary")
	// ErrChanged: a store opened as a snapshot was written while it was
	// read (see Unchanged).
	ErrChanged = errors.New("store changed while it was read")
)

// OpenReadOnly opens the existing database in dir for reading only: no
// migration and no write, so a user who can read the service's files but
// not write them (an operator in the service's group) can query it. It
// fails with ErrOlderSchema when the store needs a migration first and
// with ErrNewerSchema when a newer binary wrote it.
//
// SQLite reads a WAL database read-only only when its -shm index exists or
// can be created, or when it is opened immutable (https://sqlite.org/wal.html,
// "Read-Only Databases"). While any process has the store open the -wal
// and -shm files exist, readable by the group, and the store is read under
// SQLite's locks. When there is no -wal file, nobody has the store open
// and the main file holds every commit: it is read as an immutable
// snapshot, and Unchanged tells whether a writer that started meanwhile
// changed it. A -wal without its -shm (a writer that crashed, whose index
// was removed) can only be replayed by a user who can write: that fails
// with ErrNotWritable rather than answering without the log's commits.
func OpenReadOnly(ctx context.Context, dir string) (*Store, error) {
	path := filepath.Join(dir, FileName)
	s, err := openReadOnly(ctx, path)
	if err != nil && !errors.Is(err, ErrOlderSchema) && !errors.Is(err, ErrNewerSchema) && !errors.Is(err, ErrNotWritable) {
		// The last writer may have closed between the look at the -wal
		// file and the open, removing it: look again, once.
		s, err = openReadOnly(ctx, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s read-only: %w", path, err)
	}
	return s, nil
}

func openReadOnly(ctx context.Context, path string) (*Store, error) {
	before, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	params := url.Values{"mode": {"ro"}}
	var snap *snapshot
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		params.Set("immutable", "1")
		snap = &snapshot{path: path, at: before}
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params.Encode() +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32768)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	s := &Store{db: db, rdb: db, d: sqliteDialect, now: time.Now, snap: snap}
	if err := s.checkSchema(ctx); err != nil {
		db.Close()
		if snap == nil && isCantOpen(err) {
			if _, werr := os.Stat(path + "-wal"); werr == nil {
				return nil, fmt.Errorf("its write-ahead log %s-wal has no index (-shm) beside it, which only a user who can write the store rebuilds, and the store is %w by this user", path, ErrNotWritable)
			}
		}
		return nil, err
	}
	return s, nil
}

// checkSchema fails unless the database is at the schema this binary
// reads. Reading the version is the first read: it opens the file.
func (s *Store) checkSchema(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	switch latest := latestVersion(); {
	case v > latest:
		return fmt.Errorf("%w (version %d, this binary knows %d)", ErrNewerSchema, v, latest)
	case v < latest:
		return fmt.Errorf("%w (version %d, this binary needs %d)", ErrOlderSchema, v, latest)
	}
	return nil
}

// isCantOpen says whether err is SQLite's SQLITE_CANTOPEN or
// SQLITE_READONLY (any extended code): what a read-only connection answers
// when it would have to create the -wal or -shm file.
func isCantOpen(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	c := e.Code() & 0xff
	return c == sqlite3.SQLITE_CANTOPEN || c == sqlite3.SQLITE_READONLY
}

// snapshot is what an immutable read-only Store saw of its file at open.
type snapshot struct {
	path string
	at   os.FileInfo
}

// Unchanged returns ErrChanged when the store was opened as an immutable
// snapshot (no process had it open) and its file has been written since:
// a writer started and checkpointed into it, so answers read meanwhile
// may mix two states and should be read again. It returns nil for stores
// read under SQLite's locks, which always see consistent states.
func (s *Store) Unchanged() error {
	if s.snap == nil {
		return nil
	}
	now, err := os.Stat(s.snap.path)
	if err != nil || !sameFile(now, s.snap.at) {
		return fmt.Errorf("%w: %s", ErrChanged, s.snap.path)
	}
	return nil
}

// sameFile compares what a write changes: size, modification and status
// change times, and the inode (a file replaced by rename).
func sameFile(a, b os.FileInfo) bool {
	if a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()) || !os.SameFile(a, b) {
		return false
	}
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || sa.Ctim == sb.Ctim
}

// checkWritable fails with ErrNotWritable, naming the file and its owner,
// when this process cannot write the store in dir: before a writable open
// tries, so that an operator gets advice instead of SQLite's "attempt to
// write a readonly database". The folder must be writable while any of
// the files SQLite keeps there is missing (it creates them).
func checkWritable(dir string) error {
	path := filepath.Join(dir, FileName)
	files := []string{path, path + "-wal", path + "-shm"}
	needDir := false
	for _, f := range files {
		err := unix.Faccessat(unix.AT_FDCWD, f, unix.W_OK, unix.AT_EACCESS)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist):
			needDir = true
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EPERM):
			return notWritable(f)
		}
	}
	if needDir {
		if err := unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return notWritable(dir)
		}
	}
	return nil
}

// notWritable says who cannot write path and who could.
func notWritable(path string) error {
	who := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(who); err == nil {
		who = u.Username
	}
	owner := ""
	if fi, err := os.Stat(path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			owner = strconv.FormatUint(uint64(st.Uid), 10)
			if u, err := user.LookupId(owner); err == nil {
				owner = u.Username
			}
			owner = " (it belongs to " + owner + ")"
		}
	}
	return fmt.Errorf("%s is %w by user %s%s", path, ErrNotWritable, who, owner)
}
