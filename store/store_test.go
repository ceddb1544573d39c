package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/fault"
)

func openTest(t *testing.T) *boltDB {
	t.Helper()
	s, err := openBolt(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx Tx) error {
				n, err := tx.NextTicketNumber("ACME")
				if err != nil {
					return err
				}
				if i%8 == 3 {
					return fmt.Errorf("caller %d refuses", i)
				}
				if i%8 == 5 {
					panic("poisoned")
				}
				return tx.PutTicket(&Ticket{Key: TicketKey("ACME", n), Project: "ACME", Number: n, Subject: fmt.Sprint(i)})
			})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch i % 8 {
		case 3, 5:
			if err == nil {
				t.Errorf("caller %d: want its own error", i)
			}
		default:
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			ok++
		}
	}
	// Failed callers gave their ticket numbers back: numbers are dense.
	var subjects []string
	s.View(func(tx Tx) error {
		if got, err := tx.LastTicketNumber("ACME"); err != nil || got != uint64(ok) {
			t.Errorf("last number %d, want %d", got, ok)
		}
		return tx.ForEachTicket("ACME", func(tk *Ticket) bool {
			subjects = append(subjects, tk.Subject)
			return true
		})
	})
	if len(subjects) != ok {
		t.Errorf("%d tickets stored, want %d", len(subjects), ok)
	}
}

func TestUpdateAfterCloseIsTemporary(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = s.Update(context.Background(), func(Tx) error { return nil })
	if !errors.Is(err, ErrClosed) || !fault.IsTemporary(err) {
		t.Fatalf("got %v", err)
	}
}

func TestSecondOpenIsTemporary(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(dir, Options{LockTimeout: 50 * time.Millisecond})
	if err == nil || !fault.IsTemporary(err) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second open: %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put([]byte("schema"), putU64(SchemaVersion+1)) })
	db.Close()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open newer schema: %v", err)
	}
}

func TestBlobsAreContentAddressedAndSwept(t *testing.T) {
	s := openTest(t)
	h1, n, err := s.PutBlob(strings.NewReader("hello"))
	if err != nil || n != 5 {
		t.Fatal(err, n)
	}
	h2, _, _ := s.PutBlob(strings.NewReader("hello"))
	if h1 != h2 || h1 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("hash %s %s", h1, h2)
	}
	orphan, _, _ := s.PutBlob(strings.NewReader("nobody refers to me"))
	w, _ := s.NewBlob()
	// Past InlineBlobMax, so the spool has moved to a temporary file.
	w.Write([]byte("abandoned in flight" + strings.Repeat("x", InlineBlobMax)))
	err = s.Update(context.Background(), func(tx Tx) error {
		return tx.AddMessage(&Message{Ticket: "ACME-1", Raw: h1})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Young files survive a sweep: they may belong to an ingestion in flight.
	if n, _ := s.SweepBlobs(time.Hour); n != 0 {
		t.Fatalf("swept %d young files", n)
	}
	n2, err := s.SweepBlobs(-time.Second)
	if err != nil || n2 != 2 {
		t.Fatalf("swept %d, %v; want the orphan and the temp file", n2, err)
	}
	if _, err := s.OpenBlob(orphan); !errors.Is(err, ErrNotFound) {
		t.Fatalf("orphan still there: %v", err)
	}
	f, err := s.OpenBlob(h1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello" {
		t.Fatalf("blob %q", b)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "tmp")); err != nil {
		t.Fatal(err)
	}
}

func TestMessageIDIndex(t *testing.T) {
	s := openTest(t)
	err := s.Update(context.Background(), func(tx Tx) error {
		if err := tx.IndexMessageID("ACME", "a@x", "h1", MessageRef{Ticket: "ACME-1", Message: 7}); err != nil {
			return err
		}
		return tx.IndexMessageID("ACME", "out@tg", "", MessageRef{Ticket: "ACME-1", Outbound: true})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		if r, ok, _ := tx.Duplicate("ACME", "a@x", "h1"); !ok || r.Message != 7 {
			t.Errorf("duplicate lookup: %+v %v", r, ok)
		}
		if _, ok, _ := tx.Duplicate("ACME", "a@x", "h2"); ok {
			t.Error("same id, other content must not be a duplicate")
		}
		if r, ok, _ := tx.LookupMessageID("ACME", "a@x"); !ok || r.Ticket != "ACME-1" {
			t.Errorf("lookup: %+v", r)
		}
		if _, ok, _ := tx.LookupMessageID("ACME", "a@"); ok {
			t.Error("prefix of an id must not match")
		}
		if _, ok, _ := tx.LookupMessageID("OTHER", "a@x"); ok {
			t.Error("ids are per project")
		}
		if r, ok, _ := tx.LookupMessageID("ACME", "out@tg"); !ok || !r.Outbound {
			t.Errorf("outbound: %+v", r)
		}
		return nil
	})
}

func TestOutboxDueOrder(t *testing.T) {
	s := openTest(t)
	now := time.Now()
	err := s.Update(context.Background(), func(tx Tx) error {
		for i, d := range []time.Duration{time.Minute, -time.Second, -time.Minute} {
			if err := tx.Enqueue(&OutboxItem{Recipient: fmt.Sprint(i), NextAttempt: now.Add(d)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var due []*OutboxItem
	var next time.Time
	s.View(func(tx Tx) error {
		due, next, err = tx.DueOutbox(now, 10)
		return err
	})
	if len(due) != 2 || due[0].Recipient != "2" || due[1].Recipient != "1" {
		t.Fatalf("due %+v", due)
	}
	if !next.Equal(now.Add(time.Minute)) {
		t.Fatalf("next due %v", next)
	}
	// Rescheduling moves the item; dequeue removes it. Both work from
	// the stored row: the copy the caller holds may be stale.
	due[0].NextAttempt = now.Add(-time.Hour)
	err = s.Update(context.Background(), func(tx Tx) error {
		if _, err := tx.Reschedule(due[0].ID, func(it *OutboxItem) { it.NextAttempt = now.Add(time.Hour) }); err != nil {
			return err
		}
		_, err := tx.Dequeue(due[1].ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		d, _, _ := tx.DueOutbox(now, 10)
		if len(d) != 0 {
			t.Errorf("still due: %+v", d)
		}
		if n, _ := tx.OutboxStats(); n != 2 {
			t.Errorf("queued %d, want 2", n)
		}
		if c, err := tx.CheckOutbox(); err != nil || !c.OK() {
			t.Errorf("index and rows: %v, %v", c, err)
		}
		return nil
	})
}

func TestRunTwiceKeepsTheSecondRunOnly(t *testing.T) {
	s, err := openBolt(t.TempDir(), Options{RunTwice: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, hooks := 0, 0
	var got uint64
	err = s.Update(context.Background(), func(tx Tx) error {
		runs++
		n, err := tx.NextTicketNumber("ACME")
		if err != nil {
			return err
		}
		got = n
		tx.AfterCommit(func() { hooks++ })
		return tx.SetState("runs", runs)
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 || hooks != 1 {
		t.Fatalf("function ran %d times, after-commit hook %d times; want 2 and 1", runs, hooks)
	}
	var stored int
	var last uint64
	s.View(func(tx Tx) error {
		if _, err := tx.State("runs", &stored); err != nil {
			return err
		}
		last, err = tx.LastTicketNumber("ACME")
		return err
	})
	if stored != 2 || got != 1 || last != 1 {
		t.Fatalf("stored run %d, number %d (last %d): want the second run's result and the first run rolled back (2, 1, 1)", stored, got, last)
	}
}

func TestAfterCommitNeverRunsForAFailedFunction(t *testing.T) {
	s := openTest(t)
	hooks := 0
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx Tx) error {
		tx.AfterCommit(func() { hooks++ })
		return boom
	})
	if !errors.Is(err, boom) || hooks != 0 {
		t.Fatalf("err %v, hooks %d: a rolled-back function's hooks must not run", err, hooks)
	}
}
