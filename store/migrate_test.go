package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestMigrateV1 makes a schema-1 store (the layout before the audit
// stream), opens it with this code and checks: a backup of the old file
// sits next to it and still says schema 1, the store says 2, every record
// is intact, and the audit stream was built from the stored inbound mail.
func TestMigrateV1(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	err = s.Update(context.Background(), func(tx *Tx) error {
		if err := tx.PutTicket(&Ticket{Key: "ACME-1", Project: "ACME", Number: 1, Subject: "printer", Status: "new"}); err != nil {
			return err
		}
		for _, m := range []*Message{
			{Ticket: "ACME-1", Project: "ACME", Direction: "in", Kind: "request", Source: "smtp", From: "c@customer.example", MessageID: "first@customer.example", Received: received, ThreadedBy: "new"},
			{Ticket: "ACME-1", Project: "ACME", Direction: "in", Kind: "comment", Source: "imap", From: "c@customer.example", MessageID: "second@customer.example", Received: received.Add(time.Hour), ThreadedBy: "references"},
			{Ticket: "ACME-1", Project: "ACME", Direction: "out", Kind: "comment", From: "alice@example.com", MessageID: "tg.x@support.example.com", Received: received.Add(2 * time.Hour)},
		} {
			if err := tx.AddMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Turn it into what schema 1 wrote: version 1, no audit buckets.
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		tx.DeleteBucket(bAudit)
		tx.DeleteBucket(bAuditTime)
		return tx.Bucket(bMeta).Put([]byte("schema"), putU64(1))
	})
	db.Close()

	start := time.Now()
	s, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatalf("open v1 store: %v", err)
	}
	t.Logf("open with migration took %s", time.Since(start))

	backups, _ := filepath.Glob(filepath.Join(dir, "ticketgate.db.pre-migration-v1-*"))
	if len(backups) != 1 {
		t.Fatalf("backups: %v, want one ticketgate.db.pre-migration-v1-<time>", backups)
	}
	old, err := bolt.Open(backups[0], 0o640, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("backup is not a bbolt file: %v", err)
	}
	old.View(func(tx *bolt.Tx) error {
		if v := getU64(tx.Bucket(bMeta).Get([]byte("schema"))); v != 1 {
			t.Errorf("backup schema %d, want 1", v)
		}
		return nil
	})
	old.Close()

	s.View(func(tx *Tx) error {
		if v := getU64(tx.Meta("schema")); v != SchemaVersion {
			t.Errorf("schema %d after migration, want %d", v, SchemaVersion)
		}
		if at := string(tx.Meta(fmt.Sprintf("migrated_v%d", SchemaVersion))); !strings.HasPrefix(at, "20") {
			t.Errorf("migrated_v%d = %q, want a time", SchemaVersion, at)
		}
		tk, err := tx.Ticket("ACME-1")
		if err != nil || tk.Subject != "printer" {
			t.Errorf("ticket after migration: %+v, %v", tk, err)
		}
		msgs, _ := tx.TicketMessages("ACME-1")
		if len(msgs) != 3 {
			t.Errorf("%d messages after migration, want 3", len(msgs))
		}
		ev, err := tx.Audit("<first@customer.example>")
		if err != nil || len(ev) != 2 || ev[0].Type != AuditReceived || ev[0].Source != "smtp" || ev[1].Type != AuditNewTicket || ev[1].Ticket != "ACME-1" || !ev[0].Time.Equal(received) {
			t.Errorf("audit of the first mail: %+v, %v", ev, err)
		}
		ev, _ = tx.Audit("second@customer.example")
		if len(ev) != 2 || ev[1].Type != AuditThreaded || ev[1].Rule != "references" {
			t.Errorf("audit of the reply: %+v", ev)
		}
		if ev, _ := tx.Audit("tg.x@support.example.com"); len(ev) != 0 {
			t.Errorf("outbound mail got inbound audit events: %+v", ev)
		}
		return nil
	})

	// A second open migrates nothing and makes no second backup.
	s.Close()
	s2, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if b, _ := filepath.Glob(filepath.Join(dir, "ticketgate.db.pre-migration-*")); len(b) != 1 {
		t.Errorf("backups after a second open: %v", b)
	}
	entries, _ := os.ReadDir(dir)
	t.Logf("data dir after migration: %d entries", len(entries))
}

// TestFreshStoreIsCurrent: a new store starts at SchemaVersion without a
// backup.
func TestFreshStoreIsCurrent(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.View(func(tx *Tx) error {
		if v := getU64(tx.Meta("schema")); v != SchemaVersion {
			t.Errorf("fresh store schema %d, want %d", v, SchemaVersion)
		}
		return nil
	})
	if b, _ := filepath.Glob(filepath.Join(dir, "*.pre-migration-*")); len(b) != 0 {
		t.Errorf("fresh store made a backup: %v", b)
	}
}

// TestAuditStreamAndPrune: events come back per Message-ID in order, with
// or without angle brackets, and pruning by age removes only old ones.
func TestAuditStreamAndPrune(t *testing.T) {
	s := openTest(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.Update(context.Background(), func(tx *Tx) error {
		for i, typ := range []string{AuditReceived, AuditNewTicket, AuditQueued} {
			if err := tx.AddAudit(&AuditEvent{MessageID: "<a@x>", Time: t0.Add(time.Duration(i) * 24 * time.Hour), Type: typ}); err != nil {
				return err
			}
		}
		// An id that is a prefix of another must not see its events.
		return tx.AddAudit(&AuditEvent{MessageID: "a@x.y", Time: t0, Type: AuditReceived})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		ev, _ := tx.Audit("a@x")
		if len(ev) != 3 || ev[0].Type != AuditReceived || ev[2].Type != AuditQueued {
			t.Errorf("stream: %+v", ev)
		}
		return nil
	})
	var n int
	s.Update(context.Background(), func(tx *Tx) error {
		var err error
		n, err = tx.PruneAudit(t0.Add(36*time.Hour), 0)
		return err
	})
	if n != 3 {
		t.Errorf("pruned %d, want 3 (two of a@x, one of a@x.y)", n)
	}
	s.View(func(tx *Tx) error {
		if ev, _ := tx.Audit("<a@x>"); len(ev) != 1 || ev[0].Type != AuditQueued {
			t.Errorf("after prune: %+v", ev)
		}
		return nil
	})
}
