package browser

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// AxePath is axe-core's browser bundle: $TOUCHBASE_AXE, or where
// .ci/browser-deps installs the pinned version,
// .cache/axe/node_modules/axe-core/axe.min.js at the repository root.
func AxePath() string {
	if p := os.Getenv("TOUCHBASE_AXE"); p != "" {
		return p
	}
	return filepath.Join(RepoRoot(), ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
}

// Violation is one failed axe-core rule, with the elements that fail it.
type Violation struct {
	ID     string   `json:"id"`     // the rule, e.g. "label", "image-alt", "color-contrast"
	Impact string   `json:"impact"` // minor, moderate, serious or critical
	Help   string   `json:"help"`
	URL    string   `json:"helpUrl"`
	Nodes  []string `json:"nodes"` // each failing element's CSS selector
}

func (v Violation) String() string {
	return fmt.Sprintf("[%s] %s: %s (%s)", v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
}

// Blocking reports whether v fails a page: impact serious or critical.
// Those are what stops someone using the page at all (a control with no
// name, an image with no text alternative, text too faint to read);
// moderate and minor ones (axe's best practices, such as content outside
// landmarks) are logged by CheckAxe for a human to weigh, not failed on,
// so that a rule axe adds in a minor upgrade cannot break CI by itself.
func (v Violation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

// axeRun runs every default rule on the document and returns only what
// Violation needs; a node's target is an array of selectors (one per
// frame or shadow root) joined here with " >> ".
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map(n => [].concat(n.target).map(s => [].concat(s).join(" ")).join(" >> "))
})))`

// Axe injects axe-core into the current page and returns its violations
// of every default rule (none: an empty slice). It skips t (fails it
// under CI=true) when axe-core is not installed, and fails t when axe
// cannot run. Injection goes through the DevTools protocol, so a strict
// Content-Security-Policy on the page does not block it.
func (b *Browser) Axe(t testing.TB) []Violation {
	t.Helper()
	src, err := os.ReadFile(AxePath())
	if err != nil {
		missing(t, fmt.Sprintf("no axe-core (%v): run .ci/browser-deps", err))
	}
	if _, err := run(b, chromedp.Evaluate[chromedp.Void](string(src))); err != nil {
		t.Fatalf("inject axe-core from %s: %v", AxePath(), err)
	}
	raw, err := run(b, chromedp.Evaluate[[]byte](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	var vs []Violation
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatalf("decode axe-core's result: %v", err)
	}
	return vs
}

// CheckAxe runs Axe, logs every violation and fails t (without stopping
// it) when one is Blocking; page names the page in the messages.
func (b *Browser) CheckAxe(t testing.TB, page string) {
	t.Helper()
	var blocking []string
	for _, v := range b.Axe(t) {
		if v.Blocking() {
			blocking = append(blocking, v.String())
		} else {
			t.Logf("%s: axe (not failing): %s", page, v)
		}
	}
	if len(blocking) > 0 {
		t.Errorf("%s: %d serious or critical accessibility violation(s):\n  %s", page, len(blocking), strings.Join(blocking, "\n  "))
	}
}
