package ticket

import (
	"time"

	"github.com/ticketgate/ticketgate/msgid"
	"github.com/ticketgate/ticketgate/store"
)

// SystemActor is the actor of what the daemon does by itself (delivery,
// auto-close, held mail).
const SystemActor = "ticketgate"

// record writes one typed event into t's history in tx. Every history
// event is written here, by the domain, in the transaction of the change
// it records.
func record(tx store.Tx, e *store.Event) error {
	if e.Actor == "" {
		e.Actor = SystemActor
	}
	e.Time = e.Time.UTC()
	if e.MessageID != "" {
		e.MessageID = msgid.Canonical(e.MessageID)
	}
	return tx.AddEvent(e)
}

// notifyIn hands ev to the notifier inside tx, with a Record that writes
// what the notifier did on ev's ticket. It returns how many mails were
// queued (0 without a notifier).
func (e *Engine) notifyIn(tx store.Tx, ev *Event, now time.Time) (int, error) {
	if err := e.pushIn(tx, ev, now); err != nil {
		return 0, err
	}
	if e.notify == nil || ev.HooksOnly {
		return 0, nil
	}
	key := ev.Ticket.Key
	ev.Record = func(se *store.Event) error {
		se.Ticket, se.Time = key, now
		return record(tx, se)
	}
	return e.notify.Notify(tx, ev)
}

// messageEvent is the history event of a stored inbound mail: its kind
// (EvCommands for a mail of commands only), the threading rule and why it
// answers nobody or was held, each in its own field.
func messageEvent(key string, kind store.EventKind, author string, msg *store.Message, m *Mail, follows string, reopenDays int, now time.Time) *store.Event {
	if kind == noEvent {
		kind = store.EvCommands
	}
	ev := &store.Event{Ticket: key, Time: now, Kind: kind, Actor: author, Message: msg.ID, Rule: msg.ThreadedBy,
		Automatic: m.Verdict.Auto, Loop: m.Verdict.Loop, Held: msg.Held, Unverified: msg.Unverified}
	if follows != "" {
		ev.Other, ev.Days = follows, reopenDays
	}
	return ev
}
