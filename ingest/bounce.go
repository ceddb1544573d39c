package ingest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/policy"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// bounce matches a delivery status notification to the mail of ours that
// bounced — by the token in the envelope recipient acme+bounce-<token>@…
// that every mail we send carries as its envelope sender, else by the
// bounced message's Message-ID (tg.<token>@…) — and records it on that
// ticket as an internal note. A permanent failure suppresses the recipient
// for suppress_days and tells the agents. It returns handled=false when
// the bounce matches nothing of ours; the caller then records it as
// ordinary automatic mail.
func (p *Pipeline) bounce(ctx context.Context, cfg *config.Config, proj *config.Project, m *ticket.Mail, b *policy.Bounce, tag string) (*ticket.Result, bool, error) {
	var candidates []string
	if tag != "" {
		candidates = append(candidates, tag)
	}
	if tok, ok := ticket.TokenFromMessageID(b.OriginalMessageID); ok {
		candidates = append(candidates, tok)
	}
	for _, id := range append(append([]string(nil), m.InReplyTo...), m.References...) {
		if tok, ok := ticket.TokenFromMessageID(id); ok {
			candidates = append(candidates, tok)
		}
	}
	if len(candidates) == 0 {
		return nil, false, nil
	}
	var res *ticket.Result
	handled := false
	err := p.store.Update(ctx, func(tx store.Tx) error {
		res, handled = &ticket.Result{}, false
		ref, dup, err := tx.Duplicate(proj.Key, m.MessageID, m.Raw)
		if err != nil {
			return err
		}
		if dup {
			res.Duplicate, res.Ticket, res.Message, handled = true, ref.Ticket, ref.Message, true
			return nil
		}
		var tok *store.Token
		for _, c := range candidates {
			if t, err := tx.Token(c); err == nil && t.Kind == store.TokenReply && t.Project == proj.Key {
				tok = t
				break
			}
		}
		if tok == nil {
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
		item := &store.OutboxItem{Ticket: t.Key, Project: proj.Key, Recipient: tok.Recipient,
			MessageID: ticket.MessageIDPrefix + tok.Token + "@" + proj.Domain(), Event: "mail"}
		if len(b.PermanentFailures()) == 0 {
			// Given up after temporary failures (a host down for days):
			// the mail is lost, the address may well work next time.
			return p.engine.DeliveryFailed(tx, item, "bounced: "+summary)
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
