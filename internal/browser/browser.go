// Package browser drives a real headless Chromium for tests: the
// dashboard's pages are checked as a user's browser runs them, with their
// Content-Security-Policy, their script and the keyboard, not as HTML text.
//
// Start launches Debian's /usr/bin/chromium through chromedp (the DevTools
// protocol; no chromedriver). When Chromium or axe-core is missing, tests
// are skipped with a loud message; under CI (CI=true) they fail instead, so
// CI can never pass by skipping (the policy of internal/testbed).
// .ci/browser-deps installs both.
//
// Every console error, uncaught exception and browser log error of the tab
// is recorded from Start on; CheckConsole fails the test with them.
// Screenshot writes PNGs to the artifacts folder (Artifacts). Axe runs
// axe-core in the page and CheckAxe fails on serious or critical
// violations.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ExecPath is where Debian's chromium package puts the browser.
const ExecPath = "/usr/bin/chromium"

// Timeout bounds each action (a navigation, a script, a key press): long
// enough for a loaded CI machine, short enough that a hung page fails
// the test rather than its binary's deadline.
const Timeout = 30 * time.Second

// Browser is one Chromium with one tab, for one test. Its methods fail
// the test they are given on error; they are not safe for concurrent use.
type Browser struct {
	ctx context.Context // the tab's chromedp context

	mu     sync.Mutex
	errors []string // console errors, exceptions and log errors not yet checked
}

// Start launches a headless Chromium with a fresh profile and opens one
// tab. The browser is stopped and its profile removed when t ends. It
// skips t (fails it under CI=true) when ExecPath does not exist, and fails
// t when Chromium does not start.
func Start(t testing.TB) *Browser {
	t.Helper()
	if _, err := os.Stat(ExecPath); err != nil {
		missing(t, fmt.Sprintf("no Chromium at %s (install the chromium package, or run .ci/browser-deps as root)", ExecPath))
	}
	// Our own temporary folder rather than t.TempDir: Chromium's helper
	// processes can still write in the profile for a moment after the
	// browser exits, and t.TempDir's cleanup fails the test on that.
	profile, err := os.MkdirTemp("", "touchbase-chromium-")
	if err != nil {
		t.Fatalf("create Chromium profile folder: %v", err)
	}
	// The flags .library/env/machines/go.md lists for this machine:
	// without the background-networking ones, Chromium's connections to
	// Google are refused by the closed network, many at a time, at every
	// start. --no-sandbox: tests run as root in CI, where the sandbox
	// refuses to start.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ExecPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		t.Logf("chromedp: "+format, args...)
	}))
	b := &Browser{ctx: ctx}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		removeProfile(t, profile)
	})
	// The first Run starts the browser; it must not carry a timeout (that
	// would stop the browser with it), so the listener's own start is the
	// first call. Listen, not chromedp.Console: its callback runs before
	// the reply to any later command is returned, so an error the page
	// printed before a check's own round trip is already recorded.
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatalf("start Chromium (%s): %v", ExecPath, err)
	}
	return b
}

// removeProfile deletes Chromium's profile, again for a while when a
// helper process that outlived the browser is still writing in it.
func removeProfile(t testing.TB, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("remove Chromium profile %s: %v", dir, err)
}

// missing skips t, or fails it under CI, for a missing browser tool.
func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("real-browser test required under CI: %s", why)
	}
	t.Skipf("\n*** SKIPPING REAL-BROWSER TEST: %s ***\n", why)
}

// RepoRoot is the repository's root folder, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// run runs one action against the tab with Timeout, and returns its value.
func run[T any](b *Browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// Navigate opens url in the tab, waits for the page to load and returns
// the HTTP status of the document (after redirects), so a caller can
// tell a page from an error page. It fails t when the page cannot load.
func (b *Browser) Navigate(t testing.TB, url string) int {
	t.Helper()
	resp, err := run(b, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
	if resp == nil {
		return 0 // no HTTP response: a data: or about: URL
	}
	return int(resp.Status)
}

// Eval evaluates the JavaScript expression expr in the page and decodes
// its JSON value into T (see chromedp.Evaluate). It fails t on an error
// or an exception.
func Eval[T any](t testing.TB, b *Browser, expr string) T {
	t.Helper()
	v, err := run(b, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", abbrev(expr), err)
	}
	return v
}

// URL is the tab's current address.
func (b *Browser) URL(t testing.TB) string {
	t.Helper()
	return Eval[string](t, b, "location.href")
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// Quote returns s as a JavaScript string literal, for building
// expressions with selectors or text from Go.
func Quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
