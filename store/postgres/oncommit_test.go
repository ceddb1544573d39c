package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// TestOnCommitSeesTheCommit: Options.OnCommit runs after every commit,
// when a read already sees what was written, and not for a function that
// failed.
func TestOnCommitSeesTheCommit(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	var mu sync.Mutex
	var seen []int
	var db *postgres.DB
	db, err := postgres.Open(context.Background(), c.srv.Database(t, dbName(dir)), dir, postgres.Options{OnCommit: func() {
		var n int
		if err := db.View(func(tx store.Tx) error { _, err := tx.State("n", &n); return err }); err != nil {
			t.Error(err)
		}
		mu.Lock()
		seen = append(seen, n)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for n := 1; n <= 3; n++ {
		if err := db.Update(context.Background(), func(tx store.Tx) error { return tx.SetState("n", n) }); err != nil {
			t.Fatal(err)
		}
	}
	failed := errors.New("refused")
	if err := db.Update(context.Background(), func(tx store.Tx) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("failing function: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != 1 || seen[1] != 2 || seen[2] != 3 {
		t.Fatalf("OnCommit saw %v, want [1 2 3]", seen)
	}
}
