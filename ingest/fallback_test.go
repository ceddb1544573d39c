package ingest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/store"
)

// TestFromFallback: a mail without a usable From (none, or `"x" <>`) has
// its reporter from Reply-To, then Sender, then the envelope sender; the
// step taken is recorded on the message, and the customer's auto-reply
// goes to that address.
func TestFromFallback(t *testing.T) {
	for _, c := range []struct {
		name, header, mailFrom string
		reporter, via          string
	}{
		{"Reply-To first", "Reply-To: Dana <dana@customer.example>\nSender: sam@customer.example\n", "env@customer.example", "dana@customer.example", decide.FromReplyTo},
		{"empty From, Sender", "From: \"x\" <>\nSender: Sam <sam@customer.example>\n", "env@customer.example", "sam@customer.example", decide.FromSender},
		{"Reply-To without an address, Sender", "Reply-To: <>\nSender: sam@customer.example\n", "env@customer.example", "sam@customer.example", decide.FromSender},
		{"envelope last", "From: \"x\" <>\n", "Env@Customer.example", "env@customer.example", decide.FromEnvelope},
		{"a usable From", "From: Carl <carl@customer.example>\nReply-To: dana@customer.example\n", "env@customer.example", customer, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := newTestPipeline(t)
			raw := c.header + "To: " + acme + "\nSubject: help\nMessage-ID: <fb@customer.example>\n\nThe printer is down.\n"
			if errs := tp.receive(t, &mailin.Envelope{MailFrom: c.mailFrom, Rcpts: []string{acme}}, raw); errs[0] != nil {
				t.Fatal(errs[0])
			}
			res := tp.last(t).Result
			if res == nil || !res.Created {
				t.Fatalf("no new ticket: %+v", tp.last(t))
			}
			m := tp.message(t, res.Message)
			if m.From != c.reporter || m.FromFallback != c.via {
				t.Errorf("message from %q (fallback %q), want %q (%q)", m.From, m.FromFallback, c.reporter, c.via)
			}
			var tk *store.Ticket
			tp.st.View(func(tx store.Tx) error { tk, _ = tx.Ticket(res.Ticket); return nil })
			if tk.Reporter != c.reporter {
				t.Errorf("reporter %q, want %q", tk.Reporter, c.reporter)
			}
			var autoReply []string
			for _, it := range tp.outbox(t) {
				if it.Event == "customer/request_created" {
					autoReply = append(autoReply, it.Recipient)
				}
			}
			if !slices.Equal(autoReply, []string{c.reporter}) {
				t.Errorf("auto-reply to %q, want %q", autoReply, c.reporter)
			}
		})
	}
}

// TestFromFallbackIsNeverStaff: an agent's address found by the fallback
// (here in Reply-To, with trust_from on, which trusts From only) is no
// agent: its commands do not run (their lines stay text), a new mail is an
// ordinary request, and a mail into a ticket is an unverified customer
// comment, never an agent's public answer.
func TestFromFallbackIsNeverStaff(t *testing.T) {
	tp := newTestPipeline(t, func(c *config.Config) { c.TrustFrom = true })
	raw := "Reply-To: " + agent + "\nTo: " + acme + "\nSubject: close it\nMessage-ID: <fb1@example.com>\n\n#status closed\n#assign me\n\nPlease look.\n"
	if errs := tp.receive(t, &mailin.Envelope{MailFrom: agent, Rcpts: []string{acme}}, raw); errs[0] != nil {
		t.Fatal(errs[0])
	}
	res := tp.last(t).Result
	m := tp.message(t, res.Message)
	if m.FromFallback != decide.FromReplyTo || m.Kind != "request" || m.Internal || !strings.Contains(m.Text, "#status closed") {
		t.Errorf("message %+v", m)
	}
	var tk *store.Ticket
	var events []*store.Event
	tp.st.View(func(tx store.Tx) error {
		tk, _ = tx.Ticket(res.Ticket)
		events, _ = tx.Events(res.Ticket)
		return nil
	})
	if tk.Status != "new" || tk.Assignee != "" {
		t.Errorf("a command ran: status %q, assignee %q", tk.Status, tk.Assignee)
	}
	for _, e := range events {
		if e.Kind == store.EvCommandsAnswered || e.Kind == store.EvStatusChanged || e.Kind == store.EvAssigned {
			t.Errorf("event %s", e.Kind)
		}
	}

	// The same into the ticket: an unverified comment, not a public answer.
	raw = "Reply-To: " + agent + "\nTo: " + acme + "\nSubject: Re: [" + res.Ticket + "] close it\nMessage-ID: <fb2@example.com>\n\nWe fixed it.\n"
	if errs := tp.receive(t, &mailin.Envelope{MailFrom: agent, Rcpts: []string{acme}}, raw); errs[0] != nil {
		t.Fatal(errs[0])
	}
	res2 := tp.last(t).Result
	m = tp.message(t, res2.Message)
	if res2.Ticket != res.Ticket || m.Kind != "comment" || !m.Unverified || m.FromFallback != decide.FromReplyTo {
		t.Errorf("into %s: message %+v", res2.Ticket, m)
	}
	for _, it := range tp.outbox(t) {
		if it.Kind == store.EvAgentCommentAdded {
			t.Errorf("an agent's answer was queued to %s", it.Recipient)
		}
	}
}
