package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// ticketTimers (issue 21): the timer index follows each ticket's Wake
// and Resolved as stored — a changed time moves the entry, a cleared one
// removes it — and answers in time order without reading tickets.
func (s *suite) ticketTimers(t *testing.T) {
	db, _ := s.fresh(t)
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	put := func(key string, change func(*store.Ticket)) {
		t.Helper()
		update(t, db, func(tx store.Tx) error {
			tk, err := tx.Ticket(key)
			if err != nil {
				return err
			}
			change(tk)
			return tx.PutTicket(tk)
		})
	}
	var keys []string
	update(t, db, func(tx store.Tx) error {
		keys = keys[:0]
		for range 4 {
			key, _, err := newTicket(tx, "ACME", "t", "")
			if err != nil {
				return err
			}
			keys = append(keys, key)
		}
		return nil
	})
	// ACME-1 wakes at +3h, ACME-2 at +1h, ACME-3 at +2h, ACME-4 never.
	for i, h := range []int{3, 1, 2} {
		put(keys[i], func(tk *store.Ticket) { tk.Wake = base.Add(time.Duration(h) * time.Hour) })
	}
	due := func(now time.Time, max int) ([]string, time.Time) {
		t.Helper()
		var got []string
		var next time.Time
		view(t, db, func(tx store.Tx) error {
			var err error
			got, next, err = tx.DueTickets(now, max)
			return err
		})
		return got, next
	}
	if got, next := due(base, 10); len(got) != 0 || !next.Equal(base.Add(time.Hour)) {
		t.Fatalf("due at base = %v, next %s; want none, next +1h", got, next)
	}
	if got, next := due(base.Add(2*time.Hour), 10); !slices.Equal(got, []string{keys[1], keys[2]}) || !next.Equal(base.Add(3*time.Hour)) {
		t.Fatalf("due at +2h = %v, next %s", got, next)
	}
	if got, next := due(base.Add(5*time.Hour), 1); !slices.Equal(got, []string{keys[1]}) || !next.Equal(base.Add(2*time.Hour)) {
		t.Fatalf("due at +5h, max 1 = %v, next %s", got, next)
	}
	// Moving and clearing a Wake moves and removes its entry.
	put(keys[1], func(tk *store.Ticket) { tk.Wake = base.Add(10 * time.Hour) })
	put(keys[2], func(tk *store.Ticket) { tk.Wake = time.Time{} })
	if got, next := due(base.Add(5*time.Hour), 10); !slices.Equal(got, []string{keys[0]}) || !next.Equal(base.Add(10*time.Hour)) {
		t.Fatalf("due after moving = %v, next %s", got, next)
	}

	// Resolved times.
	put(keys[3], func(tk *store.Ticket) { tk.Resolved = base.Add(-48 * time.Hour) })
	put(keys[2], func(tk *store.Ticket) { tk.Resolved = base.Add(-72 * time.Hour) })
	put(keys[0], func(tk *store.Ticket) { tk.Resolved = base.Add(-1 * time.Hour) })
	resolved := func(before time.Time) []string {
		t.Helper()
		var got []string
		view(t, db, func(tx store.Tx) error {
			return tx.ResolvedBefore(before, func(key string, at time.Time) bool {
				got = append(got, key)
				return true
			})
		})
		return got
	}
	if got := resolved(base.Add(-24 * time.Hour)); !slices.Equal(got, []string{keys[2], keys[3]}) {
		t.Fatalf("resolved a day before = %v", got)
	}
	put(keys[2], func(tk *store.Ticket) { tk.Resolved = time.Time{} })
	if got := resolved(base); !slices.Equal(got, []string{keys[3], keys[0]}) {
		t.Fatalf("resolved after reopening %s = %v", keys[2], got)
	}
	// The ticket rows are untouched by the index: ACME-1 keeps both.
	view(t, db, func(tx store.Tx) error {
		tk, err := tx.Ticket(keys[0])
		if err != nil {
			return err
		}
		if !tk.Wake.Equal(base.Add(3*time.Hour)) || !tk.Resolved.Equal(base.Add(-time.Hour)) {
			t.Errorf("%s = wake %s resolved %s", tk.Key, tk.Wake, tk.Resolved)
		}
		return nil
	})
}

// ticketFacts (issue 21): every stored ticket has one facts record, found
// by its last change; a change moves it, a project filter applies.
func (s *suite) ticketFacts(t *testing.T) {
	db, _ := s.fresh(t)
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	update(t, db, func(tx store.Tx) error {
		for i, p := range []string{"ACME", "ACME", "BETA"} {
			n, err := tx.NextTicketNumber(p)
			if err != nil {
				return err
			}
			at := base.Add(time.Duration(i) * time.Hour)
			if err := tx.PutTicket(&store.Ticket{Key: store.TicketKey(p, n), Project: p, Number: n, Subject: "s", Status: "new",
				Assignee: "alice@example.com", Created: at, Updated: at,
				FirstResponse: &store.Clock{Budget: time.Hour, Done: at, Took: 30 * time.Minute}}); err != nil {
				return err
			}
		}
		return nil
	})
	since := func(project string, at time.Time) []string {
		t.Helper()
		var got []string
		view(t, db, func(tx store.Tx) error {
			return tx.FactsSince(project, at, func(f *store.TicketFacts) bool {
				got = append(got, f.Key)
				if f.Assignee != "alice@example.com" || f.FirstResponse == nil || f.FirstResponse.Took != 30*time.Minute {
					t.Errorf("facts of %s = %+v", f.Key, f)
				}
				return true
			})
		})
		slices.Sort(got)
		return got
	}
	if got := since("", base.Add(time.Hour)); !slices.Equal(got, []string{"ACME-2", "BETA-1"}) {
		t.Fatalf("changed since +1h = %v", got)
	}
	if got := since("ACME", time.Time{}); !slices.Equal(got, []string{"ACME-1", "ACME-2"}) {
		t.Fatalf("ACME since ever = %v", got)
	}
	// A change of ACME-1 moves its one record.
	update(t, db, func(tx store.Tx) error {
		tk, err := tx.Ticket("ACME-1")
		if err != nil {
			return err
		}
		tk.Updated, tk.Reopens = base.Add(5*time.Hour), 1
		return tx.PutTicket(tk)
	})
	if got := since("", base.Add(time.Hour)); !slices.Equal(got, []string{"ACME-1", "ACME-2", "BETA-1"}) {
		t.Fatalf("changed since +1h after the change = %v", got)
	}
	if got := since("", time.Time{}); len(got) != 3 {
		t.Fatalf("all facts = %v (one record per ticket)", got)
	}
	view(t, db, func(tx store.Tx) error {
		return tx.FactsSince("ACME", base.Add(4*time.Hour), func(f *store.TicketFacts) bool {
			if f.Key != "ACME-1" || f.Reopens != 1 {
				t.Errorf("facts after the change = %+v", f)
			}
			return true
		})
	})
}
