package browser

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// record is the tab's event listener (chromedp.Listen): it keeps what a
// user would see as an error in the DevTools console. It runs on the
// reader goroutine of the tab, so it only formats and appends.
//
// Recorded: console.error and failed console.assert calls, uncaught
// exceptions and unhandled rejections, and the browser's own log errors,
// which is where Content-Security-Policy violations and failed resource
// loads (a missing script or stylesheet, a 404) are reported. Warnings
// are not: they are advice, not a broken page.
func (b *Browser) record(ev any) {
	var msg string
	switch e := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		if e.Type != cdpruntime.ConsoleAPICalledTypeError && e.Type != cdpruntime.ConsoleAPICalledTypeAssert {
			return
		}
		msg = fmt.Sprintf("console.%s: %s%s", e.Type, argsText(e.Args), where(e.StackTrace))
	case *cdpruntime.EventExceptionThrown:
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			// The description of an Error is its message and stack.
			text += " " + d.Exception.Description
		}
		msg = fmt.Sprintf("exception: %s (%s:%d:%d)", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *log.EventEntryAdded:
		if e.Entry == nil || e.Entry.Level != log.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("log %s: %s", e.Entry.Source, e.Entry.Text)
		if e.Entry.URL != "" {
			msg += " (" + e.Entry.URL + ")"
		}
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// argsText renders console arguments as the console shows them: strings
// as they are, other values by their description.
func argsText(args []*cdpruntime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		var s string
		switch {
		case a.Type == cdpruntime.RemoteObjectTypeString && json.Unmarshal([]byte(a.Value), &s) == nil:
		case a.Description != "":
			s = a.Description
		case len(a.Value) > 0:
			s = string(a.Value)
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func where(st *cdpruntime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" (%s:%d:%d)", f.URL, f.LineNumber+1, f.ColumnNumber+1)
}

// Errors returns the console errors, exceptions and log errors recorded
// since Start or the last Errors or CheckConsole call, and forgets them.
// A round trip to the tab comes first, so whatever the page reported
// before the call is included.
func (b *Browser) Errors(t testing.TB) []string {
	t.Helper()
	// The listener sees every event that arrived before this reply.
	if _, err := run(b, chromedp.Evaluate[chromedp.Void]("0")); err != nil {
		t.Fatalf("sync with the tab: %v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errors
	b.errors = nil
	return errs
}

// CheckConsole fails t (without stopping it) with every error Errors
// returns; page names the page in the message.
func (b *Browser) CheckConsole(t testing.TB, page string) {
	t.Helper()
	if errs := b.Errors(t); len(errs) > 0 {
		t.Errorf("%s: %d console error(s):\n  %s", page, len(errs), strings.Join(errs, "\n  "))
	}
}
