package storetest

import (
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// pgpKeys (issue 19): project secret keys and per-address keys are
// absent before they are written (nil, not an error), read back as
// written (addresses compared lower-cased), listed in address order,
// deleted, durable across a reopen, and never written by a View.
func (s *suite) pgpKeys(t *testing.T) {
	dir := t.TempDir()
	db := s.open(t, dir)
	view(t, db, func(tx store.Tx) error {
		if k, err := tx.PGPProjectKey("ACME"); k != nil || err != nil {
			t.Errorf("project key before any: %+v %v", k, err)
		}
		if k, err := tx.PGPKey("carl@customer.example"); k != nil || err != nil {
			t.Errorf("address key before any: %+v %v", k, err)
		}
		if ks, err := tx.PGPKeys(); len(ks) != 0 || err != nil {
			t.Errorf("keys before any: %+v %v", ks, err)
		}
		if err := tx.PutPGPKey(&store.PGPKey{Address: "x@y"}); err == nil {
			t.Error("a View wrote a key")
		}
		return nil
	})
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	update(t, db, func(tx store.Tx) error {
		if err := tx.PutPGPProjectKey(&store.PGPProjectKey{Project: "ACME", Armored: "SECRET", Protected: true, Fingerprint: "AA", Created: now}); err != nil {
			return err
		}
		for _, a := range []string{"Zed@Customer.example", "carl@customer.example", "dora@customer.example"} {
			if err := tx.PutPGPKey(&store.PGPKey{Address: a, Verified: &store.PGPPublicKey{Armored: "PUB " + a, Fingerprint: "F" + a, Source: "autocrypt", Seen: now}, Updated: now}); err != nil {
				return err
			}
		}
		return tx.DeletePGPKey("DORA@customer.example")
	})
	db.Close()
	db = s.open(t, dir)
	defer db.Close()
	view(t, db, func(tx store.Tx) error {
		pk, err := tx.PGPProjectKey("ACME")
		if err != nil || pk == nil || pk.Armored != "SECRET" || !pk.Protected || pk.Fingerprint != "AA" || !pk.Created.Equal(now) {
			t.Errorf("project key after reopening: %+v %v", pk, err)
		}
		k, err := tx.PGPKey("zed@customer.EXAMPLE")
		if err != nil || k == nil || k.Address != "zed@customer.example" || k.Verified == nil || k.Verified.Armored != "PUB Zed@Customer.example" || k.Unverified != nil {
			t.Errorf("address key: %+v %v", k, err)
		}
		if k != nil && k.Verified != nil {
			k.Verified.Armored = "changed outside"
		}
		ks, err := tx.PGPKeys()
		if err != nil || len(ks) != 2 || ks[0].Address != "carl@customer.example" || ks[1].Address != "zed@customer.example" {
			t.Errorf("listed keys (dora forgotten): %+v %v", ks, err)
		}
		return nil
	})
	view(t, db, func(tx store.Tx) error {
		if k, _ := tx.PGPKey("zed@customer.example"); k == nil || k.Verified.Armored != "PUB Zed@Customer.example" {
			t.Errorf("stored key changed through a returned copy: %+v", k)
		}
		return nil
	})
}
