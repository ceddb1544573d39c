package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// TestFloodLimitKeyedAndPersisted: the per-sender new-ticket limit keyed on
// the header From (anyone can vary it) and lived in memory (a restart reset
// it). It now counts the envelope sender (and a proven From) in the store.
func TestFloodLimitKeyedAndPersisted(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	dir := filepath.Join(t.TempDir(), "data")
	cfg := func() *config.Config {
		c := testConfig(t, dir, sink)
		c.Limits.NewTicketsPerSender = config.Rate{Count: 2, Per: time.Hour}
		return c
	}
	d, err := Start(cfg(), testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			d.Shutdown(context.Background())
		}
	}()
	flood := func(d *Daemon, i int) error {
		from := fmt.Sprintf("victim%d@customer.example", i) // forged, unproven
		return send(t, d.Addr("smtp"), "spammer@evil.example", []string{"acme@support.example.com"},
			msg(from, "acme@support.example.com", fmt.Sprintf("offer %d", i), fmt.Sprintf("flood%d@evil.example", i), "buy"))
	}
	isFlood := func(err error) bool {
		var se *smtp.SMTPError
		return errors.As(err, &se) && se.Code == 451 && se.EnhancedCode == (smtp.EnhancedCode{4, 7, 1})
	}
	for i := range 2 {
		if err := flood(d, i); err != nil {
			t.Fatalf("message %d within the limit: %v", i, err)
		}
	}
	if err := flood(d, 2); !isFlood(err) {
		t.Fatalf("third new ticket from one envelope sender under another From: %v, want 451 4.7.1", err)
	}
	// Another sender is not held back.
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"},
		msg("carl@customer.example", "acme@support.example.com", "real request", "real1@customer.example", "help"))

	d.Shutdown(context.Background())
	stopped = true
	d2 := start(t, cfg())
	if err := flood(d2, 3); !isFlood(err) {
		t.Fatalf("after a restart: %v, want 451 4.7.1 still", err)
	}
}
