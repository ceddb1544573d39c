package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// TestDigestEndToEnd (issue 21): a customer's request comes in over SMTP;
// dave moves his digest to 09:00 by mail (the answer confirms it); the
// daemon is down over alice's 08:30 and sends her digest when it starts
// again at 08:31, listing the ticket with its agent link, and nothing to
// dave yet; started again at 09:00 it sends dave's and nothing more to
// alice. The digests are read from a go-smtp sink.
func TestDigestEndToEnd(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := workflowConfig(t, sink, func(c *config.Config) {
		c.Digests = config.Digests{Default: config.DigestSchedule{At: "08:30", Days: "mon-fri", TimeZone: "Europe/Berlin"}}
	})
	clk := &clock{t: time.Date(2026, 11, 16, 8, 0, 0, 0, berlin)} // Monday
	start := func() (*Daemon, chan int) {
		ran := make(chan int, 16)
		d, err := Start(c, testLogger(t), Options{Now: clk.Now, DigestRan: func(n int, err error) {
			if err != nil {
				t.Errorf("digest run: %v", err)
			}
			ran <- n
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Shutdown(t.Context()) })
		return d, ran
	}
	d, ran := start()
	if n := <-ran; n != 0 {
		t.Errorf("08:00: %d digests", n)
	}
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer on fire", "r1@customer.example", "It is on fire."))
	waitMailTo(t, sink, alice, "Printer on fire")
	mustSend(t, d.Addr("smtp"), "dave@example.com", []string{acmeAddr},
		msg("dave@example.com", acmeAddr, "Re: [ACME-1] Printer on fire", "dg1@example.com", "#digest at 09:00\r\n", proof))
	waitMailTo(t, sink, "dave@example.com", "done: #digest at 09:00 — daily digest at 09:00 Europe/Berlin on mon, tue, wed, thu, fri")
	d.Shutdown(t.Context())

	// Down over 08:30: alice's digest comes when the daemon is back.
	clk.Add(31 * time.Minute)
	d, ran = start()
	if n := <-ran; n != 1 {
		t.Fatalf("08:31 after the restart: %d digests, want alice's", n)
	}
	m := waitMailTo(t, sink, alice, "Your queue for 2026-11-16 (times in Europe/Berlin): 0 assigned to you, 1 unassigned.")
	text := textBody(t, m)
	if !strings.Contains(text, "ACME-1 Printer on fire") || !strings.Contains(text, "http://ticketgate.test/a/") || !strings.Contains(text, "open 31m") {
		t.Errorf("alice's digest:\n%s", text)
	}
	if h := header(t, m); h.Get("Auto-Submitted") != "auto-generated" || !strings.HasPrefix(h.Get("Subject"), "Your queue for 2026-11-16: 1 open") {
		t.Errorf("digest header: Auto-Submitted %q, Subject %q", h.Get("Auto-Submitted"), h.Get("Subject"))
	}
	d.Shutdown(t.Context())

	clk.Add(29 * time.Minute) // 09:00
	d, ran = start()
	if n := <-ran; n != 1 {
		t.Fatalf("09:00: %d digests, want dave's", n)
	}
	waitMailTo(t, sink, "dave@example.com", "Your queue for 2026-11-16")
	// Everything queued arrived: alice got one digest, dave one.
	settleDigests(t, d, sink, 2)
	for _, a := range []string{alice, "dave@example.com"} {
		n := 0
		for _, m := range to(sink.Messages(), a) {
			if strings.Contains(textBody(t, m), "Your queue for") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s got %d digests", a, n)
		}
	}
	var mark *store.DigestMark
	if err := d.Store().View(func(tx store.Tx) error {
		mark, err = tx.DigestMark(alice)
		return err
	}); err != nil || mark == nil || mark.Day != "2026-11-16" || mark.OutboxID == 0 {
		t.Errorf("alice's mark = %+v %v", mark, err)
	}
}

// settleDigests waits until the sink holds every mail queued so far: the
// ticket's (counted by their events) and extra ones that belong to no
// ticket.
func settleDigests(t *testing.T, d *Daemon, sink *mailouttest.Sink, extra int) {
	t.Helper()
	waitMessages(t, sink, queuedSoFar(t, d)+extra)
}
