package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestMigrateV5Customers: a store of schema 5 (no customers index) gets
// the index of its tickets on open, and check-store then finds it
// clean; an entry removed and a stale one added are both reported.
func TestMigrateV5Customers(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(context.Background(), func(tx Tx) error {
		for _, p := range []string{"ACME", "ACME", "BETA"} {
			n, err := tx.NextTicketNumber(p)
			if err != nil {
				return err
			}
			tk := &Ticket{Key: TicketKey(p, n), Project: p, Number: n, Reporter: "carl@customer.example"}
			if n == 2 {
				tk.Reporter = "dora@customer.example"
				tk.Participants = []Participant{{Address: "Erin@Customer.example"}}
			}
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		tx.DeleteBucket(bCustomers)
		return tx.Bucket(bMeta).Put([]byte("schema"), putU64(5))
	})
	db.Close()

	s, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatalf("open a schema 5 store: %v", err)
	}
	s.View(func(tx Tx) error {
		for _, c := range []struct {
			project, addr string
			want          bool
		}{{"ACME", "carl@customer.example", true}, {"ACME", "erin@customer.example", true}, {"BETA", "dora@customer.example", false}, {"BETA", "carl@customer.example", true}} {
			if got, err := tx.IsCustomer(c.project, c.addr); err != nil || got != c.want {
				t.Errorf("after migration IsCustomer(%s, %s) = %v, %v", c.project, c.addr, got, err)
			}
		}
		return nil
	})
	s.Close()
	if p := checkProblems(t, dir); len(p) != 0 {
		t.Fatalf("check after migration: %v", p)
	}

	db, err = bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCustomers)
		b.Delete(customerKey("erin@customer.example", "ACME", "ACME-2"))
		return b.Put(customerKey("mallory@evil.example", "ACME", "ACME-1"), nil)
	})
	db.Close()
	got := strings.Join(checkProblems(t, dir), "\n")
	for _, want := range []string{"tickets/ACME|2: erin@customer.example is missing from the customers index", "mallory@evil.example", "is a stale entry"} {
		if !strings.Contains(got, want) {
			t.Errorf("check-store output lacks %q:\n%s", want, got)
		}
	}
}
