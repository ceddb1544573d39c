package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// deliveryFailedTemplate is the agents' mail about a failed delivery: a
// failure of that mail tells nobody, so a dead agent address cannot start
// a loop.
const deliveryFailedTemplate = "internal/delivery_failed"

// DeliveryFailed records on its ticket that an outbound message could not
// be delivered (given up) and tells the agents, inside tx (the sender's
// give-up hook).
func (e *Engine) DeliveryFailed(tx store.Tx, item *store.OutboxItem, reason string) error {
	return e.deliveryFailed(tx, item, reason, 0)
}

// deliveryFailed is DeliveryFailed with the stored message that reported
// the failure (a bounce), 0 for none.
func (e *Engine) deliveryFailed(tx store.Tx, item *store.OutboxItem, reason string, report uint64) error {
	if item.Ticket == "" {
		return nil
	}
	t, err := tx.Ticket(item.Ticket)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvDeliveryFailed, Message: report, MessageID: item.MessageID,
		Recipient: item.Recipient, Template: item.Event, OutboxID: item.ID, Attempt: item.Attempts, Reason: reason}); err != nil {
		return err
	}
	if e.notify == nil || item.Event == deliveryFailedTemplate {
		return nil
	}
	p := e.cfg().Project(t.Project)
	if p == nil {
		return nil
	}
	// The agents' mail says it in words; nothing reads it back.
	detail := fmt.Sprintf("%s to %s (%s): %s", item.Event, item.Recipient, item.MessageID, reason)
	_, err = e.notifyIn(tx, &Event{Type: EvDeliveryFailed, Project: p, Ticket: t, Recipients: []string{item.Recipient}, Detail: detail}, now)
	return err
}

// Delivered records on its ticket that the relay accepted an outbound
// message, inside the transaction that takes it off the queue (the
// sender's OnDelivered hook).
func (e *Engine) Delivered(tx store.Tx, item *store.OutboxItem) error {
	if item.Ticket == "" {
		return nil
	}
	return record(tx, &store.Event{Ticket: item.Ticket, Time: e.now(), Kind: store.EvDelivered, MessageID: item.MessageID,
		Recipient: item.Recipient, Template: item.Event, OutboxID: item.ID, Attempt: item.Attempts + 1})
}

// OutboxChanged records an agent's requeue or drop of a queued mail,
// inside the transaction that changed the queue.
func (e *Engine) OutboxChanged(tx store.Tx, item *store.OutboxItem, dropped bool, agent string) error {
	if item.Ticket == "" {
		return nil
	}
	kind := store.EvOutboxRequeued
	if dropped {
		kind = store.EvOutboxDropped
	}
	return record(tx, &store.Event{Ticket: item.Ticket, Time: e.now(), Kind: kind, Actor: strings.ToLower(agent), MessageID: item.MessageID,
		Recipient: item.Recipient, Template: item.Event, OutboxID: item.ID})
}

// SuppressionCleared records that addr may receive mail again, on the
// ticket whose bounce suppressed it, inside the transaction that cleared it.
func (e *Engine) SuppressionCleared(tx store.Tx, sup *store.Suppression, agent string) error {
	if sup.Ticket == "" {
		return nil
	}
	return record(tx, &store.Event{Ticket: sup.Ticket, Time: e.now(), Kind: store.EvSuppressionCleared, Actor: strings.ToLower(agent),
		Addresses: []string{sup.Address}})
}

// MessageRefused tells the sender of mail we stored but refused (too
// large, too many attachments …) why, where no SMTP reply could (IMAP
// ingestion). Automatic senders are never told, and the notice counts
// against the automatic-mail rate limits like any auto-reply. res is the
// stored mail's Result (its ticket); the events written are added to it.
func (e *Engine) MessageRefused(ctx context.Context, res *Result, sender, reason string) error {
	if sender == "" || e.notify == nil {
		return nil
	}
	return e.updateFor(ctx, res, func(tx store.Tx) error {
		t, err := tx.Ticket(res.Ticket)
		if err != nil {
			return err
		}
		p := e.cfg().Project(t.Project)
		if p == nil {
			return nil
		}
		_, err = e.notifyIn(tx, &Event{Type: EvMessageRefused, Project: p, Ticket: t, Recipients: []string{sender}, Detail: reason}, e.now().UTC())
		return err
	})
}

// Bounce is a delivery status notification that ingest matched to mail
// of ours by its reply tokens.
type Bounce struct {
	// Mail is the report as received.
	Mail *Mail
	// Secret is the bounce secret of the envelope recipient
	// (acme+bounce-<secret>@…): every copy we send has its own, which
	// appears in no header, so only a report about that copy knows it.
	// Message-IDs and References in a report are not evidence: they
	// travel to everyone on a thread.
	Secret string
	// Summary says in words what the report says, for the recipient our
	// token was sent to.
	Summary func(recipient string) string
	// Failed: some recipient failed (not only delayed); Permanent: a
	// permanent failure, so the recipient is suppressed for SuppressDays.
	Failed, Permanent bool
	SuppressDays      int
}

// RecordBounce stores a delivery report on the ticket of the copy it
// reports on (named by its bounce secret), as an internal note, in one
// transaction: a delay is noted; a failure is recorded as that copy's
// delivery failure (and the agents told); a permanent one also suppresses
// that copy's recipient — never a staff address: the agents are told
// instead. handled is false when the secret is not one of ours (a reply
// token at the bounce address, as older mail used, proves nothing): the
// caller then records it as automatic mail.
func (e *Engine) RecordBounce(ctx context.Context, project string, b *Bounce) (res *Result, handled bool, err error) {
	p := e.cfg().Project(project)
	if p == nil {
		return nil, false, fmt.Errorf("ticket: unknown project %q", project)
	}
	err = e.store.Update(ctx, func(tx store.Tx) error {
		res, handled = &Result{}, false
		return tapped(tx, res, func(tx store.Tx) error {
			return e.recordBounce(tx, p, b, res, &handled)
		})
	})
	return res, handled, err
}

// recordBounce is RecordBounce's transaction.
func (e *Engine) recordBounce(tx store.Tx, p *config.Project, b *Bounce, res *Result, handled *bool) error {
	m := b.Mail
	if b.Secret == "" {
		return nil
	}
	tok, err := tx.Token(b.Secret)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if tok.Kind != store.TokenBounce || tok.Project != p.Key || !tok.Valid(e.now()) {
		return nil
	}
	ref, dup, err := tx.Duplicate(p.Key, m.MessageID, m.Raw)
	if err != nil {
		return err
	}
	if dup {
		res.Duplicate, res.Ticket, res.Message, *handled = true, ref.Ticket, ref.Message, true
		return nil
	}
	t, err := tx.Ticket(tok.Ticket)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	summary := b.Summary(tok.Recipient)
	msg := &store.Message{
		Ticket: t.Key, Project: p.Key, Direction: "in", Kind: "bounce", Internal: true,
		Source: m.Source, MailFrom: m.MailFrom, From: m.From, FromName: m.FromName, To: m.To,
		Subject: m.Subject, MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		Date: m.Date, Received: now, Text: summary + "\n\n" + m.Text, Attach: m.Attach,
		Raw: m.Raw, RawSize: m.RawSize, ThreadedBy: ByBounce, Auto: "delivery status notification", Problems: m.Problems,
	}
	if err := tx.AddMessage(msg); err != nil {
		return err
	}
	if err := tx.IndexMessageID(p.Key, m.MessageID, m.Raw, store.MessageRef{Ticket: t.Key, Message: msg.ID}); err != nil {
		return err
	}
	t.Messages++
	t.Updated = now
	if err := e.putTicket(tx, p, t, now); err != nil {
		return err
	}
	res.Ticket, res.Message, res.ThreadedBy, *handled = t.Key, msg.ID, ByBounce, true
	event := tok.Event
	if event == "" {
		event = "mail"
	}
	item := &store.OutboxItem{Ticket: t.Key, Project: p.Key, Recipient: tok.Recipient, MessageID: tok.MessageID, Event: event}
	if !b.Failed {
		// Only delayed: the next hop keeps trying.
		return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvDeliveryDelayed, Message: msg.ID,
			MessageID: item.MessageID, Recipient: tok.Recipient, Reason: summary})
	}
	reason := "bounced: " + summary
	if b.Permanent && p.IsStaff(tok.Recipient) {
		// A forged or mistaken report must not cut the agents off.
		reason = fmt.Sprintf("bounced: %s; %s is staff and stays unsuppressed", summary, tok.Recipient)
	} else if b.Permanent {
		if err := tx.Suppress(&store.Suppression{Address: tok.Recipient, Until: now.Add(time.Duration(b.SuppressDays) * 24 * time.Hour),
			Reason: summary, Ticket: t.Key, Created: now}); err != nil {
			return err
		}
		reason = fmt.Sprintf("bounced: %s; %s suppressed for %d days", summary, tok.Recipient, b.SuppressDays)
	}
	return e.deliveryFailed(tx, item, reason, msg.ID)
}
