package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestStart starts a cluster, creates a database and talks to it.
func TestStart(t *testing.T) {
	s := Start(t)
	dsn := s.Database(t, "probe")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "probe" {
		t.Fatalf("current_database %q: %v", db, err)
	}
}
