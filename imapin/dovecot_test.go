package imapin

import (
	"fmt"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/dovecottest"
)

// TestDovecotPoisonedMessage: against a real Dovecot, a message failing
// every time goes to the error mailbox after max_attempts and the others
// are ingested.
func TestDovecotPoisonedMessage(t *testing.T) {
	dc := dovecottest.Start(t)
	c := dc.Client(t)
	for i := range 5 {
		var extra []string
		if i == 2 {
			extra = append(extra, "X-Test: POISON")
		}
		dovecottest.Append(t, c, "INBOX", []byte(mail(i, extra...)))
	}
	e := newEnv(t, dc.Port, func(m *config.IMAP) { m.Username = dovecottest.User })
	r := &flaky{next: e.pipe, poison: "POISON"}
	m := e.manager(t, r)
	e.eventually(t, "poisoned message isolated, the others processed", func() bool {
		return dovecottest.Count(t, c, "Ticketgate-Errors") == 1 && dovecottest.Count(t, c, "Processed") == 4
	})
	if n := r.count("q2@customer.example"); n != 3 {
		t.Errorf("poisoned message tried %d times, want the default max_attempts 3", n)
	}
	n, perID := e.stored(t)
	if n != 4 || perID["q2@customer.example"] != 0 {
		t.Errorf("%d tickets: %v", n, perID)
	}
	for _, i := range []int{0, 1, 3, 4} {
		checkOnce(t, perID, fmt.Sprintf("q%d@customer.example", i))
	}
	e.eventually(t, "counted", func() bool { return m.Status()[0].Ingested == 4 })
	if s := m.Status()[0]; s.Ingested != 4 || s.Errors < 3 {
		t.Errorf("status %+v", s)
	}
}
