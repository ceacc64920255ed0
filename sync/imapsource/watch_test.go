package imapsource

import (
	"context"
	"testing"
	"time"
)

// eventually waits for one signal on ch; the bound only keeps a broken
// test from hanging, it asserts no latency.
func eventually(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
}

// drain empties ch.
func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestWatch signals new mail in INBOX and Sent (each on its own IDLE
// connection), returns nil when its context ends and an error when its
// connection drops.
func TestWatch(t *testing.T) {
	srv := newServer(t, serverOptions{specialUse: true})
	p := newProxy(t, srv.addr)
	src, st := newSource(t, p.addr(), nil)
	changed := make(chan struct{}, 16)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- src.Watch(ctx, notify) }()
	eventually(t, changed, "signal when the watch was set up")
	eventually(t, changed, "signal when the second watch was set up")
	if n := p.accepted(); n != 2 {
		t.Errorf("%d connections, want one per watched folder (INBOX, Sent)", n)
	}

	drain(changed)
	now := time.Now()
	srv.add("INBOX", message("new@acme.test", "ann@acme.test", "bob@example.test", "New", now), now)
	eventually(t, changed, "signal for new mail in INBOX")
	if got := syncOK(t, src); got[statStored] != 1 {
		t.Errorf("sync after the signal: %v, want the new mail stored", got)
	}
	if _, ok := storedIDs(t, st)["mid:new@acme.test"]; !ok {
		t.Error("new mail not stored")
	}
	drain(changed)
	srv.add("Sent", message("out@example.test", "bob@example.test", "ann@acme.test", "Re: New", now), now)
	eventually(t, changed, "signal for new mail in Sent")

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch after cancel: %v, want nil", err)
	}

	go func() { done <- src.Watch(t.Context(), notify) }()
	eventually(t, changed, "signal when the watch was set up again")
	p.cut()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Watch returned nil after its connection dropped")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after its connection dropped")
	}
}
