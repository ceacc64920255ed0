// Package testbin builds the touchbase binary for tests that run it as a
// user would: static (CGO_ENABLED=0), from its package directory.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once     sync.Once
	path     string
	buildErr error
)

// Build runs `go build` on pkg (a directory, relative to the calling test's
// package) with extra build args once per test binary, and returns the
// binary's path; later calls return the same binary whatever their
// arguments. It fails t when the build fails.
func Build(t testing.TB, pkg string, args ...string) string {
	t.Helper()
	once.Do(func() {
		dir, err := os.MkdirTemp("", "touchbase-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		path = filepath.Join(dir, "touchbase")
		cmd := exec.Command("go", append(append([]string{"build", "-o", path}, args...), pkg)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return path
}

// Remove deletes the built binary; call it from TestMain after m.Run.
func Remove() {
	if path != "" {
		os.RemoveAll(filepath.Dir(path))
	}
}
