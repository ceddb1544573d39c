package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// TestStoreToolsOnPostgres: with store.driver postgres, check-store checks
// the database (a sound one passes, a damaged record exits 3), compact
// says there is nothing to do, and restore points to pg_restore.
func TestStoreToolsOnPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	dir := t.TempDir()
	dsn := srv.Database(t, "tools")
	dsnFile := filepath.Join(dir, "pg.dsn")
	if err := os.WriteFile(dsnFile, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, dir, "store:\n  driver: postgres\n  postgres:\n    dsn_file: "+dsnFile+"\n")
	st, err := postgres.Open(context.Background(), dsn, filepath.Join(dir, "data"), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := st.PutBlob(strings.NewReader("raw mail"))
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx store.Tx) error {
		n, err := tx.NextTicketNumber("ACME")
		if err != nil {
			return err
		}
		key := store.TicketKey("ACME", n)
		if err := tx.PutTicket(&store.Ticket{Key: key, Project: "ACME", Number: n}); err != nil {
			return err
		}
		return tx.AddMessage(&store.Message{Ticket: key, Project: "ACME", Raw: h})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd([]string{"check-store", "-c", path}, "")
	if code != exitOK || !strings.Contains(stdout, "ok (installation ") {
		t.Fatalf("sound store: exit %d\n%s%s", code, stdout, stderr)
	}
	srv.Exec(t, "tools", `UPDATE messages SET data = '\x017b67617262616765'`)
	code, stdout, stderr = runCmd([]string{"check-store", "-c", path}, "")
	if code != exitDamagedStore || !strings.Contains(stdout, "does not decode") {
		t.Fatalf("damaged record: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := runCmd([]string{"compact", "-c", path}, ""); code != exitOK || !strings.Contains(stdout, "nothing to compact") {
		t.Errorf("compact: exit %d: %s", code, stdout)
	}
	if code, _, stderr := runCmd([]string{"restore", "-c", path, filepath.Join(dir, "backup.tar")}, ""); code == exitOK || !strings.Contains(stderr, "pg_restore") {
		t.Errorf("restore: exit %d: %s", code, stderr)
	}
}
