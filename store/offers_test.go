package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCheckOffersAndRatings: check-store passes sound offers and ratings
// and names an offer missing from its due index, a due entry without its
// offer, one that disagrees with its row and a rating that does not
// decode (issue 18).
func TestCheckOffersAndRatings(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	err = s.Update(context.Background(), func(tx Tx) error {
		for i, key := range []string{"ACME-1", "ACME-2", "ACME-3"} {
			o := &Offer{Ticket: key, Project: "ACME", Round: 1, Started: base, Due: base.Add(time.Duration(i+1) * time.Minute),
				Agents: []OfferAgent{{Address: "a@x", State: OfferOpen, Offered: base, Due: base.Add(time.Minute)}}}
			if err := tx.PutOffer(o); err != nil {
				return err
			}
		}
		return tx.PutRating(&Rating{Project: "ACME", Ticket: "ACME-1", Customer: "c@x", Score: 5, Scale: 5, Created: base, Updated: base})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := checkProblems(t, dir); len(got) != 0 {
		t.Fatalf("a sound store: %q", got)
	}
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		tx.Bucket(bOfferDue).Delete(offerDueKey(base.Add(time.Minute), "ACME-1"))
		tx.Bucket(bOfferDue).Put(offerDueKey(base, "ACME-9"), nil)
		tx.Bucket(bOfferDue).Put(offerDueKey(base.Add(time.Hour), "ACME-2"), nil)
		tx.Bucket(bRatings).Put(ratingKey("ACME", "ACME-1", "c@x"), []byte(`{"score":`))
		tx.Bucket(bOffers).Put([]byte("ACME-3"), []byte(`{"ticket":"ACME-3","agents":[{"address":"a@x","state":"napping"}]}`))
		return nil
	})
	db.Close()
	got := strings.Join(checkProblems(t, dir), "\n")
	for _, want := range []string{
		"offers/ACME-1: due at 2026-05-01T12:01:00Z but not in offer_due",
		"names the offer of ACME-9, which does not exist",
		"disagrees with the offer of ACME-2",
		"ratings/ACME|ACME-1|c@x: does not decode",
		"offers/ACME-3: does not decode",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check-store output lacks %q:\n%s", want, got)
		}
	}
}

// BenchmarkDueOffers: the offer timer's look-up with 100,000 offers on
// the books, none due: one seek into offer_due, whatever the number of
// tickets (issue 18).
func BenchmarkDueOffers(b *testing.B) {
	s, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for batch := range 100 {
		err := s.Update(context.Background(), func(tx Tx) error {
			for i := range 1000 {
				n := batch*1000 + i + 1
				o := &Offer{Ticket: TicketKey("ACME", uint64(n)), Project: "ACME", Round: 1, Started: base,
					Due: base.Add(time.Hour + time.Duration(n)*time.Second)}
				if err := tx.PutOffer(o); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		err := s.View(func(tx Tx) error {
			keys, next, err := tx.DueOffers(base, 100)
			if len(keys) != 0 || next.IsZero() {
				b.Fatalf("due: %v next %v", keys, next)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
