package main

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
)

// TestOfflineCommandsKeepOwner: `compact` and `restore` run as root leave
// the data_dir's files owned by the data_dir's owner (the service user),
// and ticketgate.db keeps its mode, so the daemon can open its store
// again.
func TestOfflineCommandsKeepOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it runs compact and restore as root on a data_dir another user owns")
	}
	const uid, gid = 65534, 65534 // nobody, nogroup
	dir := t.TempDir()
	path := writeConfig(t, dir, "")
	operator(t, path) // backup needs an operator
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, e := runCmd([]string{"deliver", "-c", path}, "From: carl@customer.example\nTo: acme@support.example.com\nSubject: s\n\nb\n"); code != exitOK {
		t.Fatalf("deliver: %d %s", code, e)
	}
	backup := filepath.Join(dir, "backup.tar")
	if code, _, e := runCmd([]string{"backup", "-c", path, backup}, ""); code != exitOK {
		t.Fatalf("backup: %d %s", code, e)
	}
	d.Shutdown(context.Background())

	chownAll := func(root string) {
		t.Helper()
		filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			return os.Lchown(p, uid, gid)
		})
	}
	notOwned := func(root string) []string {
		var bad []string
		filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			st, _ := os.Lstat(p)
			if s := st.Sys().(*syscall.Stat_t); s.Uid != uid || s.Gid != gid {
				bad = append(bad, p)
			}
			return nil
		})
		return bad
	}

	data := cfg.DataDir
	chownAll(data)
	db := filepath.Join(data, "ticketgate.db")
	os.Chmod(db, 0o600)
	if code, out, e := runCmd([]string{"compact", "-c", path}, ""); code != exitOK {
		t.Fatalf("compact: %d %s %s", code, out, e)
	}
	if bad := notOwned(data); len(bad) > 0 {
		t.Errorf("after compact as root, not the service user's: %v", bad)
	}
	if st, _ := os.Stat(db); st.Mode().Perm() != 0o600 {
		t.Errorf("compact changed ticketgate.db's mode to %v", st.Mode().Perm())
	}

	restored := filepath.Join(dir, "restored")
	os.Mkdir(restored, 0o750)
	os.Lchown(restored, uid, gid)
	t.Setenv("TICKETGATE_DATA_DIR", restored)
	if code, out, e := runCmd([]string{"restore", "-c", path, backup}, ""); code != exitOK {
		t.Fatalf("restore: %d %s %s", code, out, e)
	}
	if bad := notOwned(restored); len(bad) > 0 {
		t.Errorf("after restore as root, not the service user's: %v", bad)
	}
	if _, err := os.Stat(filepath.Join(restored, "ticketgate.db")); err != nil {
		t.Fatal(err)
	}

	// A data_dir that does not exist yet: root cannot know whose it
	// should be, so restore refuses and says what to do.
	t.Setenv("TICKETGATE_DATA_DIR", filepath.Join(dir, "missing"))
	if code, _, e := runCmd([]string{"restore", "-c", path, backup}, ""); code == exitOK || !strings.Contains(e, "create it owned by the service user") {
		t.Fatalf("restore into a missing data_dir as root: %d %s", code, e)
	}
}
