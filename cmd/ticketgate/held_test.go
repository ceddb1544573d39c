package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// TestHeldCLI: `show` names a held message's number and the command that
// acts on it; `held publish` makes it a public comment and `held discard`
// keeps it from everybody, each recorded with the agent (issue 22).
func TestHeldCLI(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	d := serveInProcess(t, path)
	deliver := func(from, id, inReplyTo, body string) {
		t.Helper()
		raw := fmt.Sprintf("From: %s\r\nTo: acme@support.example.com\r\nSubject: Printer on fire\r\nMessage-ID: <%s>\r\n", from, id)
		if inReplyTo != "" {
			raw += "In-Reply-To: <" + inReplyTo + ">\r\n"
		}
		if code, _, e := runCmd([]string{"deliver", "-c", path}, raw+"\r\n"+body+"\r\n"); code != 0 {
			t.Fatalf("deliver %s: %s", id, e)
		}
	}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, stderr := runCmd(append([]string{args[0], "-c", path, "--as", "alice@example.com"}, args[1:]...), "")
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, stderr)
		}
		return out + stderr
	}
	heldRE := regexp.MustCompile(`held: .* — message (\d+) \(ticketgate held publish\|discard ACME-1 (\d+)\)`)
	deliver("carl@customer.example", "p1@customer.example", "", "It burns.")
	deliver("eve@stranger.example", "e1@stranger.example", "p1@customer.example", "Same here.")
	m := heldRE.FindStringSubmatch(run(0, "show", "ACME-1"))
	if m == nil {
		t.Fatalf("show does not name the held message:\n%s", run(0, "show", "ACME-1"))
	}
	if out := run(0, "held", "publish", "ACME-1", m[1]); !strings.Contains(out, "held message "+m[1]+" published") {
		t.Fatalf("held publish: %s", out)
	}
	if out := run(exitFailure, "held", "publish", "ACME-1", m[1]); !strings.Contains(out, "is not held") {
		t.Fatalf("publishing again: %s", out)
	}
	run(exitConfig, "held", "frobnicate", "ACME-1", m[1])

	deliver("eve@stranger.example", "e2@stranger.example", "p1@customer.example", "Cheap watches.")
	m2 := heldRE.FindStringSubmatch(run(0, "show", "ACME-1"))
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("the second held message: %v", m2)
	}
	run(0, "held", "discard", "ACME-1", m2[1])
	if out := run(0, "show", "ACME-1"); !strings.Contains(out, "discarded: message "+m2[1]+" reaches nobody") {
		t.Fatalf("show after the discard:\n%s", out)
	}
	var msgs []*store.Message
	var evs []*store.Event
	d.Store().View(func(tx store.Tx) error {
		msgs, _ = tx.TicketMessages("ACME-1")
		evs, _ = tx.Events("ACME-1")
		return nil
	})
	var published, discarded bool
	for _, msg := range msgs {
		published = published || fmt.Sprint(msg.ID) == m[1] && !msg.Internal && msg.Held == "" && msg.Kind == "comment"
		discarded = discarded || fmt.Sprint(msg.ID) == m2[1] && msg.Internal && msg.Discarded
	}
	by := map[store.EventKind]string{}
	for _, ev := range evs {
		if ev.Kind == store.EvHeldPublished || ev.Kind == store.EvHeldDiscarded {
			by[ev.Kind] = ev.Actor
		}
	}
	if !published || !discarded || by[store.EvHeldPublished] != "alice@example.com" || by[store.EvHeldDiscarded] != "alice@example.com" {
		t.Fatalf("published %v, discarded %v, by %v", published, discarded, by)
	}
}
