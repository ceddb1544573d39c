package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// TicketFacts is what reports read of a ticket (issue 21): its times, its
// people and its response-target clocks, without subject, participants or
// anything else bulky. The store derives it from the ticket it stores
// (PutTicket) and keeps it ordered by the ticket's last change, so a
// report over a period reads only the tickets changed since its start.
// Its JSON names are the ticket's own.
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

// Changed is when the ticket last changed: the order of the facts index
// (never before 1970: an unset time sorts first).
func (f *TicketFacts) Changed() time.Time {
	at := f.Updated
	if at.IsZero() {
		at = f.Created
	}
	if at.Before(epoch) {
		return epoch
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
	if old := b.Get(rev); old != nil {
		if len(old) != 8 {
			return fmt.Errorf("store: ticket_facts %s: malformed entry", t.Key)
		}
		if err := b.Delete(append(append([]byte{'c'}, old...), t.Key...)); err != nil {
			return err
		}
	}
	f := FactsOf(t)
	data, err := json.Marshal(f)
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
		if err := json.Unmarshal(v, &f); err != nil {
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
