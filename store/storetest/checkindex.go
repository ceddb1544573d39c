package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// checkIndexes (issue 21): the full check compares ticket_timers and
// ticket_facts with the tickets in both directions and reports, in the
// same words on every backend, a ticket whose timer entry or facts are
// missing and a timer entry no ticket has.
func (s *suite) checkIndexes(t *testing.T) {
	if s.b.Corrupt == nil {
		t.Skip("backend cannot damage records")
	}
	dir := t.TempDir()
	db := s.open(t, dir)
	wake := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var keys []string
	update(t, db, func(tx store.Tx) error {
		keys = keys[:0]
		for i := range 3 {
			key, _, err := newTicket(tx, "ACME", "t", "")
			if err != nil {
				return err
			}
			tk, err := tx.Ticket(key)
			if err != nil {
				return err
			}
			switch i {
			case 0:
				tk.Wake = wake
			case 1:
				tk.Resolved = wake.Add(-time.Hour)
			}
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
			keys = append(keys, key)
		}
		return nil
	})
	check := func() []store.Problem {
		t.Helper()
		var got []store.Problem
		if err := db.Check(context.Background(), func(p store.Problem) { got = append(got, p) }); err != nil {
			t.Fatalf("check: %v", err)
		}
		return got
	}
	if got := check(); len(got) != 0 {
		t.Fatalf("problems in a sound store: %v", got)
	}
	db.Close()
	s.b.Corrupt(t, dir, DamageTimerEntry, keys[0], wake.Format(time.RFC3339Nano))
	s.b.Corrupt(t, dir, DamageFactsEntry, keys[1])
	s.b.Corrupt(t, dir, DamageStaleTimer, keys[2], wake.Add(5*time.Hour).Format(time.RFC3339Nano))
	db = s.open(t, dir)
	defer db.Close()
	got := check()
	want := []struct{ where, what string }{
		{"tickets/", "has no entry in the timer index (w) (its timers or auto-close would never run)"},
		{"tickets/", "has no report facts (ticket_facts)"},
		{"ticket_timers/", "is a stale entry of ticket " + keys[2]},
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p store.Problem) bool { return strings.HasPrefix(p.Where, w.where) && p.What == w.what }) {
			t.Errorf("no problem %s…: %s; got %v", w.where, w.what, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(got), len(want), got)
	}
}
