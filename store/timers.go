package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Clock is one response target of a ticket, counted in business time
// (issue 21): the first response or the resolution. The domain (package
// ticket) runs it; the store keeps it on the ticket.
type Clock struct {
	// Budget is the business time the target allows (0: measured, no
	// target). Used is the business time counted before Since.
	Budget time.Duration `json:"budget,omitempty"`
	Used   time.Duration `json:"used,omitempty"`
	// Since is when the clock last started running; zero while it is
	// paused (the ticket waits for the customer) or stopped (Done).
	Since time.Time `json:"since,omitzero"`
	// Warn and Due are the instants of the warning and of the breach
	// while the clock runs (zero when paused, stopped or without budget).
	Warn time.Time `json:"warn,omitzero"`
	Due  time.Time `json:"due,omitzero"`
	// Warned and Breached are when the warning and the breach were
	// announced (each once).
	Warned   time.Time `json:"warned,omitzero"`
	Breached time.Time `json:"breached,omitzero"`
	// Done is when the target was reached; Took the business time it
	// took.
	Done time.Time     `json:"done,omitzero"`
	Took time.Duration `json:"took,omitempty"`
	// Manual: an agent set the due time (#due).
	Manual bool `json:"manual,omitempty"`
}

// Met reports whether a reached target was reached in time.
func (c *Clock) Met() bool {
	return c != nil && !c.Done.IsZero() && c.Breached.IsZero() && (c.Budget == 0 || c.Took <= c.Budget)
}

// TimerTx finds tickets by time without reading every ticket (issue 21):
// the store indexes each ticket's Wake and Resolved, deriving the index
// from the row it stores (PutTicket), so index and rows cannot disagree.
type TimerTx interface {
	// DueTickets returns the keys of up to max tickets whose Wake is at
	// or before now, earliest first, and the earliest Wake after those
	// (zero if none).
	DueTickets(now time.Time, max int) ([]string, time.Time, error)
	// ResolvedBefore calls fn with the key and resolution time of each
	// ticket resolved at or before t (Resolved set), oldest first, until
	// fn returns false.
	ResolvedBefore(t time.Time, fn func(key string, resolved time.Time) bool) error
}

// Timer index kinds: the first byte of a ticket_timers key.
const (
	timerWake     = 'w'
	timerResolved = 'r'
)

// timerKey is kind be64(unix nanos) ticket-key.
func timerKey(kind byte, at time.Time, ticket string) []byte {
	k := make([]byte, 0, 9+len(ticket))
	k = append(k, kind)
	k = append(k, putU64(uint64(at.UnixNano()))...)
	return append(k, ticket...)
}

func timerKeys(t *Ticket) [][]byte {
	var out [][]byte
	if !t.Wake.IsZero() {
		out = append(out, timerKey(timerWake, t.Wake, t.Key))
	}
	if !t.Resolved.IsZero() {
		out = append(out, timerKey(timerResolved, t.Resolved, t.Key))
	}
	return out
}

// indexTimers moves t's index entries from what the stored row old (nil:
// none) had to what t has.
func (tx *boltTx) indexTimers(old []byte, t *Ticket) error {
	b := tx.btx.Bucket(bTicketTimers)
	if old != nil {
		var o Ticket
		if err := json.Unmarshal(old, &o); err != nil {
			return fmt.Errorf("store: decode ticket %s before re-indexing: %w", t.Key, err)
		}
		for _, k := range timerKeys(&o) {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range timerKeys(t) {
		if err := b.Put(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// DueTickets implements TimerTx.
func (tx *boltTx) DueTickets(now time.Time, max int) ([]string, time.Time, error) {
	c := tx.btx.Bucket(bTicketTimers).Cursor()
	limit := timerKey(timerWake, now, "\xff")
	var out []string
	for k, _ := c.Seek([]byte{timerWake}); k != nil && k[0] == timerWake; k, _ = c.Next() {
		if len(k) < 9 {
			return nil, time.Time{}, fmt.Errorf("store: malformed ticket_timers key %x", k)
		}
		if bytes.Compare(k, limit) > 0 || len(out) >= max {
			return out, time.Unix(0, int64(getU64(k[1:9]))).UTC(), nil
		}
		out = append(out, string(k[9:]))
	}
	return out, time.Time{}, nil
}

// ResolvedBefore implements TimerTx.
func (tx *boltTx) ResolvedBefore(t time.Time, fn func(string, time.Time) bool) error {
	c := tx.btx.Bucket(bTicketTimers).Cursor()
	for k, _ := c.Seek([]byte{timerResolved}); k != nil && k[0] == timerResolved; k, _ = c.Next() {
		if len(k) < 9 {
			return fmt.Errorf("store: malformed ticket_timers key %x", k)
		}
		at := time.Unix(0, int64(getU64(k[1:9]))).UTC()
		if at.After(t) || !fn(string(k[9:]), at) {
			return nil
		}
	}
	return nil
}

// migrateTimerIndex indexes the resolution time of every ticket (schema 4
// → 5): auto-close finds resolved tickets through the index; and writes
// every ticket's report facts (facts.go).
func migrateTimerIndex(tx *boltTx, _ time.Time) error {
	b := tx.btx.Bucket(bTicketTimers)
	return tx.btx.Bucket(bTickets).ForEach(func(k, v []byte) error {
		var t Ticket
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("store: decode ticket %x: %w", k, err)
		}
		for _, key := range timerKeys(&t) {
			if err := b.Put(key, nil); err != nil {
				return err
			}
		}
		return tx.indexFacts(&t)
	})
}
