package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// offers (issue 18): an offer reads back as stored; the due order follows
// the row through every change (moved, ended, replaced), survives a
// reopen, and a read-only transaction sees no offer before the first one.
func (s *suite) offers(t *testing.T) {
	db, dir := s.fresh(t)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	view(t, db, func(tx store.Tx) error {
		if _, err := tx.Offer("ACME-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("offer before any: %v, want ErrNotFound", err)
		}
		got, next, err := tx.DueOffers(base, 10)
		if err != nil || len(got) != 0 || !next.IsZero() {
			t.Errorf("due before any: %v %s %v", got, next, err)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		for i, off := range []int{30, -5, 10, 0} {
			key := store.TicketKey("ACME", uint64(i+1))
			o := &store.Offer{Ticket: key, Project: "ACME", Round: 1, Started: base,
				Agents: []store.OfferAgent{{Address: "a@x", State: store.OfferOpen, Offered: base}, {Address: "b@x", State: store.OfferQueued}},
				Due:    base.Add(time.Duration(off) * time.Minute)}
			if err := tx.PutOffer(o); err != nil {
				return err
			}
		}
		return nil
	})
	due := func(now time.Time, max int) ([]string, time.Time) {
		t.Helper()
		var out []string
		var next time.Time
		view(t, db, func(tx store.Tx) error {
			var err error
			out, next, err = tx.DueOffers(now, max)
			return err
		})
		return out, next
	}
	if got, next := due(base, 10); !slices.Equal(got, []string{"ACME-2", "ACME-4"}) || !next.Equal(base.Add(10*time.Minute)) {
		t.Fatalf("due at base: %v next %s", got, next)
	}
	if got, next := due(base, 1); !slices.Equal(got, []string{"ACME-2"}) || !next.Equal(base) {
		t.Fatalf("due at base, max 1: %v next %s", got, next)
	}
	// Moving one, ending another: the order follows the rows.
	update(t, db, func(tx store.Tx) error {
		o, err := tx.Offer("ACME-2")
		if err != nil {
			return err
		}
		o.Due = base.Add(time.Hour)
		o.Agents[0].State, o.Agents[0].Answered = store.OfferTimedOut, base
		if err := tx.PutOffer(o); err != nil {
			return err
		}
		o, err = tx.Offer("ACME-4")
		if err != nil {
			return err
		}
		o.Due, o.TakenBy, o.End, o.Ended = time.Time{}, "a@x", "taken", base
		return tx.PutOffer(o)
	})
	if got, next := due(base.Add(30*time.Minute), 10); !slices.Equal(got, []string{"ACME-3", "ACME-1"}) || !next.Equal(base.Add(time.Hour)) {
		t.Fatalf("due after the changes: %v next %s", got, next)
	}
	db.Close()
	db = s.open(t, dir)
	t.Cleanup(func() { db.Close() })
	view(t, db, func(tx store.Tx) error {
		o, err := tx.Offer("ACME-2")
		if err != nil {
			return err
		}
		if o.Agents[0].State != store.OfferTimedOut || !o.Agents[0].Answered.Equal(base) || o.Agent("b@x") == nil || o.Agent("b@x").State != store.OfferQueued {
			t.Errorf("offer read back: %+v", o)
		}
		o4, err := tx.Offer("ACME-4")
		if err != nil {
			return err
		}
		if o4.TakenBy != "a@x" || !o4.Due.IsZero() || o4.End != "taken" {
			t.Errorf("ended offer read back: %+v", o4)
		}
		got, _, err := tx.DueOffers(base.Add(2*time.Hour), 10)
		if err != nil {
			return err
		}
		if !slices.Equal(got, []string{"ACME-3", "ACME-1", "ACME-2"}) {
			t.Errorf("due after reopening: %v", got)
		}
		return nil
	})
}

// ratings (issue 18): one rating per ticket and customer, replaced by a
// second put; listed per project and since a time.
func (s *suite) ratings(t *testing.T) {
	db, _ := s.fresh(t)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	view(t, db, func(tx store.Tx) error {
		if _, err := tx.Rating("ACME-1", "c@x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rating before any: %v", err)
		}
		if list, err := tx.Ratings("", time.Time{}); err != nil || len(list) != 0 {
			t.Errorf("ratings before any: %v %v", list, err)
		}
		return nil
	})
	put := func(r store.Rating) {
		update(t, db, func(tx store.Tx) error { return tx.PutRating(&r) })
	}
	put(store.Rating{Project: "ACME", Ticket: "ACME-1", Customer: "c@x", Score: 2, Scale: 5, Created: base, Updated: base})
	put(store.Rating{Project: "ACME", Ticket: "ACME-1", Customer: "d@x", Score: 5, Scale: 5, Created: base, Updated: base.Add(-48 * time.Hour)})
	put(store.Rating{Project: "BETA", Ticket: "BETA-1", Customer: "c@x", Score: 1, Scale: 2, Created: base, Updated: base})
	// The second rating of c@x on ACME-1 replaces the first.
	put(store.Rating{Project: "ACME", Ticket: "ACME-1", Customer: "c@x", Score: 4, Scale: 5, Comment: "quick", Created: base, Updated: base.Add(time.Minute)})
	view(t, db, func(tx store.Tx) error {
		r, err := tx.Rating("ACME-1", "c@x")
		if err != nil {
			return err
		}
		if r.Score != 4 || r.Comment != "quick" || !r.Created.Equal(base) {
			t.Errorf("replaced rating: %+v", r)
		}
		all, err := tx.Ratings("", time.Time{})
		if err != nil {
			return err
		}
		if len(all) != 3 {
			t.Errorf("all ratings: %d, want 3", len(all))
		}
		acme, err := tx.Ratings("ACME", base.Add(-time.Hour))
		if err != nil {
			return err
		}
		if len(acme) != 1 || acme[0].Customer != "c@x" || acme[0].Score != 4 {
			t.Errorf("ACME ratings of the last hour: %+v", acme)
		}
		return nil
	})
}
