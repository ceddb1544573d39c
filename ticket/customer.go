package ticket

import (
	"context"
	"slices"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// customerChange runs fn on the ticket of a link token, as the link's
// recipient, in one transaction: the token is checked again inside it
// (the page resolved it in an earlier read), so a link revoked or expired
// meanwhile changes nothing.
func (e *Engine) customerChange(ctx context.Context, token string, fn func(tx store.Tx, p *config.Project, t *store.Ticket, tok *store.Token, emit func(*Event) error) error) (int, error) {
	queued := 0
	err := e.store.Update(ctx, func(tx store.Tx) error {
		queued = 0
		now := e.now().UTC()
		tok, err := tx.Token(token)
		if err != nil {
			return err
		}
		if tok.Kind != store.TokenLink || !tok.Valid(now) {
			return refused("the link is not valid for changes")
		}
		t, err := tx.Ticket(tok.Ticket)
		if err != nil {
			return err
		}
		if t.Project != tok.Project {
			return refused("the link does not belong to %s", t.Key)
		}
		p := e.cfg().Project(t.Project)
		if p == nil {
			return refused("project %s is not configured any more", t.Project)
		}
		emit := func(ev *Event) error {
			ev.Project, ev.Ticket, ev.Actor = p, t, tok.Recipient
			n, err := e.notifyIn(tx, ev, now)
			queued += n
			return err
		}
		return fn(tx, p, t, tok, emit)
	})
	if err == nil && queued > 0 && e.Queued != nil {
		e.Queued()
	}
	return queued, err
}

// CustomerMayClose reports whether a customer closing a request in status
// would change it: not when it is already resolved, closed or cancelled
// (by category, so renamed statuses work).
func CustomerMayClose(p *config.Project, status string) bool {
	return !isDone(p, status)
}

// CustomerClose closes a request at its customer's wish (the ticket page's
// button): it moves to the project's first closed-category status — named
// whatever the project calls it — and the change is announced like any.
func (e *Engine) CustomerClose(ctx context.Context, token string) (int, error) {
	return e.customerChange(ctx, token, func(tx store.Tx, p *config.Project, t *store.Ticket, tok *store.Token, emit func(*Event) error) error {
		if isFinal(p, t.Status) {
			return nil
		}
		now := e.now().UTC()
		if err := setStatusFrom(tx, p, t, firstOf(p, CatClosed), tok.Recipient, "web", now, emit); err != nil {
			return err
		}
		t.Updated = now
		return e.putTicket(tx, p, t, now)
	})
}

// Mute stops mail about a ticket to a link's recipient, except its
// resolution (the List-Unsubscribe one-click of every customer mail).
func (e *Engine) Mute(ctx context.Context, token string) error {
	_, err := e.customerChange(ctx, token, func(tx store.Tx, p *config.Project, t *store.Ticket, tok *store.Token, emit func(*Event) error) error {
		if slices.Contains(t.Muted, tok.Recipient) {
			return nil
		}
		t.Muted = append(t.Muted, tok.Recipient)
		if err := e.putTicket(tx, p, t, e.now().UTC()); err != nil {
			return err
		}
		return record(tx, &store.Event{Ticket: t.Key, Time: e.now(), Kind: store.EvMuted, Actor: tok.Recipient, Source: "web", Addresses: []string{tok.Recipient}})
	})
	return err
}
