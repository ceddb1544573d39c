package ticket

import (
	"context"

	"github.com/ticketgate/ticketgate/store"
)

// ByBounce is the threading rule of a delivery report filed on the ticket
// of the mail it reports on (RecordBounce).
const ByBounce = "bounce"

// eventTap is the transaction an inbound change runs in: it passes
// everything through and keeps the history events written, so the Result
// can hand them to the audit trail (what the mail caused) without anyone
// reading the ticket's history back.
type eventTap struct {
	store.Tx
	events []store.Event
}

// AddEvent writes e and keeps a copy of it as stored (Seq set).
func (t *eventTap) AddEvent(e *store.Event) error {
	if err := t.Tx.AddEvent(e); err != nil {
		return err
	}
	t.events = append(t.events, *e)
	return nil
}

// tapped runs fn on tx through a tap and appends the events it wrote to
// res (nil: nothing is kept). fn may run more than once (the store's
// rule): only the events of the run that returned are kept.
func tapped(tx store.Tx, res *Result, fn func(tx store.Tx) error) error {
	if res == nil {
		return fn(tx)
	}
	tap := &eventTap{Tx: tx}
	if err := fn(tap); err != nil {
		return err
	}
	res.Events = append(res.Events, tap.events...)
	return nil
}

// updateFor runs fn in one store Update, as a follow-up of the mail whose
// Result res is (nil: of none): once committed, the events fn wrote are
// added to res.Events.
func (e *Engine) updateFor(ctx context.Context, res *Result, fn func(tx store.Tx) error) error {
	var got *Result
	err := e.store.Update(ctx, func(tx store.Tx) error {
		got = &Result{} // the store may run this more than once
		return tapped(tx, got, fn)
	})
	if err == nil && res != nil {
		res.Events = append(res.Events, got.Events...)
	}
	return err
}

// Caused returns the events a stored inbound message caused, from the
// events written by the change that stored it and by the follow-ups of
// the same mail (Result.Events), on its ticket: for a delivery report
// its delivery failure; otherwise the outbound mail queued
// (store.EvQueued) and held back (EvSuppressed, EvRateLimited) after the
// message's own event, up to the next message's.
func (r *Result) Caused() []*store.Event {
	if r == nil || r.Message == 0 {
		return nil
	}
	var evs []*store.Event
	for i := range r.Events {
		if r.Events[i].Ticket == r.Ticket {
			evs = append(evs, &r.Events[i])
		}
	}
	if r.ThreadedBy == ByBounce {
		for i := len(evs) - 1; i >= 0; i-- {
			if e := evs[i]; e.Kind == store.EvDeliveryFailed && e.Message == r.Message && e.MessageID != "" {
				return []*store.Event{e}
			}
		}
		return nil
	}
	start := -1
	for i, e := range evs {
		if e.Message == r.Message {
			start = i
			break
		}
	}
	if start < 0 {
		return nil
	}
	var out []*store.Event
	for _, e := range evs[start+1:] {
		if e.Message != 0 && e.Message != r.Message {
			break
		}
		switch e.Kind {
		case store.EvQueued, store.EvSuppressed, store.EvRateLimited:
			out = append(out, e)
		}
	}
	return out
}
