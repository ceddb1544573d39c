package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/internal/pgtest"
)

// TestMigrationsMatchVersion: SchemaVersion is the number of migration
// steps, so adding a step without bumping it (or the reverse) fails here.
func TestMigrationsMatchVersion(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("%d migrations, SchemaVersion %d", len(migrations), SchemaVersion)
	}
}

// TestConcurrentOpenMigratesOnce: eight nodes open one empty database at
// the same moment. The advisory lock lets one create the schema while the
// others wait; all then see the same schema version and installation id,
// and the migration ran once (a second run of step 1 would fail on its
// CREATE TABLE).
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.Database(t, "race")
	const nodes = 8
	ids := make([]string, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(context.Background(), dsn, t.TempDir(), Options{MaxConns: 2})
			if err != nil {
				errs[i] = err
				return
			}
			ids[i] = db.InstallationID()
			db.Close()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("installation ids differ: %v", ids)
		}
	}
	var v, rows int
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), "SELECT max(version), count(*) FROM schema_version").Scan(&v, &rows); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion || rows != 1 {
		t.Errorf("schema_version: version %d in %d rows, want %d in one", v, rows, SchemaVersion)
	}
}
