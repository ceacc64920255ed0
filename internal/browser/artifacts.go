package browser

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// Artifacts is the folder screenshots go to: $TOUCHBASE_ARTIFACTS, or
// .artifacts/ at the repository root (git-ignored), so CI can keep it
// after a run, passed or failed.
func Artifacts() string {
	if d := os.Getenv("TOUCHBASE_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), ".artifacts")
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot writes a PNG of the whole page (beyond the window, as far as
// it scrolls) to Artifacts()/<test name>/<name>.png, replacing an earlier
// one, and returns its path. It fails t when it cannot.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(Artifacts(), unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	// Quality 100 is chromedp's way of asking for PNG rather than JPEG.
	png, err := run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot %s: %s", name, path)
	return path
}
