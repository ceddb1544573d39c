package ticket

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// Issue 22: held mail — a stranger's mail, an agent's mail nothing
// proves, a customer's mail to the internal address, an agent's reply
// quoting an internal note — is stored as an internal note that names why
// (store.Message.Held). An agent publishes it to the customers or discards
// it: by mail with "#held publish 12" / "#held discard 12", with the CLI's
// `ticketgate held publish|discard ACME-1 12`, or with the desk's buttons.
// All three run heldCommand, so they write the same events and queue the
// same mail.

// PublishHeld sends held message id of ticket key to the customers, as
// actor: the same as "#held publish <id>" by mail.
func (e *Engine) PublishHeld(ctx context.Context, key string, id uint64, actor string) (int, error) {
	return e.Command(ctx, key, actor, "held", []string{"publish", strconv.FormatUint(id, 10)})
}

// DiscardHeld keeps held message id of ticket key from everybody for
// good, as actor: the same as "#held discard <id>" by mail.
func (e *Engine) DiscardHeld(ctx context.Context, key string, id uint64, actor string) (int, error) {
	return e.Command(ctx, key, actor, "held", []string{"discard", strconv.FormatUint(id, 10)})
}

// heldCommand runs "#held publish|discard <message id>" (agents only: the
// caller checked).
func (e *Engine) heldCommand(tx store.Tx, p *config.Project, t *store.Ticket, c decide.Command, cc commandContext) error {
	const usage = "use #held publish <message number> or #held discard <message number>"
	if len(c.Args) != 2 {
		return refused(usage)
	}
	id, err := strconv.ParseUint(strings.TrimPrefix(c.Args[1], "#"), 10, 64)
	if err != nil {
		return refused(usage)
	}
	m, err := heldMessage(tx, t, id)
	if err != nil {
		return err
	}
	switch strings.ToLower(c.Args[0]) {
	case "publish":
		return e.publishHeld(tx, p, t, m, cc.author, cc.now, cc.emit)
	case "discard":
		return discardHeld(tx, t, m, cc.author, cc.now)
	}
	return refused(usage)
}

// heldMessage reads message id of t, which must be held and not yet
// discarded.
func heldMessage(tx store.Tx, t *store.Ticket, id uint64) (*store.Message, error) {
	m, err := tx.Message(id)
	if errors.Is(err, store.ErrNotFound) || err == nil && m.Ticket != t.Key {
		return nil, refused("%s has no message %d", t.Key, id)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case m.Discarded:
		return nil, refused("message %d of %s was discarded", id, t.Key)
	case m.Held == "":
		return nil, refused("message %d of %s is not held", id, t.Key)
	}
	return m, nil
}

// publishHeld turns held message m into the public comment it would have
// been: an agent's answer goes to every customer and leaves the ticket
// waiting for them; a customer's comment goes to the customers the relay
// rules choose (the agent vouches for its sender, so it is not held again
// for being unverified; the relay budgets still count). The staff saw it
// when it came in, so only customers are mailed. Whoever got the mail
// directly (its To/Cc) gets no copy.
func (e *Engine) publishHeld(tx store.Tx, p *config.Project, t *store.Ticket, m *store.Message, actor string, now time.Time, emit func(*Event) error) error {
	if t.Internal() {
		return refused("%s is an internal ticket: publish the ticket first (#publish)", t.Key)
	}
	why := m.Held
	author := strings.ToLower(m.From)
	m.Held, m.Internal, m.Kind = "", false, "comment"
	if err := tx.PutMessage(m); err != nil {
		return err
	}
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvHeldPublished, Actor: actor, Message: m.ID,
		Addresses: []string{author}, Reason: why}); err != nil {
		return err
	}
	already := append(append([]string(nil), m.To...), m.Cc...)
	if p.IsStaff(author) {
		e.answered(p, t, now)
		if err := emit(&Event{Type: EvAgentCommentAdded, Message: m, Already: already, CustomerOnly: true}); err != nil {
			return err
		}
		if isDone(p, t.Status) {
			return nil
		}
		return setStatus(tx, p, t, firstOf(p, CatPending), actor, now, implied(emit))
	}
	vouched := *m
	vouched.Unverified = false
	r, err := relayComment(tx, e.cfg(), p, t, &vouched, author, already, now)
	if err != nil {
		return err
	}
	ev := &Event{Type: EvCustomerCommentAdded, Message: m, Already: already, CustomerOnly: true, RelayLimited: true, Relay: r.to}
	if err := recordRelay(tx, t, &vouched, author, r, now, ev); err != nil {
		return err
	}
	return emit(ev)
}

// discardHeld keeps m from everybody for good: it stays on the ticket as
// an internal note (nothing is lost) marked discarded, and the event
// names who discarded it.
func discardHeld(tx store.Tx, t *store.Ticket, m *store.Message, actor string, now time.Time) error {
	m.Discarded = true
	if err := tx.PutMessage(m); err != nil {
		return err
	}
	return record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: store.EvHeldDiscarded, Actor: actor, Message: m.ID,
		Addresses: []string{strings.ToLower(m.From)}, Reason: m.Held})
}
