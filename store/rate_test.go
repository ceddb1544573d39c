package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRateAddPrunes: RateAdd keeps a key's current and previous windows
// only, leaves keys that extend it ("k\x00…", "k|x") alone, and RateCount
// reads a key's two windows with nothing of a neighbour's.
func TestRateAddPrunes(t *testing.T) {
	s := openTest(t)
	const w = time.Minute
	base := time.Unix(0, 0).Add(5000 * w)
	// A key that begins with "k\x00" and 8 more bytes sorts among k's
	// windows: it is somebody else's counter.
	odd := "k\x00" + string(binary.BigEndian.AppendUint64(nil, 4998)) + "x"
	err := s.Update(context.Background(), func(tx Tx) error {
		for i := range 4 {
			for _, k := range []string{"k", "k|x", odd} {
				if err := tx.RateAdd(k, w, base.Add(time.Duration(i)*w)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx Tx) error {
		var keys []string
		c := tx.(*boltTx).btx.Bucket(bRate).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if bytes.HasPrefix(k, []byte("k\x00")) && len(k) == 10 {
				keys = append(keys, string(k))
			}
		}
		if len(keys) != 2 {
			t.Errorf("k has %d windows stored, want 2 (the current and the previous)", len(keys))
		}
		for _, k := range []string{"k", "k|x", odd} {
			n, err := tx.RateCount(k, w, base.Add(3*w+w/2))
			if err != nil {
				return err
			}
			if n != 1.5 {
				t.Errorf("RateCount(%q) = %v, want 1.5", k, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRateCountFirstWindow: in the epoch's first window the previous
// window's index wraps around; the current count is still found.
func TestRateCountFirstWindow(t *testing.T) {
	s := openTest(t)
	at := time.Unix(0, 0).Add(30 * time.Second)
	err := s.Update(context.Background(), func(tx Tx) error {
		for range 2 {
			if err := tx.RateAdd("k", time.Minute, at); err != nil {
				return err
			}
		}
		n, err := tx.RateCount("k", time.Minute, at)
		if err == nil && n != 2 {
			t.Errorf("RateCount = %v, want 2", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRateKeyGroupsBySubject: the counters about one subject (a sender's
// new-ticket and auto-reply budgets, a ticket's and its agents') sort
// next to each other among everyone else's, so one message's counting
// touches one place of the rate bucket per subject.
func TestRateKeyGroupsBySubject(t *testing.T) {
	if got := RateKey("c@x.example", "new-ticket", "ACME", "envelope"); got != "c@x.example|new-ticket|ACME|envelope" {
		t.Fatalf("RateKey = %q", got)
	}
	subjects := []string{"c@x.example", "c@x.example.org", "b@x.example", "ACME-1", "ACME-10", "ACME-100", "ACME"}
	var keys []string
	owner := map[string]string{}
	for _, s := range subjects {
		for _, k := range []string{RateKey(s, "auto"), RateKey(s, "auto", "alice@example.com"), RateKey(s, "new-ticket", "ACME", "from"), RateKey(s, "new-ticket", "ACME", "envelope")} {
			keys = append(keys, k)
			owner[k] = s
		}
	}
	slices.Sort(keys)
	seen := map[string]bool{}
	for i, k := range keys {
		if i > 0 && owner[keys[i-1]] != owner[k] {
			if seen[owner[k]] {
				t.Fatalf("the counters of %s are split: %q", owner[k], keys)
			}
		}
		seen[owner[k]] = true
	}
}

// TestMigrateV10RateExpiry: a store of schema 10, whose counters carry
// no expiry, opens with the rate bucket emptied (the limits count
// afresh); the counters written from then on have their expiry, and
// check-store reads the new form and reports the old one.
func TestMigrateV10RateExpiry(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	old := append([]byte("c@x.example|auto\x00"), binary.BigEndian.AppendUint64(nil, 490000)...)
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bRate).Put(old, binary.BigEndian.AppendUint64(nil, 7)); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put([]byte("schema"), putU64(10))
	})
	db.Close()

	s, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatalf("open a schema 10 store: %v", err)
	}
	defer s.Close()
	now := time.Unix(0, 0).Add(490000*time.Hour + 10*time.Minute)
	err = s.Update(context.Background(), func(tx Tx) error {
		if n, err := tx.RateCount("c@x.example|auto", time.Hour, now); err != nil || n != 0 {
			t.Errorf("the old counter after the migration: %v, %v; want 0", n, err)
		}
		return tx.RateAdd("c@x.example|auto", time.Hour, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		b := tx.(*boltTx).btx.Bucket(bRate)
		if n := b.Stats().KeyN; n != 1 {
			t.Errorf("%d counters after the migration and one RateAdd, want 1", n)
		}
		n, exp, err := rateCounter(old, b.Get(old))
		if err != nil || n != 1 || exp != int64(490002*time.Hour) {
			t.Errorf("the new counter: %d, expires %v, %v; want 1, at the end of the next window", n, time.Unix(0, exp).UTC(), err)
		}
		return nil
	})
	var problems []Problem
	if err := s.(*boltDB).Check(context.Background(), func(p Problem) { problems = append(problems, p) }); err != nil || len(problems) != 0 {
		t.Errorf("check-store after the migration: %+v, %v", problems, err)
	}
}
