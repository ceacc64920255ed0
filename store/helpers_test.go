package store

import "testing"

// openTestStore opens an empty store of the backend under test, closed
// when the test ends. Every test of the store's behaviour opens its store
// here, so that the same tests are the contract a second backend meets:
// a backend adds itself in this one place. Tests of one backend's own
// machinery (SQLite's migrations, file locking) open it directly.
func openTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
