package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/policy"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// bounce matches a delivery status notification to the copy of ours that
// bounced, by the secret in the envelope recipient acme+bounce-<secret>@…
// and nothing else: every copy we send has its own secret (a bounce
// token), which appears in no header, so only a report about that copy
// knows it. Message-IDs and References in the report are not evidence:
// they travel to everyone on a thread. The report is recorded on the
// copy's ticket as an internal note. A permanent failure of that copy's
// recipient suppresses the recipient for suppress_days — never a staff
// address: the agents are told instead. It returns handled=false when the
// report names no secret of ours (a reply token at the bounce address, as
// older mail used, proves nothing); the caller then records it as
// ordinary automatic mail.
func (p *Pipeline) bounce(ctx context.Context, cfg *config.Config, proj *config.Project, m *ticket.Mail, b *policy.Bounce, tag string) (*ticket.Result, bool, error) {
	if tag == "" {
		return nil, false, nil
	}
	var res *ticket.Result
	handled := false
	err := p.store.Update(ctx, func(tx *store.Tx) error {
		res, handled = &ticket.Result{}, false
		tok, err := tx.Token(tag)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if tok.Kind != store.TokenBounce || tok.Project != proj.Key || !tok.Valid(p.now()) {
			return nil
		}
		if ref, dup := tx.Duplicate(proj.Key, m.MessageID, m.Raw); dup {
			res.Duplicate, res.Ticket, res.Message, handled = true, ref.Ticket, ref.Message, true
			return nil
		}
		t, err := tx.Ticket(tok.Ticket)
		if err != nil {
			return err
		}
		now := p.now().UTC()
		summary := bounceSummary(b, tok.Recipient)
		msg := &store.Message{
			Ticket: t.Key, Project: proj.Key, Direction: "in", Kind: "bounce", Internal: true,
			Source: m.Source, MailFrom: m.MailFrom, From: m.From, FromName: m.FromName, To: m.To,
			Subject: m.Subject, MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
			Date: m.Date, Received: now, Text: summary + "\n\n" + m.Text, Attach: m.Attach,
			Raw: m.Raw, RawSize: m.RawSize, ThreadedBy: "bounce", Auto: "delivery status notification", Problems: m.Problems,
		}
		if err := tx.AddMessage(msg); err != nil {
			return err
		}
		if err := tx.IndexMessageID(proj.Key, m.MessageID, m.Raw, store.MessageRef{Ticket: t.Key, Message: msg.ID}); err != nil {
			return err
		}
		t.Messages++
		t.Updated = now
		if err := tx.PutTicket(t); err != nil {
			return err
		}
		res.Ticket, res.Message, res.ThreadedBy, handled = t.Key, msg.ID, "bounce", true
		failed := false
		for _, r := range b.Recipients {
			failed = failed || r.Permanent || strings.EqualFold(r.Action, "failed")
		}
		if !failed {
			// Only delayed: the next hop keeps trying.
			return tx.AddEvent(&store.Event{Ticket: t.Key, Time: now, Type: "delivery_delayed", Actor: "ticketgate", Message: msg.ID, Detail: summary})
		}
		event := tok.Event
		if event == "" {
			event = "mail"
		}
		item := &store.OutboxItem{Ticket: t.Key, Project: proj.Key, Recipient: tok.Recipient, MessageID: tok.MessageID, Event: event}
		// The secret names the copy, so a permanent failure in its report
		// is that copy's recipient's (whatever address a forwarding
		// mailbox reported), and nobody else's.
		if len(b.PermanentFailures()) == 0 {
			// Given up after temporary failures (a host down for days):
			// the mail is lost, the address may well work next time.
			return p.engine.DeliveryFailed(tx, item, "bounced: "+summary)
		}
		if proj.IsStaff(tok.Recipient) {
			// A staff address is never suppressed: a forged or mistaken
			// report must not cut the agents off. They are told.
			return p.engine.DeliveryFailed(tx, item, fmt.Sprintf("bounced: %s; %s is staff and stays unsuppressed", summary, tok.Recipient))
		}
		days := cfg.Limits.SuppressDays
		if err := tx.Suppress(&store.Suppression{Address: tok.Recipient, Until: now.Add(time.Duration(days) * 24 * time.Hour),
			Reason: summary, Ticket: t.Key, Created: now}); err != nil {
			return err
		}
		return p.engine.DeliveryFailed(tx, item, fmt.Sprintf("bounced: %s; %s suppressed for %d days", summary, tok.Recipient, days))
	})
	return res, handled, err
}

func bounceSummary(b *policy.Bounce, rcpt string) string {
	var parts []string
	for _, r := range b.Recipients {
		s := r.Address
		if r.Status != "" {
			s += " " + r.Status
		}
		if r.Diagnostic != "" {
			s += " (" + r.Diagnostic + ")"
		}
		parts = append(parts, s)
	}
	kind := "permanent failure"
	if len(b.PermanentFailures()) == 0 {
		kind = "delivery delayed"
		for _, r := range b.Recipients {
			if strings.EqualFold(r.Action, "failed") {
				kind = "delivery failed"
			}
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s for %s", kind, rcpt)
	}
	return fmt.Sprintf("%s for %s: %s", kind, rcpt, strings.Join(parts, "; "))
}
