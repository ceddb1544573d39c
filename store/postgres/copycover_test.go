package postgres_test

import (
	"context"
	"testing"

	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// TestCopyCoveragePostgres: every table of a fully migrated schema
// (information_schema, so a table added by a future migration is listed
// without anyone updating this test) is classified in store.CopyCoverage,
// and every PostgreSQL entry there names a table that exists.
func TestCopyCoveragePostgres(t *testing.T) {
	srv := pgtest.Start(t)
	db, err := postgres.Open(context.Background(), srv.Database(t, "cover"), t.TempDir(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	backend, cs, err := db.Layout()
	if err != nil {
		t.Fatal(err)
	}
	if backend != store.BackendPostgres {
		t.Fatalf("backend %q", backend)
	}
	tables := map[string]bool{}
	for _, c := range cs {
		tables[c.Name] = true
		if _, ok := store.CoverageOf(backend, c.Name); !ok {
			t.Errorf("table %q is not in store.CopyCoverage: `store copy` would leave it out", c.Name)
		}
	}
	if !tables["tickets"] || !tables["hooks"] {
		t.Fatalf("tables %v: the listing is broken", tables)
	}
	for _, e := range store.CopyCoverage() {
		if e.Backend != store.BackendBolt && !tables[e.Name] {
			t.Errorf("store.CopyCoverage names table %q, which the schema does not have", e.Name)
		}
	}
}
