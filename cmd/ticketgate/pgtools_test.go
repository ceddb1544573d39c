package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/internal/pgtest"
)

// TestOnlineToolsOnPostgres: with store.driver postgres and the daemon
// running, `backup` says that pg_dump is the tool (and leaves no file
// behind), `purge --dry-run` lists what retention would delete from the
// database, and `store copy` refuses to run beside a live daemon.
func TestOnlineToolsOnPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "pg.dsn")
	if err := os.WriteFile(dsnFile, []byte(srv.Database(t, "online")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, dir, "store:\n  driver: postgres\n  postgres:\n    dsn_file: "+dsnFile+"\n")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), "admin:\n", "admin:\n  operators: [alice@example.com]\n", 1)), 0o600)
	serveInProcess(t, path)

	archive := filepath.Join(dir, "backup.tar")
	code, _, stderr := runCmd([]string{"backup", "-c", path, archive}, "")
	if code == exitOK || !strings.Contains(stderr, "pg_dump") {
		t.Errorf("backup on PostgreSQL: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(archive); !os.IsNotExist(err) {
		t.Errorf("backup on PostgreSQL left a file: %v", err)
	}
	if code, out, stderr := runCmd([]string{"purge", "-c", path, "--dry-run"}, ""); code != exitOK || !strings.Contains(out, "0 item(s)") {
		t.Errorf("purge --dry-run on PostgreSQL: exit %d\n%s%s", code, out, stderr)
	}
	other := writeConfig(t, t.TempDir(), "")
	if code, _, stderr := runCmd([]string{"store", "copy", "--from", path, "--to", other}, ""); code != exitTempFail || !strings.Contains(stderr, "running") {
		t.Errorf("store copy beside a running daemon: exit %d: %s", code, stderr)
	}
}
