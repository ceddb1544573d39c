package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// TicketFacts is what reports read of a ticket (issue 21): its times, its
// people and its response-target clocks, without subject, participants or
// anything else bulky. The store derives it from the ticket it stores
// (PutTicket) and keeps it ordered by the ticket's last change, so a
// report over a period reads only the tickets changed since its start.
// bbolt stores it in a compact binary form (MarshalBinary); PostgreSQL as
// JSON, whose names are the ticket's own (its migration writes the facts
// of existing tickets from their JSON). Of the clocks, the facts keep
// Budget, Used, Took, Done, Breached and Warned.
type TicketFacts struct {
	Key           string    `json:"key"`
	Project       string    `json:"project"`
	Status        string    `json:"status,omitempty"`
	Priority      string    `json:"priority,omitempty"`
	Assignee      string    `json:"assignee,omitempty"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated,omitzero"`
	Resolved      time.Time `json:"resolved,omitzero"`
	Closed        time.Time `json:"closed,omitzero"`
	FirstResponse *Clock    `json:"first_response,omitempty"`
	Resolution    *Clock    `json:"resolution,omitempty"`
	Reopens       int       `json:"reopens,omitempty"`
	LastReopened  time.Time `json:"last_reopened,omitzero"`
	MergedInto    string    `json:"merged_into,omitempty"`
}

// FactsOf is the facts record of t.
func FactsOf(t *Ticket) *TicketFacts {
	return &TicketFacts{Key: t.Key, Project: t.Project, Status: t.Status, Priority: t.Priority, Assignee: t.Assignee,
		Created: t.Created, Updated: t.Updated, Resolved: t.Resolved, Closed: t.Closed,
		FirstResponse: t.FirstResponse, Resolution: t.Resolution, Reopens: t.Reopens, LastReopened: t.LastReopened, MergedInto: t.MergedInto}
}

// Changed is when the ticket last changed — the latest of its times, the
// timers' announcements included — the order of the facts index (never
// before 1970: an unset time sorts first).
func (f *TicketFacts) Changed() time.Time {
	at := epoch
	for _, t := range []time.Time{f.Created, f.Updated, f.Resolved, f.Closed, f.LastReopened} {
		if t.After(at) {
			at = t
		}
	}
	for _, c := range []*Clock{f.FirstResponse, f.Resolution} {
		if c == nil {
			continue
		}
		for _, t := range []time.Time{c.Done, c.Breached, c.Warned} {
			if t.After(at) {
				at = t
			}
		}
	}
	return at
}

var epoch = time.Unix(0, 0).UTC()

// FactsTx reads the facts of tickets by their last change (issue 21).
type FactsTx interface {
	// FactsSince calls fn with the facts of every ticket of project ("":
	// all) that changed at or after since, until fn returns false. A
	// record that does not decode is an error.
	FactsSince(project string, since time.Time, fn func(*TicketFacts) bool) error
}

// The ticket_facts bucket holds two kinds of keys:
//
//	'c' be64(changed unix nanos) ticket-key → TicketFacts (JSON)
//	'k' ticket-key → be64(changed unix nanos), to find a ticket's entry
func factsKey(changed time.Time, ticket string) []byte {
	k := append([]byte{'c'}, putU64(uint64(changed.UnixNano()))...)
	return append(k, ticket...)
}

func (tx *boltTx) indexFacts(t *Ticket) error {
	b := tx.btx.Bucket(bTicketFacts)
	rev := append([]byte{'k'}, t.Key...)
	if old := tx.lookup(b, rev); old != nil {
		if len(old) != 8 {
			return fmt.Errorf("store: ticket_facts %s: malformed entry", t.Key)
		}
		if err := b.Delete(append(append([]byte{'c'}, old...), t.Key...)); err != nil {
			return err
		}
	}
	f := FactsOf(t)
	data, err := f.MarshalBinary()
	if err != nil {
		return fmt.Errorf("store: encode ticket facts: %w", err)
	}
	changed := f.Changed()
	if err := b.Put(factsKey(changed, t.Key), data); err != nil {
		return err
	}
	return b.Put(rev, putU64(uint64(changed.UnixNano())))
}

// FactsSince implements FactsTx.
func (tx *boltTx) FactsSince(project string, since time.Time, fn func(*TicketFacts) bool) error {
	c := tx.btx.Bucket(bTicketFacts).Cursor()
	start := []byte{'c'}
	if !since.IsZero() && since.UnixNano() > 0 {
		start = factsKey(since, "")
	}
	for k, v := c.Seek(start); k != nil && k[0] == 'c'; k, v = c.Next() {
		var f TicketFacts
		if err := f.UnmarshalBinary(v); err != nil {
			return fmt.Errorf("store: decode ticket facts %x: %w", k, err)
		}
		if project != "" && f.Project != project {
			continue
		}
		if !fn(&f) {
			return nil
		}
	}
	return nil
}

// factsVersion is the first byte of a facts record in bbolt. The record
// is binary, not JSON: reports decode every record of their period, and
// JSON's time parsing made that 13 µs a ticket (1.4 s for 100,000).
const factsVersion = 1

// MarshalBinary encodes the facts a report reads: the strings, the times
// and, of each clock, Budget, Used, Took, Done, Breached and Warned.
func (f *TicketFacts) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 160)
	b = append(b, factsVersion)
	for _, s := range []string{f.Key, f.Project, f.Status, f.Priority, f.Assignee, f.MergedInto} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, t := range []time.Time{f.Created, f.Updated, f.Resolved, f.Closed, f.LastReopened} {
		b = binary.AppendVarint(b, nanos(t))
	}
	b = binary.AppendUvarint(b, uint64(f.Reopens))
	for _, c := range []*Clock{f.FirstResponse, f.Resolution} {
		if c == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		for _, v := range []int64{int64(c.Budget), int64(c.Used), int64(c.Took), nanos(c.Done), nanos(c.Breached), nanos(c.Warned)} {
			b = binary.AppendVarint(b, v)
		}
	}
	return b, nil
}

// errFacts is a facts record that does not decode.
var errFacts = errors.New("store: malformed ticket facts record")

// UnmarshalBinary decodes what MarshalBinary wrote; anything else is an
// error.
func (f *TicketFacts) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != factsVersion {
		return errFacts
	}
	b = b[1:]
	*f = TicketFacts{}
	for _, s := range []*string{&f.Key, &f.Project, &f.Status, &f.Priority, &f.Assignee, &f.MergedInto} {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errFacts
		}
		*s, b = string(b[k:k+int(n)]), b[k+int(n):]
	}
	varint := func() (int64, bool) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	for _, t := range []*time.Time{&f.Created, &f.Updated, &f.Resolved, &f.Closed, &f.LastReopened} {
		v, ok := varint()
		if !ok {
			return errFacts
		}
		*t = fromNanos(v)
	}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return errFacts
	}
	f.Reopens, b = int(n), b[k:]
	for _, c := range []**Clock{&f.FirstResponse, &f.Resolution} {
		if len(b) == 0 {
			return errFacts
		}
		present := b[0]
		b = b[1:]
		if present == 0 {
			continue
		}
		var v [6]int64
		for i := range v {
			var ok bool
			if v[i], ok = varint(); !ok {
				return errFacts
			}
		}
		*c = &Clock{Budget: time.Duration(v[0]), Used: time.Duration(v[1]), Took: time.Duration(v[2]),
			Done: fromNanos(v[3]), Breached: fromNanos(v[4]), Warned: fromNanos(v[5])}
	}
	if len(b) != 0 {
		return errFacts
	}
	return nil
}

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}
