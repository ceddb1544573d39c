package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestFreelistWarning: a store whose file is mostly free pages says at
// start-up that it wants compacting; a fresh one says nothing.
func TestFreelistWarning(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	opts := Options{NoSync: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	st, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "ticketgate compact") {
		t.Fatalf("a fresh store warned: %s", logs.String())
	}
	db := st.(*boltDB)
	// 100 MiB of values in a bucket of their own, then the bucket deleted:
	// its pages go to the freelist.
	val := bytes.Repeat([]byte("x"), 1<<20)
	for i := range 100 {
		if err := db.db.Update(func(btx *bolt.Tx) error {
			b, err := btx.CreateBucketIfNotExists([]byte("scratch"))
			if err != nil {
				return err
			}
			return b.Put(fmt.Appendf(nil, "%03d", i), val)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.db.Update(func(btx *bolt.Tx) error { return btx.DeleteBucket([]byte("scratch")) }); err != nil {
		t.Fatal(err)
	}
	// A commit of the store's own releases the pages still pending.
	if err := st.Update(context.Background(), func(tx Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	logs.Reset()
	st, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !strings.Contains(logs.String(), "ticketgate compact") {
		t.Fatalf("no warning for a store that is mostly free pages; log: %s", logs.String())
	}
}
