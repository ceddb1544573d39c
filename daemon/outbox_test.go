package daemon

import (
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// TestRelayDownKeepsDaemonHealthy: with the relay down the sender keeps
// attempting and rescheduling, so the liveness check (the watchdog's and
// /healthz) stays green: a restart would not bring the relay back.
func TestRelayDownKeepsDaemonHealthy(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	sink.Close()
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "Printer", "h1@customer.example", "broken"))
	waitUntil(t, d, "attempts that failed and were rescheduled", func() bool {
		n := 0
		d.Store().View(func(tx store.Tx) error {
			items, err := tx.ListOutbox(10)
			for _, it := range items {
				if it.Attempts >= 2 {
					n++
				}
			}
			return err
		})
		return n == 2
	})
	if err := d.Healthy(); err != nil {
		t.Errorf("a relay that is down made the daemon unhealthy: %v", err)
	}
}
