package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// writeRaw changes a closed store's bbolt file directly, as an older
// schema or a damaged file would have it; fn's error fails the test.
func writeRaw(t testing.TB, dir string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// WriteRaw is writeRaw for the package's external tests (the
// conformance suite's bbolt hooks).
var WriteRaw = writeRaw
