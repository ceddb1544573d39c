package ticket

import (
	"context"
	"strings"

	"github.com/ticketgate/ticketgate/store"
)

// PGPUndecryptable records on ticketKey that its message msg came in
// OpenPGP-encrypted and could not be decrypted (reason, for the agents),
// and tells sender so (issue 19). res is the stored mail's Result (its
// ticket and message); the events written are added to it.
func (e *Engine) PGPUndecryptable(ctx context.Context, res *Result, sender, reason string) error {
	ticketKey, msg := res.Ticket, res.Message
	return e.updateFor(ctx, res, func(tx store.Tx) error {
		t, err := tx.Ticket(ticketKey)
		if err != nil {
			return err
		}
		now := e.now().UTC()
		if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvPGPUndecryptable, Message: msg, Reason: reason}); err != nil {
			return err
		}
		p := e.cfg().Project(t.Project)
		if p == nil || sender == "" {
			return nil
		}
		_, err = e.notifyIn(tx, &Event{Type: store.EvPGPUndecryptable, Project: p, Ticket: t, Recipients: []string{sender}, Detail: reason}, now)
		return err
	})
}

// PGPKeyChanged notes on every ticket of project that address reported or
// follows that their verified OpenPGP key changed from old to new
// (fingerprints), and tells them once, on the newest of those tickets
// (the sender encrypts that notice to the old key as well). When a mail
// showed the new key, res is its Result and the events written are added
// to it (nil otherwise).
func (e *Engine) PGPKeyChanged(ctx context.Context, res *Result, project, address, old, new string) error {
	address = strings.ToLower(address)
	return e.updateFor(ctx, res, func(tx store.Tx) error {
		p := e.cfg().Project(project)
		if p == nil {
			return nil
		}
		now := e.now().UTC()
		reason := old + " → " + new
		var newest *store.Ticket
		var ferr error
		err := tx.ForEachTicket(project, func(t *store.Ticket) bool {
			if !customerOf(t, address) {
				return true
			}
			if ferr = record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvPGPKeyChanged, Addresses: []string{address}, Reason: reason}); ferr != nil {
				return false
			}
			if newest == nil || t.Created.After(newest.Created) {
				newest = t
			}
			return true
		})
		if err != nil {
			return err
		}
		if ferr != nil || newest == nil {
			return ferr
		}
		_, err = e.notifyIn(tx, &Event{Type: store.EvPGPKeyChanged, Project: p, Ticket: newest, Recipients: []string{address}, Detail: reason}, now)
		return err
	})
}

func customerOf(t *store.Ticket, address string) bool {
	if strings.EqualFold(t.Reporter, address) {
		return true
	}
	for _, pa := range t.Participants {
		if strings.EqualFold(pa.Address, address) {
			return true
		}
	}
	return false
}
