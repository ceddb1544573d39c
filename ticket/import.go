package ticket

import (
	"fmt"

	"github.com/ticketgate/ticketgate/store"
)

// Imported is one message of a ticket written by Import, with the history
// event that records it.
type Imported struct {
	Message *store.Message
	// Hash is the content hash the duplicate check knows it by (inbound
	// mail); "" for a message we sent.
	Hash string
	// Event is the kind of its history event; Actor who caused it.
	Event store.EventKind
	Actor string
}

// Import writes a whole ticket as given, for offline loads with the
// daemon stopped (ticketgate-bench's preload): it allocates the ticket's
// number (which must be t.Number), stores the messages with their
// Message-ID index entries and one history event each, indexes the
// outbound ids we minted, and appends the extra events (a delivery …).
// Nothing is notified and no rule is applied: the caller vouches for the
// records, as the engine does for mail.
func Import(tx store.Tx, t *store.Ticket, msgs []Imported, outbound []string, extra []*store.Event) error {
	n, err := tx.NextTicketNumber(t.Project)
	if err != nil {
		return err
	}
	if n != t.Number {
		return fmt.Errorf("ticket: import %s: the next number of %s is %d", t.Key, t.Project, n)
	}
	for _, im := range msgs {
		m := im.Message
		m.Ticket, m.Project = t.Key, t.Project
		if err := tx.AddMessage(m); err != nil {
			return err
		}
		ref := store.MessageRef{Ticket: t.Key, Message: m.ID, Outbound: m.Direction == "out" && im.Hash == ""}
		if err := tx.IndexMessageID(t.Project, m.MessageID, im.Hash, ref); err != nil {
			return err
		}
		if err := record(tx, &store.Event{Ticket: t.Key, Time: m.Received, Kind: im.Event, Actor: im.Actor, Message: m.ID, Rule: m.ThreadedBy}); err != nil {
			return err
		}
	}
	for _, id := range outbound {
		if err := tx.IndexMessageID(t.Project, id, "", store.MessageRef{Ticket: t.Key, Outbound: true}); err != nil {
			return err
		}
	}
	for _, e := range extra {
		e.Ticket = t.Key
		if err := record(tx, e); err != nil {
			return err
		}
	}
	return tx.PutTicket(t)
}
