package store

import (
	"encoding/binary"
	"fmt"
)

// A node's full-text index of tickets (package search) is fed from the
// history: every event names its ticket, and events are numbered in the
// order they were stored (Event.Seq, one sequence for the whole store).
// The index reads the events after the last one it covered, re-indexes
// their tickets and records how far it got (its cursor, per node: each
// node keeps its own index). Throwing the index away and rebuilding it
// from the tickets is always possible.

// EventRef names one stored event: its number and its ticket.
type EventRef struct {
	Seq    uint64
	Ticket string
}

// SearchTx is what a search index needs from the store.
type SearchTx interface {
	// EventsAfter lists up to max events numbered above after, in order.
	// On bbolt it knows only events stored since this code (older ones
	// are covered by the index's first full build), and leaves out the
	// events whose kind is SearchQuiet.
	EventsAfter(after uint64, max int) ([]EventRef, error)
	// LastEventSeq is the number of the newest stored event (0: none).
	LastEventSeq() (uint64, error)
	// SearchCursor is the last event node's index covered; false when
	// that node never built one.
	SearchCursor(node string) (uint64, bool, error)
	SetSearchCursor(node string, seq uint64) error
}

var (
	bEventLog     = []byte("event_log")     // be64(event seq) → ticket key (created on first use)
	bSearchCursor = []byte("search_cursor") // node → be64(event seq) (created on first use)
)

// SearchQuiet reports whether an event of kind k leaves everything a
// search index holds of its ticket (subject, messages, addresses) as it
// was: mail and webhooks queued, delivered or held back, warnings and
// offers that change nothing on the ticket. A store may leave such events
// out of the search feed (bbolt does), so that delivering a ticket's
// notifications does not index it again.
func (k EventKind) SearchQuiet() bool {
	switch k {
	case EvQueued, EvSuppressed, EvRateLimited, EvDelivered, EvDeliveryFailed, EvDeliveryDelayed,
		EvOutboxRequeued, EvOutboxDropped, EvWebhookQueued, EvWebhookDelivered, EvWebhookFailed,
		EvTargetWarning, EvTargetBreached, EvAutoCloseReminder,
		EvOffered, EvOfferPassed, EvOfferTimedOut, EvOfferUnanswered, EvRatingLow:
		return true
	}
	return false
}

// logEvent records e in the event order the search indexes follow,
// unless it is quiet for them.
func (tx *boltTx) logEvent(e *Event) error {
	if e.Kind.SearchQuiet() {
		return nil
	}
	b, err := tx.deskBucket(bEventLog)
	if err != nil {
		return err
	}
	return b.Put(putU64(e.Seq), []byte(e.Ticket))
}

// EventsAfter lists up to max events numbered above after.
func (tx *boltTx) EventsAfter(after uint64, max int) ([]EventRef, error) {
	b := tx.btx.Bucket(bEventLog)
	if b == nil {
		return nil, nil
	}
	var out []EventRef
	c := b.Cursor()
	for k, v := c.Seek(putU64(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
		if len(k) != 8 {
			return nil, fmt.Errorf("store: event log key of %d bytes", len(k))
		}
		out = append(out, EventRef{Seq: binary.BigEndian.Uint64(k), Ticket: string(v)})
	}
	return out, nil
}

// LastEventSeq is the newest event's number.
func (tx *boltTx) LastEventSeq() (uint64, error) {
	return tx.btx.Bucket(bEvents).Sequence(), nil
}

// SearchCursor reads node's cursor.
func (tx *boltTx) SearchCursor(node string) (uint64, bool, error) {
	b := tx.btx.Bucket(bSearchCursor)
	if b == nil {
		return 0, false, nil
	}
	v := b.Get([]byte(node))
	if v == nil {
		return 0, false, nil
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("store: search cursor of %s has %d bytes", node, len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// SetSearchCursor writes node's cursor.
func (tx *boltTx) SetSearchCursor(node string, seq uint64) error {
	b, err := tx.deskBucket(bSearchCursor)
	if err != nil {
		return err
	}
	if b == nil {
		return errReadOnlyDesk
	}
	return b.Put([]byte(node), putU64(seq))
}
