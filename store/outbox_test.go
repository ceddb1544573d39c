package store

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestOutboxRepair: an index entry without its row and a row without an
// index entry (what the schema-2 sender could leave) make DueOutbox fail
// with ErrOutboxIndex instead of answering "not found" for ever; repair
// fixes both, counts them, and the queue serves again.
func TestOutboxRepair(t *testing.T) {
	s := openTest(t)
	now := time.Now()
	var a, b OutboxItem
	err := s.Update(context.Background(), func(tx Tx) error {
		a = OutboxItem{Recipient: "a@x.example", NextAttempt: now.Add(-time.Minute)}
		b = OutboxItem{Recipient: "b@x.example", NextAttempt: now.Add(-time.Second)}
		if err := tx.Enqueue(&a); err != nil {
			return err
		}
		if err := tx.Enqueue(&b); err != nil {
			return err
		}
		// Damage: a's entry points to nothing, b's row lost its entry.
		if err := tx.(*boltTx).btx.Bucket(bOutboxDue).Put(dueKey(now.Add(-2*time.Minute), 999), nil); err != nil {
			return err
		}
		return tx.(*boltTx).btx.Bucket(bOutboxDue).Delete(dueKey(b.NextAttempt, b.ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		if _, _, err := tx.DueOutbox(now, 10); !errors.Is(err, ErrOutboxIndex) {
			t.Errorf("DueOutbox on a damaged index: %v, want ErrOutboxIndex", err)
		}
		c, err := tx.CheckOutbox()
		if err != nil || c.OK() || len(c.NoRow) != 1 || c.NoRow[0] != 999 || len(c.NoIndex) != 1 || c.NoIndex[0] != b.ID {
			t.Errorf("check: %v, %v", c, err)
		}
		return nil
	})
	var fixed int
	if err := s.Update(context.Background(), func(tx Tx) (err error) { fixed, err = tx.RepairOutbox(); return err }); err != nil {
		t.Fatal(err)
	}
	if fixed != 2 {
		t.Errorf("repaired %d entries, want 2", fixed)
	}
	s.View(func(tx Tx) error {
		due, _, err := tx.DueOutbox(now, 10)
		if err != nil || len(due) != 2 || due[0].ID != a.ID || due[1].ID != b.ID {
			t.Errorf("due after repair: %v, %v", due, err)
		}
		if c, err := tx.CheckOutbox(); err != nil || !c.OK() {
			t.Errorf("check after repair: %v, %v", c, err)
		}
		return nil
	})
}

// TestMigrateV2Outbox: mail queued by schema 2 (whole MIME in the row) is
// moved into a blob on upgrade, its row keeps everything else, the blob
// survives the sweep while queued, an orphaned index entry is repaired,
// and a backup of the old file is made first.
func TestMigrateV2Outbox(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw := []byte("From: ACME <support@example.com>\r\nMessage-ID: <tg.old@example.com>\r\nSubject: [ACME-1] printer\r\n\r\nqueued before the upgrade\r\n")
	due := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		row, _ := json.Marshal(map[string]any{
			"id": 7, "project": "ACME", "ticket": "ACME-1", "event": "customer/request_created",
			"recipient": "c@customer.example", "mail_from": "acme+bounce-old@example.com",
			"message_id": "tg.old@example.com", "raw": raw, "automatic": true,
			"created": due, "next_attempt": due, "attempts": 2, "last_error": "451 later",
		})
		if err := btx.Bucket(bOutbox).Put(putU64(7), row); err != nil {
			return err
		}
		if err := btx.Bucket(bOutboxDue).Put(dueKey(due, 7), nil); err != nil {
			return err
		}
		// The schema-2 sender's bug: an entry whose row is gone.
		if err := btx.Bucket(bOutboxDue).Put(dueKey(due, 8), nil); err != nil {
			return err
		}
		return btx.Bucket(bMeta).Put([]byte("schema"), putU64(2))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatalf("open v2 store: %v", err)
	}
	defer s.Close()
	if b, _ := filepath.Glob(filepath.Join(dir, "ticketgate.db.pre-migration-v2-*")); len(b) != 1 {
		t.Errorf("backups: %v, want one", b)
	}
	var it *OutboxItem
	s.View(func(tx Tx) error {
		if c, err := tx.CheckOutbox(); err != nil || !c.OK() || c.Rows != 1 {
			t.Errorf("outbox after migration: %v, %v", c, err)
		}
		list, _, err := tx.DueOutbox(due, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("due after migration: %v, %v", list, err)
		}
		it = list[0]
		return nil
	})
	if it.ID != 7 || it.MessageID != "tg.old@example.com" || it.MailFrom != "acme+bounce-old@example.com" || it.Attempts != 2 || it.RawBlob == "" || !it.Automatic {
		t.Fatalf("migrated row: %+v", it)
	}
	// The sweep keeps the blob of queued mail.
	if _, err := s.SweepBlobs(-time.Hour); err != nil {
		t.Fatal(err)
	}
	f, err := s.OpenBlob(it.RawBlob)
	if err != nil {
		t.Fatalf("raw blob of the queued mail: %v", err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != string(raw) {
		t.Errorf("blob holds %q, want the queued bytes", got)
	}
	// The row is small now: no message bytes in the store.
	s.View(func(tx Tx) error {
		if v := tx.(*boltTx).btx.Bucket(bOutbox).Get(putU64(7)); len(v) > 600 {
			t.Errorf("row still %d bytes: %s", len(v), v)
		}
		return nil
	})
}

// TestDequeueSeenChangedCopy: a copy changed after it was read (against
// DequeueSeen's contract) still removes the stored row's index entry, not
// one its changed due time names.
func TestDequeueSeenChangedCopy(t *testing.T) {
	s := openTest(t)
	now := time.Now()
	it := OutboxItem{Recipient: "a@x.example", NextAttempt: now.Add(-time.Minute)}
	if err := s.Update(context.Background(), func(tx Tx) error { return tx.Enqueue(&it) }); err != nil {
		t.Fatal(err)
	}
	var seen *OutboxItem
	if err := s.View(func(tx Tx) (err error) { seen, err = tx.OutboxItem(it.ID); return err }); err != nil {
		t.Fatal(err)
	}
	seen.NextAttempt = now.Add(time.Hour)
	var got *OutboxItem
	if err := s.Update(context.Background(), func(tx Tx) (err error) { got, err = tx.DequeueSeen(seen); return err }); err != nil {
		t.Fatal(err)
	}
	if !got.NextAttempt.Equal(it.NextAttempt) {
		t.Errorf("DequeueSeen gave due %v, want the stored row's %v", got.NextAttempt, it.NextAttempt)
	}
	if err := s.View(func(tx Tx) error {
		c, err := tx.CheckOutbox()
		if err == nil && (!c.OK() || c.Index != 0) {
			t.Errorf("after DequeueSeen: %s", c)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
