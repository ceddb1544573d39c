package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillStore makes a store in dir with n tickets, each with a message whose
// raw mail is a blob, and returns the blob files' paths.
func fillStore(t *testing.T, dir string, n int) []string {
	t.Helper()
	s, err := openBolt(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		// Above InlineBlobMax: these tests are about the mail files
		// next to the database (small blobs live inside it).
		h, _, err := s.PutBlob(strings.NewReader(fmt.Sprintf("raw message %d\n%s", i, strings.Repeat("x", InlineBlobMax))))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Update(context.Background(), func(tx Tx) error {
			num, err := tx.NextTicketNumber("ACME")
			if err != nil {
				return err
			}
			key := TicketKey("ACME", num)
			if err := tx.PutTicket(&Ticket{Key: key, Project: "ACME", Number: num, Subject: strings.Repeat("s", 500)}); err != nil {
				return err
			}
			return tx.AddMessage(&Message{Ticket: key, Project: "ACME", Raw: h, Text: strings.Repeat("t", 4000)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return blobFiles(t, s.blobDir)
}

func blobFiles(t *testing.T, blobDir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(blobDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != InstallationFile {
			out = append(out, path)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func mustRefuse(t *testing.T, dir string, want string) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err == nil {
		s.Close()
		t.Fatal("a damaged store was opened")
	}
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("error %v does not match ErrDamaged", err)
	}
	t.Logf("refused: %v", err)
	for _, w := range []string{want, "ticketgate restore", "check-store"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not say %q", err, w)
		}
	}
}

// TestEmptyDatabaseNextToBlobsIsRefused reproduces issue 15 item 11: a
// zero-length ticketgate.db next to an existing blobs/ used to start as a
// new store (numbering at 1) whose sweep deleted every mail file.
func TestEmptyDatabaseNextToBlobsIsRefused(t *testing.T) {
	for _, how := range []string{"empty", "missing"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			blobs := fillStore(t, dir, 5)
			db := filepath.Join(dir, "ticketgate.db")
			if how == "empty" {
				if err := os.Truncate(db, 0); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Remove(db); err != nil {
				t.Fatal(err)
			}
			mustRefuse(t, dir, how)
			if got := blobFiles(t, filepath.Join(dir, "blobs")); len(got) != len(blobs) {
				t.Fatalf("%d of %d blobs left", len(got), len(blobs))
			}
			st, err := os.Stat(db)
			if how == "empty" && (err != nil || st.Size() != 0) || how == "missing" && err == nil {
				t.Fatalf("the refused database was touched: %v %v", st, err)
			}
		})
	}
}

// TestTruncatedDatabaseIsRefusedWithoutPanic: a database cut in half used
// to crash the process (bbolt reads past the end of the mapped file).
func TestTruncatedDatabaseIsRefusedWithoutPanic(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 60)
	db := filepath.Join(dir, "ticketgate.db")
	// Half of what the header says is in use (the file itself may be
	// larger: bbolt grows it 16 MiB at a time once its map is larger).
	head := make([]byte, boltMetaOffset+boltMetaSize)
	f, err := os.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := parseBoltMeta(head)
	if !ok {
		t.Fatal("no valid first meta page")
	}
	if err := os.Truncate(db, int64(m.pgid)*int64(m.pageSize)/2); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, dir, "truncated")
}

// TestDamagedPagesAreRefusedWithoutPanic: pages overwritten inside a file
// of the right size fail the check at open instead of crashing later.
func TestDamagedPagesAreRefusedWithoutPanic(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 60)
	db := filepath.Join(dir, "ticketgate.db")
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	// Keep the two meta pages; scribble over everything else.
	junk := []byte(strings.Repeat("\xff\x13garbage!", 512))
	for off := int64(2 * 4096); off < st.Size(); off += int64(len(junk)) {
		f.WriteAt(junk, off)
	}
	f.Close()
	mustRefuse(t, dir, "ticketgate.db")
}

func TestGarbageDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 3)
	if err := os.WriteFile(filepath.Join(dir, "ticketgate.db"), []byte(strings.Repeat("not a database ", 1000)), 0o640); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, dir, "no valid bbolt header")
}

// TestOtherInstallationIsRefused: a database of another installation put
// next to this one's mail files is refused.
func TestOtherInstallationIsRefused(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	fillStore(t, dir, 2)
	fillStore(t, other, 2)
	if err := os.Rename(filepath.Join(other, "ticketgate.db"), filepath.Join(dir, "ticketgate.db")); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, dir, "belongs to installation")
}

// TestExistingStoreGetsAnInstallationID: a store made before installation
// ids gets one on open, recorded in both places, after a backup copy.
func TestExistingStoreGetsAnInstallationID(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 2)
	// What an older version left: no id in meta, no file beside the blobs.
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Delete([]byte(metaInstallation)) })
	db.Close()
	if err := os.Remove(filepath.Join(dir, "blobs", InstallationFile)); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := s.InstallationID()
	s.Close()
	file, err := os.ReadFile(filepath.Join(dir, "blobs", InstallationFile))
	if err != nil || strings.TrimSpace(string(file)) != id || len(id) != 32 {
		t.Fatalf("installation id %q, file %q (%v)", id, file, err)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "ticketgate.db.pre-installation-id-*"))
	if len(backups) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	// And it stays the same.
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.InstallationID() != id {
		t.Fatalf("id changed from %s to %s", id, s.InstallationID())
	}
}

// TestSweepRefusesWhenARecordDoesNotDecode: a message that cannot be read
// might name any blob, so the sweep removes nothing and says why.
func TestSweepRefusesWhenARecordDoesNotDecode(t *testing.T) {
	dir := t.TempDir()
	blobs := fillStore(t, dir, 3)
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMessages).Put(putU64(2), []byte(`{"id":2,"raw":`)) })
	db.Close()
	// An unreferenced old file too: even it stays while the scan fails.
	orphan := filepath.Join(dir, "blobs", "00", strings.Repeat("0", 62))
	os.MkdirAll(filepath.Dir(orphan), 0o750)
	os.WriteFile(orphan, []byte("orphan"), 0o640)
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range append(blobs, orphan) {
		os.Chtimes(p, old, old)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.SweepBlobs(time.Hour)
	if err == nil || n != 0 || !strings.Contains(err.Error(), "nothing removed") || !strings.Contains(err.Error(), "messages/2") {
		t.Fatalf("sweep removed %d, err %v; want nothing removed and the record named", n, err)
	}
	if got := blobFiles(t, filepath.Join(dir, "blobs")); len(got) != len(blobs)+1 {
		t.Fatalf("%d files left of %d", len(got), len(blobs)+1)
	}
}

// TestSweepKeepsTheInstallationFile: the sweep only removes files named
// like blobs.
func TestSweepKeepsTheInstallationFile(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 1)
	path := filepath.Join(dir, "blobs", InstallationFile)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(path, old, old)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.SweepBlobs(time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("sweep removed the installation file: %v", err)
	}
}
