package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/touchbase/touchbase/cadence"
)

var roAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// saveOne stores one counted mail through a writable store.
func saveOne(t *testing.T, s *Store, id string, uidNext uint32) {
	t.Helper()
	m := mail(id, roAt, cadence.Counts, "ann@acme.test", "bob@example.test")
	if _, err := s.SaveMail(t.Context(), "bob", "INBOX", []cadence.Interaction{m}, FolderState{UIDValidity: 1, UIDNext: uidNext}); err != nil {
		t.Fatal(err)
	}
}

func countInteractions(t *testing.T, s *Store) int {
	t.Helper()
	ins, err := s.Interactions(t.Context(), time.Time{})
	if err != nil {
		t.Fatalf("read interactions: %v", err)
	}
	return len(ins)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// A store nobody has open is read as a snapshot: no -wal or -shm file is
// created (an operator could not create them in the service's folder),
// nothing can be written, and Unchanged holds while nobody writes.
func TestOpenReadOnlySnapshot(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	saveOne(t, w, "a@acme.test", 2)
	w.Close()
	path := filepath.Join(dir, FileName)
	if exists(path + "-wal") {
		t.Fatal("a closed store left its -wal file: the test cannot see the snapshot case")
	}

	r, err := OpenReadOnly(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := countInteractions(t, r); n != 1 {
		t.Errorf("read %d interactions, want 1", n)
	}
	if exists(path+"-wal") || exists(path+"-shm") {
		t.Error("reading created a -wal or -shm file")
	}
	if _, err := r.AddSilence(t.Context(), cadence.Silence{ID: "sil_test", CustomerID: "acme", StartsAt: roAt, EndsAt: roAt.Add(time.Hour)}); err == nil {
		t.Error("a read-only store accepted a write")
	}
	if err := r.Unchanged(); err != nil {
		t.Errorf("Unchanged with no writer: %v", err)
	}
}

// A writer that starts while a snapshot is read and checkpoints into the
// file (here: on its close) makes Unchanged report ErrChanged.
func TestOpenReadOnlySnapshotNoticesAWriter(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	saveOne(t, w, "a@acme.test", 2)
	w.Close()
	r, err := OpenReadOnly(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	countInteractions(t, r)

	w, err = Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	saveOne(t, w, "b@acme.test", 3)
	w.Close()
	if err := r.Unchanged(); !errors.Is(err, ErrChanged) {
		t.Errorf("Unchanged after a writer checkpointed: %v, want ErrChanged", err)
	}
}

// While a writer has the store open, a read-only store reads under
// SQLite's locks and sees each commit (a snapshot would not).
func TestOpenReadOnlyBesideAWriter(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	saveOne(t, w, "a@acme.test", 2)
	r, err := OpenReadOnly(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n := countInteractions(t, r); n != 1 {
		t.Errorf("read %d interactions, want 1", n)
	}
	saveOne(t, w, "b@acme.test", 3)
	if n := countInteractions(t, r); n != 2 {
		t.Errorf("after the writer's next commit: read %d interactions, want 2", n)
	}
	if err := r.Unchanged(); err != nil {
		t.Errorf("Unchanged under SQLite's locks: %v", err)
	}
}

// A store at another schema is not read (its tables differ) and not
// migrated.
func TestOpenReadOnlySchema(t *testing.T) {
	ctx := t.Context()
	older := t.TempDir()
	s, err := open(ctx, older, latestVersion()-1)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenReadOnly(ctx, older); !errors.Is(err, ErrOlderSchema) {
		t.Errorf("older schema: %v, want ErrOlderSchema", err)
	}
	s, err = open(ctx, older, latestVersion()-1) // opens at whatever version it is
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != latestVersion()-1 {
		t.Errorf("after a read-only open: version %d, %v; want %d (not migrated)", v, err, latestVersion()-1)
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenReadOnly(ctx, older); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("newer schema: %v, want ErrNewerSchema", err)
	}
	if _, err := OpenReadOnly(ctx, t.TempDir()); err == nil {
		t.Error("OpenReadOnly created a store")
	}
}

// A user who cannot write the store's folder and file gets ErrNotWritable
// from Open before SQLite tries (the permission test in cmd/touchbase runs
// the same as a real operator, as root).
func TestOpenNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anything; cmd/touchbase's TestOperatorPermissions covers this as a real operator")
	}
	dir := t.TempDir()
	w, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := os.Chmod(filepath.Join(dir, FileName), 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o550); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o750) })
	if _, err := Open(t.Context(), dir); !errors.Is(err, ErrNotWritable) {
		t.Errorf("Open of a store this user cannot write: %v, want ErrNotWritable", err)
	}
	r, err := OpenReadOnly(t.Context(), dir)
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	r.Close()
}
