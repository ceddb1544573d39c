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
