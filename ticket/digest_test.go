package ticket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// TestDigestByMail: a proven agent's #digest lines store their choice and
// the answer says what is in force; a customer's is refused and stores
// nothing; SetDigest (the CLI) refuses an address that is nobody's agent.
func TestDigestByMail(t *testing.T) {
	e := newTestEngine(t)
	key := e.request(t, "digest@customer.example").Ticket
	pref := func() *store.DigestPref {
		var p *store.DigestPref
		if err := e.st.View(func(tx store.Tx) error {
			var err error
			p, err = tx.DigestPref(agent)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return p
	}

	e.mail(t, agent, key, "dg1@example.com", "#digest at 07:30 Europe/Vienna", true)
	lines := e.answered(t, key)
	if !hasLine(lines, "done: #digest at 07:30 Europe/Vienna — daily digest at 07:30 Europe/Vienna on mon, tue, wed, thu, fri") {
		t.Errorf("answer = %v", lines)
	}
	if p := pref(); p == nil || p.Mode != store.DigestOn || p.At != "07:30" || p.TimeZone != "Europe/Vienna" {
		t.Errorf("stored = %+v", p)
	}
	e.mail(t, agent, key, "dg2@example.com", "#digest off", true)
	if lines := e.answered(t, key); !hasLine(lines, "done: #digest off — off: no daily digest") {
		t.Errorf("answer = %v", lines)
	}
	// Off keeps the time for when it is switched on again.
	if p := pref(); p == nil || p.Mode != store.DigestOff || p.At != "07:30" {
		t.Errorf("stored after off = %+v", p)
	}
	e.mail(t, agent, key, "dg3@example.com", "#digest at noon", true)
	if lines := e.answered(t, key); !hasLine(lines, `refused: #digest at noon — "noon" is not a time of day like 07:30`) {
		t.Errorf("answer = %v", lines)
	}
	if p := pref(); p.Mode != store.DigestOff {
		t.Errorf("a refused #digest changed the choice: %+v", p)
	}
	// A customer may not.
	e.mail(t, customer, key, "dg4@example.com", "#digest on", true)
	if lines := e.answered(t, key); !hasLine(lines, "refused: #digest on — only agents may use #digest") {
		t.Errorf("customer's answer = %v", lines)
	}
	if p := pref(); p.Mode != store.DigestOff {
		t.Errorf("a customer's #digest changed the agent's choice: %+v", p)
	}

	said, err := e.SetDigest(context.Background(), "Alice@Example.com", decide.DigestChange{On: true})
	if err != nil || said != "daily digest at 07:30 Europe/Vienna on mon, tue, wed, thu, fri" {
		t.Errorf("SetDigest = %q %v", said, err)
	}
	if got, err := e.Digest(agent); err != nil || got != said {
		t.Errorf("Digest = %q %v", got, err)
	}
	if _, err := e.SetDigest(context.Background(), "stranger@example.net", decide.DigestChange{On: true}); !errors.Is(err, ticket.ErrRefused) {
		t.Errorf("SetDigest for a stranger: %v", err)
	}
}
