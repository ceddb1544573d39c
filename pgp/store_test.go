package pgp

import (
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

func openStore(t *testing.T) store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
