package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/mailout"
)

// TestRelayHealth: one refused recipient is that recipient's problem; two
// different ones, or a refusal not about a recipient, make the relay
// refuse every mail until a mail is delivered; a mail that could not be
// composed says nothing about the relay.
func TestRelayHealth(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	refused := func(rcpt string) error {
		return &mailout.RecipientErrors{Refused: []mailout.RecipientError{{Recipient: rcpt,
			Err: fault.Permanent(&smtp.SMTPError{Code: 550, Message: "no such user"})}}}
	}
	r := &relayHealth{}
	r.attempt(mailout.Failed, fault.Permanentf("template: %w", errors.New("bad")), t0)
	if failing, _, _ := r.state(); failing {
		t.Fatal("a composition failure counted against the relay")
	}
	r.attempt(mailout.Failed, refused("typo@example.com"), t0)
	r.attempt(mailout.Failed, refused("TYPO@example.com"), t0.Add(time.Minute))
	if failing, _, _ := r.state(); failing {
		t.Fatal("one refused recipient made the relay fail")
	}
	r.attempt(mailout.Failed, refused("other@example.com"), t0.Add(2*time.Minute))
	failing, since, last := r.state()
	if !failing || !since.Equal(t0) || last == "" {
		t.Fatalf("two refused recipients: failing %v since %v last %q", failing, since, last)
	}
	r.attempt(mailout.Delivered, nil, t0.Add(3*time.Minute))
	if failing, _, _ := r.state(); failing {
		t.Fatal("still failing after a delivery")
	}
	r.attempt(mailout.Deferred, fault.Temporary(&smtp.SMTPError{Code: 451, Message: "try later"}), t0.Add(4*time.Minute))
	if failing, since, _ := r.state(); !failing || !since.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("a refused MAIL FROM: failing %v since %v", failing, since)
	}
}
