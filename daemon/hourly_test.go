package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// TestHourlyPrunesRateCounters: the counter a customer's auto-reply
// counted stays while a limit can still read it, and the hour after its
// windows are over (by the daemon's clock, which wrote it) the sweep
// removes it; the customer's next request is answered as before.
func TestHourlyPrunesRateCounters(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC) // in the past: the sender schedules by the real clock
	clk := &clock{t: t0}
	d := startAt(t, workflowConfig(t, sink, nil), clk)
	box := &mailbox{t: t, sink: sink, d: d}
	per := d.Config().Limits.AutoPerRecipient.Per
	counted := func() float64 {
		t.Helper()
		var n float64
		err := d.Store().View(func(tx store.Tx) error {
			var err error
			n, err = tx.RateCount(store.RateKey(carl, "auto"), per, t0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer", "h1@customer.example", "It jams."))
	only(t, box.next(3), carl) // the auto-reply; alice, dave
	if n := counted(); n != 1 {
		t.Fatalf("the auto-reply counted %v, want 1", n)
	}
	d.hourly(context.Background())
	if n := counted(); n != 1 {
		t.Fatalf("the sweep removed a counter still read: %v left, want 1", n)
	}
	clk.Add(2*per + time.Minute)
	d.hourly(context.Background())
	if n := counted(); n != 0 {
		t.Fatalf("the counter outlived its windows: %v, want it removed", n)
	}
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Scanner", "h2@customer.example", "It is slow."))
	only(t, box.next(3), carl)
}
