package daemon

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestTargetMailsThroughTheDaemon: the daemon's timers (on a fake clock)
// send the warning to the agents and the breach to the agents and the
// admins, each once, through the outbox to the relay.
func TestTargetMailsThroughTheDaemon(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := benchConfig(filepath.Join(t.TempDir(), "data"), sink)
	c.Projects[0].Admins = []string{"boss@example.com"}
	c.Projects[0].Targets = &config.Targets{FirstResponse: map[string]time.Duration{"normal": time.Hour}, WarnAt: "50%"}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	d, err := Start(c, testLogger(t), Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	customer := "carl@customer.example"
	mustSend(t, d.Addr("smtp"), customer, []string{"acme@support.example.com"}, msg(customer, "acme@support.example.com", "Printer on fire", "t1@customer.example", "It burns."))
	waitMessages(t, sink, 2) // the auto-reply, the agents' notification

	subject := func(m mailouttest.Message) bool {
		return bytes.Contains(m.Data, []byte("[ACME-1]"))
	}
	has := func(m mailouttest.Message, s string) bool { return bytes.Contains(m.Data, []byte(s)) }
	// 40 minutes later the customer writes again (the ticket changes, the
	// timers look): the warning (at 30 min) goes to the agent.
	advance(40 * time.Minute)
	mustSend(t, d.Addr("smtp"), customer, []string{"acme@support.example.com"}, msg(customer, "acme@support.example.com", "Re: [ACME-1] Printer on fire", "t2@customer.example", "Hello?", "In-Reply-To: <t1@customer.example>"))
	warn, err := sink.WaitMessage(func(m mailouttest.Message) bool {
		return subject(m) && has(m, "is close to its first-response target")
	}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(warn.To, ",") != "alice@example.com" {
		t.Errorf("warning to %v", warn.To)
	}
	advance(30 * time.Minute)
	mustSend(t, d.Addr("smtp"), customer, []string{"acme@support.example.com"}, msg(customer, "acme@support.example.com", "Re: [ACME-1] Printer on fire", "t3@customer.example", "HELLO?", "In-Reply-To: <t1@customer.example>"))
	for _, rcpt := range []string{"alice@example.com", "boss@example.com"} {
		if _, err := sink.WaitMessage(func(m mailouttest.Message) bool {
			return subject(m) && has(m, "missed its first-response target") && len(m.To) == 1 && m.To[0] == rcpt
		}, 30*time.Second); err != nil {
			t.Fatalf("breach mail to %s: %v", rcpt, err)
		}
	}
	// Each once: the timers ran after every change; count what arrived.
	count := func(s string) int {
		n := 0
		for _, m := range sink.Messages() {
			if subject(m) && has(m, s) {
				n++
			}
		}
		return n
	}
	if w, b := count("is close to its first-response target"), count("missed its first-response target"); w != 1 || b != 2 {
		t.Errorf("%d warning and %d breach mails, want 1 and 2", w, b)
	}
}
