package postgres_test

import (
	"context"
	"testing"

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
