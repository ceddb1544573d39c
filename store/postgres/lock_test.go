package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// TestLockLostWhenConnectionEnds: when the database ends a lock's
// connection (a failover, an administrator), the holder is told through
// Lost, and another node can take the lock.
func TestLockLostWhenConnectionEnds(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	dsn := c.srv.Database(t, dbName(dir))
	ctx := context.Background()
	a, err := postgres.Open(ctx, dsn, dir, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	held, err := a.Lock(ctx, "imap:ACME")
	if err != nil {
		t.Fatal(err)
	}
	c.srv.Exec(t, dbName(dir), "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted")
	<-held.Lost()
	held.Release()
	b, err := postgres.Open(ctx, dsn, dir, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	again, err := b.Lock(ctx, "imap:ACME")
	if err != nil {
		t.Fatal(err)
	}
	again.Release()
}

// TestDamagedBlobNotServed: a blob whose chunks no longer hash to its
// name is refused with store.ErrBlobDamaged; a failed commit is reported
// by CommitFailing until one succeeds.
func TestDamagedBlobNotServed(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	db, err := c.open(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, _, err := db.PutBlob(strings.NewReader("the raw mail"))
	if err != nil {
		t.Fatal(err)
	}
	c.srv.Exec(t, dbName(dir), "UPDATE blob_chunks SET data = 'the raw mai!' WHERE hash = $1", h)
	if f, err := db.OpenBlob(h); !errors.Is(err, store.ErrBlobDamaged) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("damaged blob opened: %v", err)
	}
	ctx := context.Background()
	c.srv.Exec(t, "postgres", "ALTER DATABASE "+dbName(dir)+" SET default_transaction_read_only = on")
	c.srv.Exec(t, "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", dbName(dir))
	// A connection the database ended fails a transaction too: go
	// through them until the refusal is the read-only one.
	for i := 0; ; i++ {
		err := db.Update(ctx, func(tx store.Tx) error { return tx.SetState("x", 1) })
		if err != nil && strings.Contains(err.Error(), "read-only") {
			break
		}
		if i == 50 {
			t.Fatalf("no read-only refusal: %v", err)
		}
	}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.SetState("x", 1) }); err == nil {
		t.Fatal("a write to a read-only database succeeded")
	}
	if db.CommitFailing() == nil {
		t.Fatal("CommitFailing is nil after a failed write")
	}
	c.srv.Exec(t, "postgres", "ALTER DATABASE "+dbName(dir)+" SET default_transaction_read_only = off")
	c.srv.Exec(t, "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", dbName(dir))
	// Connections the database ended fail once each; then one commits.
	for i := 0; db.Update(ctx, func(tx store.Tx) error { return tx.SetState("x", 1) }) != nil; i++ {
		if i == 50 {
			t.Fatal("no commit succeeds after the database is writable again")
		}
	}
	if err := db.CommitFailing(); err != nil {
		t.Fatalf("CommitFailing after a good commit: %v", err)
	}
}
