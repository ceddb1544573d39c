package daemon

import (
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/internal/waitfor"
)

// waitLimit bounds every wait of these tests; it only keeps a broken
// build from hanging (a wait ends when what it waits for happened).
const waitLimit = 30 * time.Second

// changesOf is the signal d was started with (Options.Changes): start
// and the other helpers give every daemon one.
func changesOf(t *testing.T, d *Daemon) *waitfor.Signal {
	t.Helper()
	ev, ok := d.changes.(*waitfor.Signal)
	if !ok {
		t.Fatal("the daemon was started without a *waitfor.Signal in Options.Changes: nothing would wake the wait")
	}
	return ev
}

// waitUntil looks at cond after every change of d (a store commit, a send
// attempt recorded, a mailbox's state, an alert look) until it holds.
func waitUntil(t *testing.T, d *Daemon, what string, cond func() bool) {
	t.Helper()
	changesOf(t, d).Wait(t, waitLimit, what, cond)
}

// pollExternal waits for the state of a program outside the daemon that
// offers no signal of its own (Dovecot reading its passwd file again,
// Dovecot listening after a restart): it looks every few milliseconds
// until cond holds or the limit passed. Use waitUntil for anything the
// daemon does.
func pollExternal(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("gave up after %v waiting for %s", waitLimit, what)
		}
	}
}
