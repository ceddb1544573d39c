package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestIntakePacedToSender: while the sender lags behind its due mail (here
// any lag counts: flow_target 1ns, and the customer's auto-reply hangs at
// the relay), a new message waits at MAIL; when the outbox has caught up
// it is accepted, counted as paced, and answered. Nothing is refused.
func TestIntakePacedToSender(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	c.Inbound.FlowTarget = time.Nanosecond
	c.Inbound.FlowDelay = time.Hour
	c.Metrics.Listen = "127.0.0.1:0"
	sink.Hold("carla@customer.example")
	d := start(t, c)
	base := "http://" + d.Addr("metrics")
	scrape := func(series string) float64 {
		_, body := fetch(t, base+"/metrics")
		return metricValue(body, series)
	}

	mustSend(t, d.Addr("smtp"), "carla@customer.example", []string{"acme@support.example.com"},
		msg("carla@customer.example", "acme@support.example.com", "printer broken", "p1@customer.example", "It does not print."))
	if err := sink.WaitHeld(1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.WaitMessage(func(m mailouttest.Message) bool { return slices.Contains(m.To, "alice@example.com") }, time.Minute); err != nil {
		t.Fatalf("the agents' notification: %v", err)
	}

	sent := make(chan error, 1)
	go func() {
		sent <- send(t, d.Addr("smtp"), "dora@customer.example", []string{"acme@support.example.com"},
			msg("dora@customer.example", "acme@support.example.com", "scanner broken", "p2@customer.example", "It does not scan."))
	}()
	waitUntil(t, d, "dora's message held at MAIL", func() bool { return scrape("ticketgate_intake_paced_now") == 1 })
	select {
	case err := <-sent:
		t.Fatalf("dora's message answered (%v) while the sender lagged", err)
	default:
	}
	sink.Release("carla@customer.example")
	if err := <-sent; err != nil {
		t.Fatalf("dora's message after pacing: %v", err)
	}
	if n := scrape("ticketgate_intake_paced_total"); n != 1 {
		t.Errorf("paced %v messages, want 1", n)
	}
	if n := scrape("ticketgate_intake_paced_now"); n != 0 {
		t.Errorf("%v messages still held", n)
	}
	if _, err := sink.WaitMessage(func(m mailouttest.Message) bool { return slices.Contains(m.To, "dora@customer.example") }, time.Minute); err != nil {
		t.Fatalf("dora's auto-reply: %v", err)
	}
}
