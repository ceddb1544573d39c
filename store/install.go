package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Every store belongs to one installation: a random id written into the
// database (meta/installation_id) when it is created, and into
// blobs/installation-id beside the mail files. Open compares the two and
// checks the file before serving it, so that a database that was lost,
// emptied, truncated or swapped is refused instead of started afresh next
// to the mail files of another one (numbering would restart at 1 and the
// hourly sweep would delete every mail file the new database does not
// name).

// InstallationFile is the name, inside the blob folder, of the file that
// holds the installation id.
const InstallationFile = "installation-id"

const metaInstallation = "installation_id"

// ErrDamaged marks a store that must not be served: the database is
// missing, empty, truncated or unreadable next to existing mail files, or
// it belongs to another installation. Nothing was changed; the way out is
// a restore from backup (DamagedError says how).
var ErrDamaged = errors.New("store: damaged, or not this installation's")

// DamagedError says what is wrong with a refused store and how to restore.
type DamagedError struct {
	Dir     string
	Problem string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("store in %s refused: %s. Nothing was changed. "+
		"Stop the daemon, move %s aside (keep it) and restore the last backup into an empty data_dir "+
		"with `ticketgate restore FILE` (README: \"Restoring from a backup\"); `ticketgate check-store` lists what is wrong",
		e.Dir, e.Problem, e.Dir)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// Temporary is false: retrying (or restarting) does not help.
func (e *DamagedError) Temporary() bool { return false }

func damaged(dir, format string, args ...any) error {
	return &DamagedError{Dir: dir, Problem: fmt.Sprintf(format, args...)}
}

// newInstallationID returns 128 random bits in hex.
func newInstallationID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// blobFolderState reads the installation id beside the blobs ("" when the
// file is missing) and whether the folder holds anything at all.
func blobFolderState(blobDir string) (id string, used bool, err error) {
	entries, err := os.ReadDir(blobDir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: read %s: %w", blobDir, err)
	}
	data, err := os.ReadFile(filepath.Join(blobDir, InstallationFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", false, fmt.Errorf("store: read installation id: %w", err)
	default:
		id = strings.TrimSpace(string(data))
	}
	return id, len(entries) > 0, nil
}

// writeInstallationFile writes id beside the blobs, durably.
func writeInstallationFile(blobDir, id string) error {
	path := filepath.Join(blobDir, InstallationFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(id + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(blobDir)
}

// preflight checks the database file before bbolt maps it: an empty or
// missing database next to a used blob folder, and a file shorter than its
// own header says (bbolt would read past its end and crash the process),
// are refused. It reads two pages, whatever the store's size.
func preflight(dir, dbPath, blobDir string) (fresh bool, err error) {
	_, blobsUsed, err := blobFolderState(blobDir)
	if err != nil {
		return false, err
	}
	st, err := os.Stat(dbPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && st.Size() == 0:
		if blobsUsed {
			what := "missing"
			if err == nil {
				what = "empty (0 bytes)"
			}
			return false, damaged(dir, "ticketgate.db is %s but %s holds the mail files of an existing installation: "+
				"a new store would restart ticket numbering and its blob sweep would delete those files", what, blobDir)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("store: %w", err)
	}
	return false, checkHeader(dir, dbPath, st.Size())
}

// bbolt's file header: two meta pages, each a 16-byte page header and then
// magic, version, page size, flags (4 bytes each), root bucket (root page,
// sequence), freelist page, high-water page id, transaction id and an
// FNV-64a checksum of everything before it (8 bytes each), in the
// machine's byte order (little-endian on every platform we ship).
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltMetaOffset = 16
	boltMetaSize   = 64
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64
	txid     uint64
}

func parseBoltMeta(b []byte) (boltMeta, bool) {
	if len(b) < boltMetaOffset+boltMetaSize {
		return boltMeta{}, false
	}
	m := b[boltMetaOffset : boltMetaOffset+boltMetaSize]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// checkHeader reads the meta pages and compares the high-water mark of the
// newest valid one with the file's size.
func checkHeader(dir, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	first := make([]byte, boltMetaOffset+boltMetaSize)
	if _, err := io.ReadFull(f, first); err != nil {
		return damaged(dir, "ticketgate.db is %d bytes, too short for a database header", size)
	}
	var metas []boltMeta
	m0, ok0 := parseBoltMeta(first)
	if ok0 {
		metas = append(metas, m0)
	}
	// The second meta page follows the first; its offset is the page
	// size, which the first one names (or the usual sizes if it is bad).
	offsets := []int64{4096, 8192, 16384, 65536}
	if ok0 {
		offsets = []int64{int64(m0.pageSize)}
	}
	for _, off := range offsets {
		b := make([]byte, boltMetaOffset+boltMetaSize)
		if _, err := f.ReadAt(b, off); err != nil {
			continue
		}
		if m1, ok := parseBoltMeta(b); ok {
			metas = append(metas, m1)
			break
		}
	}
	if len(metas) == 0 {
		return damaged(dir, "ticketgate.db has no valid bbolt header (both meta pages are bad): it is not a database, or it was overwritten")
	}
	best := metas[0]
	for _, m := range metas[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	if need := int64(best.pgid) * int64(best.pageSize); size < need {
		return damaged(dir, "ticketgate.db is truncated: %d bytes, but its header says %d", size, need)
	}
	return nil
}

// protect runs fn and turns a panic, and a memory fault on the mapped file
// (a damaged database read past its end), into a DamagedError instead of
// a crash.
func protect(dir string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if p := recover(); p != nil {
			err = damaged(dir, "reading ticketgate.db failed: %v", p)
		}
	}()
	return fn()
}

// quickCheckLimit is the largest database (its high-water mark) whose full
// bbolt page check runs at every start: reading 16 MiB with a cold page
// cache takes about 0.3 s (64 MiB took 1.2 s), well inside the 2 s
// cold-start budget. Larger ones get the header and bucket checks only,
// and `ticketgate check-store` for the rest.
const quickCheckLimit = 16 << 20

// quickCheck looks at what can be read cheaply in a snapshot: every
// top-level bucket's first and last key (a damaged tree fails here), and,
// for a small file, bbolt's own consistency check of every page.
func (s *boltDB) quickCheck() error {
	return protect(s.dir, func() error {
		return s.db.View(func(btx *bolt.Tx) error {
			err := btx.ForEach(func(name []byte, b *bolt.Bucket) error {
				c := b.Cursor()
				c.First()
				c.Last()
				return nil
			})
			if err != nil {
				return damaged(s.dir, "reading its buckets: %v", err)
			}
			if btx.Size() > quickCheckLimit {
				return nil
			}
			var first error
			for err := range btx.Check() {
				if first == nil {
					first = err
				}
			}
			if first != nil {
				return damaged(s.dir, "bbolt consistency check: %v", first)
			}
			return nil
		})
	})
}

// adoptInstallation makes sure the database and the blob folder name the
// same installation: a new store gets a new id (in both); a store made
// before installation ids gets one, after a backup copy of its database;
// a mismatch is refused. Read-only, it only compares.
func (s *boltDB) adoptInstallation(fresh, readOnly bool) error {
	var dbID string
	s.db.View(func(btx *bolt.Tx) error {
		if b := btx.Bucket(bMeta); b != nil {
			dbID = string(b.Get([]byte(metaInstallation)))
		}
		return nil
	})
	fileID, _, err := blobFolderState(s.blobDir)
	if err != nil {
		return err
	}
	switch {
	case dbID != "" && fileID != "" && dbID != fileID:
		return damaged(s.dir, "ticketgate.db belongs to installation %s but %s to installation %s", dbID, s.blobDir, fileID)
	case dbID == "" && fileID != "":
		return damaged(s.dir, "ticketgate.db has no installation id but %s belongs to installation %s: the database is not the one these mail files belong to", s.blobDir, fileID)
	case readOnly:
		s.installation = dbID
		return nil
	case dbID == "":
		if !fresh {
			backup, err := s.backupDB("ticketgate.db.pre-installation-id-" + time.Now().UTC().Format("20060102T150405Z"))
			if err != nil {
				return fmt.Errorf("store: backup before recording the installation id: %w", err)
			}
			s.log.Info("store: giving this store an installation id; backed up first", "backup", backup)
		}
		dbID = newInstallationID()
		err := s.db.Update(func(btx *bolt.Tx) error {
			return btx.Bucket(bMeta).Put([]byte(metaInstallation), []byte(dbID))
		})
		if err != nil {
			return fmt.Errorf("store: record installation id: %w", err)
		}
	}
	if fileID == "" {
		if err := writeInstallationFile(s.blobDir, dbID); err != nil {
			return fmt.Errorf("store: write %s: %w", InstallationFile, err)
		}
	}
	s.installation = dbID
	return nil
}

// InstallationID names the installation the store belongs to.
func (s *boltDB) InstallationID() string { return s.installation }
