package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Issue 17: open_to known asks whether a sender is "known" — among other
// things, the reporter or a participant of an earlier ticket of the
// project. The customers index answers that with one seek instead of a
// scan of the project's tickets. The store derives it from the ticket it
// stores (PutTicket, which only ticket.Engine calls), in the same
// transaction, so it cannot disagree with the rows; check-store compares
// the two both ways.

// CustomerTx answers who the customers of a project are.
type CustomerTx interface {
	// IsCustomer reports whether address (any case) is the reporter or a
	// participant of a ticket of project.
	IsCustomer(project, address string) (bool, error)
	// CustomerProjects lists, in order, the projects in which address is
	// the reporter or a participant of a ticket.
	CustomerProjects(address string) ([]string, error)
}

// TicketPeople is the lower-cased, sorted, distinct addresses a ticket's
// customers index holds: its reporter and its participants.
func TicketPeople(t *Ticket) []string {
	var out []string
	add := func(a string) {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			out = append(out, a)
		}
	}
	add(t.Reporter)
	for _, p := range t.Participants {
		add(p.Address)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// bCustomers holds two kinds of keys:
//
//	'a' address \0 project \0 ticket-key → nil
//	't' ticket-key → the ticket's addresses, \0-separated (to find its 'a' entries)
var bCustomers = []byte("customers")

func customerKey(address, project, ticket string) []byte {
	k := make([]byte, 0, 3+len(address)+len(project)+len(ticket))
	k = append(k, 'a')
	k = append(k, address...)
	k = append(k, 0)
	k = append(k, project...)
	k = append(k, 0)
	return append(k, ticket...)
}

// peopleEntry is t's 't' key in the customers index, the addresses it
// lists and its value (the addresses joined by NUL).
func peopleEntry(t *Ticket) (key []byte, people []string, value []byte) {
	people = TicketPeople(t)
	return append([]byte{'t'}, t.Key...), people, []byte(strings.Join(people, "\x00"))
}

// indexPeople makes t's entries in the customers index what t says.
func (tx *boltTx) indexPeople(t *Ticket) error {
	b := tx.btx.Bucket(bCustomers)
	tk, now, joined := peopleEntry(t)
	old := tx.lookup(b, tk)
	if old != nil && bytes.Equal(old, joined) {
		return nil
	}
	var was []string
	if len(old) > 0 {
		was = strings.Split(string(old), "\x00")
	}
	for _, a := range was {
		if !slices.Contains(now, a) {
			if err := b.Delete(customerKey(a, t.Project, t.Key)); err != nil {
				return err
			}
		}
	}
	for _, a := range now {
		if !slices.Contains(was, a) {
			if err := b.Put(customerKey(a, t.Project, t.Key), nil); err != nil {
				return err
			}
		}
	}
	if len(now) == 0 {
		return b.Delete(tk)
	}
	return b.Put(tk, joined)
}

// IsCustomer implements CustomerTx with one seek.
func (tx *boltTx) IsCustomer(project, address string) (bool, error) {
	address = strings.ToLower(strings.TrimSpace(address))
	if address == "" {
		return false, nil
	}
	prefix := customerKey(address, project, "")
	k, _ := tx.btx.Bucket(bCustomers).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix), nil
}

// CustomerProjects implements CustomerTx.
func (tx *boltTx) CustomerProjects(address string) ([]string, error) {
	address = strings.ToLower(strings.TrimSpace(address))
	if address == "" {
		return nil, nil
	}
	prefix := append(append([]byte{'a'}, address...), 0)
	var out []string
	c := tx.btx.Bucket(bCustomers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); {
		rest := k[len(prefix):]
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil, fmt.Errorf("store: %s: malformed key %q", bCustomers, k)
		}
		out = append(out, string(rest[:i]))
		// Skip the project's other tickets.
		k, _ = c.Seek(append(append(append([]byte(nil), prefix...), rest[:i]...), 1))
	}
	return out, nil
}

// migratePeopleIndex builds the customers index of the tickets stored
// before it existed (schema 5 → 6).
func migratePeopleIndex(tx *boltTx, _ time.Time) error {
	// The address keys are collected and put in key order: bbolt splits
	// nodes only at commit, so a million keys put in random order into
	// one (empty) bucket within one transaction pile up in a few nodes
	// and every put moves half of one (quadratic: a 1M-ticket store did
	// not finish in an hour). In key order every put appends.
	var people [][]byte
	type entry struct{ k, v []byte }
	var lists []entry // 't' keys, already in ticket order
	err := tx.btx.Bucket(bTickets).ForEach(func(k, v []byte) error {
		var t Ticket
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("store: decode ticket %x: %w", k, err)
		}
		tk, now, joined := peopleEntry(&t)
		if len(now) == 0 {
			return nil
		}
		for _, a := range now {
			people = append(people, customerKey(a, t.Project, t.Key))
		}
		lists = append(lists, entry{tk, joined})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(people, bytes.Compare)
	slices.SortFunc(lists, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
	b := tx.btx.Bucket(bCustomers)
	for _, k := range people {
		if err := b.Put(k, nil); err != nil {
			return err
		}
	}
	for _, e := range lists {
		if err := b.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// checkPeople compares the customers index with the tickets both ways.
func (c *checker) checkPeople() error {
	want := map[string]bool{} // 'a' keys and 't' keys with their value
	err := c.btx.Bucket(bTickets).ForEach(func(k, v []byte) error {
		var t Ticket
		if json.Unmarshal(v, &t) != nil {
			return nil // reported with the tickets
		}
		tk, people, joined := peopleEntry(&t)
		for _, a := range people {
			key := customerKey(a, t.Project, t.Key)
			want[string(key)] = true
			if !c.has(bCustomers, key) {
				c.report(bTickets, k, "%s is missing from the customers index", a)
			}
		}
		if len(people) > 0 {
			want[string(tk)] = true
			if got := c.btx.Bucket(bCustomers).Get(tk); !bytes.Equal(got, joined) {
				c.report(bCustomers, tk, "lists %q, the ticket has %q", got, people)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.each(bCustomers, func(k, v []byte) {
		if !want[string(k)] {
			c.report(bCustomers, k, "is a stale entry: no ticket has it")
		}
	})
}
