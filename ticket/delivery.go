package ticket

import (
	"context"
	"fmt"
	"strings"

	"github.com/ticketgate/ticketgate/store"
)

// DeliveryFailed records on its ticket that an outbound message could not
// be delivered (given up, or bounced) and tells the agents, inside tx. A
// failed notification about a failure tells nobody: that way a dead agent
// address cannot start a loop.
func (e *Engine) DeliveryFailed(tx store.Tx, item *store.OutboxItem, reason string) error {
	if item.Ticket == "" {
		return nil
	}
	t, err := tx.Ticket(item.Ticket)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	detail := fmt.Sprintf("%s to %s (%s): %s", item.Event, item.Recipient, item.MessageID, reason)
	if err := tx.AddEvent(&store.Event{Ticket: t.Key, Time: now, Type: EvDeliveryFailed, Actor: "ticketgate", Detail: detail}); err != nil {
		return err
	}
	if e.notify == nil || strings.HasSuffix(item.Event, "/"+EvDeliveryFailed) {
		return nil
	}
	p := e.cfg().Project(t.Project)
	if p == nil {
		return nil
	}
	_, err = e.notify.Notify(tx, &Event{Type: EvDeliveryFailed, Project: p, Ticket: t, Actor: "", Recipients: []string{item.Recipient}, Detail: detail})
	return err
}

// MessageRefused tells the sender of mail we stored but refused (too
// large, too many attachments …) why, where no SMTP reply could (IMAP
// ingestion). Automatic senders are never told, and the notice counts
// against the automatic-mail rate limits like any auto-reply.
func (e *Engine) MessageRefused(ctx context.Context, ticketKey, sender, reason string) error {
	if sender == "" || e.notify == nil {
		return nil
	}
	return e.store.Update(ctx, func(tx store.Tx) error {
		t, err := tx.Ticket(ticketKey)
		if err != nil {
			return err
		}
		p := e.cfg().Project(t.Project)
		if p == nil {
			return nil
		}
		_, err = e.notify.Notify(tx, &Event{Type: EvMessageRefused, Project: p, Ticket: t, Recipients: []string{sender}, Detail: reason})
		return err
	})
}
