package browser

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Press sends key presses to the focused element, as a keyboard does
// (keyDown, char, keyUp): each rune of keys is a key, printable ones or
// kb's named keys (kb.Tab, kb.ArrowDown, kb.Enter...).
func (b *Browser) Press(t testing.TB, keys string) {
	t.Helper()
	if _, err := run(b, chromedp.KeyEvent(keys)); err != nil {
		t.Fatalf("press %q: %v", keys, err)
	}
}

// Type types text into the focused element; it is Press, named for text.
func (b *Browser) Type(t testing.TB, text string) {
	t.Helper()
	b.Press(t, text)
}

// Active describes document.activeElement as "tag#id" (or just "tag"),
// e.g. "select#f-state"; "body" when nothing has the focus.
func (b *Browser) Active(t testing.TB) string {
	t.Helper()
	return Eval[string](t, b, `(e => e ? e.localName + (e.id ? "#" + e.id : "") : "")(document.activeElement)`)
}

// ActiveMatches reports whether document.activeElement matches the CSS
// selector.
func (b *Browser) ActiveMatches(t testing.TB, selector string) bool {
	t.Helper()
	return Eval[bool](t, b, `(e => !!e && e.matches(`+Quote(selector)+`))(document.activeElement)`)
}

// TabTo presses Tab until the focused element matches selector, at most
// max times, and fails t when it never does: proof that a keyboard user
// reaches the control, in the page's tab order.
func (b *Browser) TabTo(t testing.TB, selector string, max int) {
	t.Helper()
	var path []string
	for range max {
		b.Press(t, kb.Tab)
		if b.ActiveMatches(t, selector) {
			return
		}
		path = append(path, b.Active(t))
	}
	t.Fatalf("%s not reached by %d Tab presses; focus went %q", selector, max, path)
}
