package store

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent hot copy of the store as a tar archive: the
// bbolt file as one read transaction saw it, then every blob that copy
// refers to. Blobs are immutable and content-addressed, and the sweep and
// retention jobs cannot remove one while a backup runs (blobMu), so the
// archive restores to exactly that moment.
func (s *boltDB) Backup(w io.Writer) error {
	s.blobMu.RLock()
	defer s.blobMu.RUnlock()
	tw := tar.NewWriter(w)
	var refs []string
	err := s.db.View(func(btx *bolt.Tx) error {
		hdr := &tar.Header{Name: "ticketgate.db", Mode: 0o640, Size: btx.Size(), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := btx.WriteTo(tw); err != nil {
			return err
		}
		seen := map[string]bool{}
		return (&boltTx{btx: btx}).ForEachBlobRef(func(h string) {
			if !seen[h] {
				seen[h] = true
				refs = append(refs, h)
			}
		})
	})
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	for _, h := range refs {
		if err := s.addBlob(tw, h); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

func (s *boltDB) addBlob(tw *tar.Writer, h string) error {
	f, err := os.Open(s.blobPath(h))
	if errors.Is(err, fs.ErrNotExist) {
		// Removed by retention before this snapshot's record said so
		// cannot happen under blobMu; a blob missing here was already
		// missing in the store. The archive stays usable without it.
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: backup blob: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/" + h[:2] + "/" + h[2:], Mode: 0o640, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// Restore unpacks a Backup archive into dir, which must not hold a store
// already. Run it with the daemon stopped.
func Restore(r io.Reader, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "ticketgate.db")); err == nil {
		return fmt.Errorf("store: restore: %s already holds a store; move it away first", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	sawDB := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("store: restore: %w", err)
		}
		name := filepath.Clean(hdr.Name)
		if name != "ticketgate.db" && !(strings.HasPrefix(name, "blobs/") && validHash(strings.ReplaceAll(strings.TrimPrefix(name, "blobs/"), "/", ""))) {
			return fmt.Errorf("store: restore: unexpected entry %q in archive", hdr.Name)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return err
		}
		if err := writeSynced(dst, tr); err != nil {
			return fmt.Errorf("store: restore %s: %w", name, err)
		}
		sawDB = sawDB || name == "ticketgate.db"
	}
	if !sawDB {
		return fmt.Errorf("store: restore: archive has no ticketgate.db")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		return fmt.Errorf("store: restore: the restored store does not open: %w", err)
	}
	return s.Close()
}

func writeSynced(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Compact rewrites the bbolt file of the store in dir without free pages,
// so space freed by retention is returned to the file system. Run it with
// the daemon stopped. It returns the sizes before and after.
func Compact(dir string) (int64, int64, error) {
	path := filepath.Join(dir, "ticketgate.db")
	src, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact: open (is the daemon running?): %w", err)
	}
	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o640, nil)
	if err != nil {
		src.Close()
		return 0, 0, err
	}
	err = bolt.Compact(dst, src, 64<<20)
	src.Close()
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	before, _ := os.Stat(path)
	after, _ := os.Stat(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return 0, 0, err
	}
	if err := syncDir(dir); err != nil {
		return 0, 0, err
	}
	return before.Size(), after.Size(), nil
}
