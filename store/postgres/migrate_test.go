package postgres

import "testing"

// TestMigrationsMatchVersion: SchemaVersion is the number of migration
// steps, so adding a step without bumping it (or the reverse) fails here.
func TestMigrationsMatchVersion(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("%d migrations, SchemaVersion %d", len(migrations), SchemaVersion)
	}
}
