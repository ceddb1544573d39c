package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ticketgate/ticketgate/fault"
)

// fileBlob is the BlobWriter of the blob folder: it streams bytes into a
// new content-addressed file. Commit fsyncs it and moves it to its final
// name (the SHA-256 of its content); until then nothing refers to it. Abort (or an unreferenced blob surviving a
// crash) leaves a file that SweepBlobs removes later.
type fileBlob struct {
	s *boltDB
	*Spool
	done bool
}

// NewBlob starts a blob.
func (s *boltDB) NewBlob() (BlobWriter, error) {
	w, err := s.newBlob()
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (s *boltDB) newBlob() (*fileBlob, error) {
	sp, err := NewSpool(s.tmpDir)
	if err != nil {
		return nil, err
	}
	return &fileBlob{s: s, Spool: sp}, nil
}

// Commit makes the blob durable under its content hash and returns the hash.
func (w *fileBlob) Commit() (string, error) {
	if w.done {
		return "", errors.New("store: blob already finished")
	}
	w.done = true
	sum := w.Sum()
	tmp := w.f.Name()
	if err := w.sync(); err != nil {
		w.f.Close()
		os.Remove(tmp)
		return "", fault.Temporary(fmt.Errorf("store: sync blob: %w", err))
	}
	if err := w.f.Close(); err != nil {
		os.Remove(tmp)
		return "", fault.Temporary(fmt.Errorf("store: close blob: %w", err))
	}
	final := w.s.blobPath(sum)
	w.s.placeMu.Lock()
	defer w.s.placeMu.Unlock()
	if _, err := os.Stat(final); err == nil {
		// Same content already stored (a retried message, a shared
		// attachment): keep the existing copy (durable, or pending and
		// durable with the next Update).
		os.Remove(tmp)
		return sum, nil
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		os.Remove(tmp)
		return "", fault.Temporary(fmt.Errorf("store: blob dir: %w", err))
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fault.Temporary(fmt.Errorf("store: place blob: %w", err))
	}
	if w.s.noSync {
		return sum, nil
	}
	if err := syncDir(dir); err != nil {
		return "", fault.Temporary(fmt.Errorf("store: sync blob dir: %w", err))
	}
	return sum, nil
}

// sync makes the spooled file durable, unless the store never syncs
// (Options.NoSync: test and bulk-load stores).
func (w *fileBlob) sync() error {
	if w.s.noSync {
		return nil
	}
	return w.f.Sync()
}

// CommitPending moves the blob to its final name without waiting for the
// disk and returns the hash. The blob becomes durable with the next
// commit of the store's commit loop: every Update that starts after
// CommitPending returns makes the blob durable (fsync of the file and its
// folder) before its own commit, so a record referring to the blob is
// never on disk without the blob. Concurrent ingestions thereby share the
// blob fsyncs with the group commit instead of paying two per message.
// A caller that acknowledges without an Update must call FlushBlobs.
func (w *fileBlob) CommitPending() (string, error) {
	if w.done {
		return "", errors.New("store: blob already finished")
	}
	w.done = true
	if w.s.noSync {
		// Nothing is ever fsynced: the durable path costs the same.
		w.done = false
		return w.Commit()
	}
	sum := w.Sum()
	tmp := w.f.Name()
	final := w.s.blobPath(sum)
	// Finding, placing and registering a blob is one step: a concurrent
	// writer of the same content either places it itself or finds it
	// already registered as pending, so its Update waits for the sync.
	w.s.placeMu.Lock()
	defer w.s.placeMu.Unlock()
	if _, err := os.Stat(final); err == nil {
		// Same content already stored. It may itself still be pending:
		// then this caller's Update waits for its sync too.
		w.f.Close()
		os.Remove(tmp)
		return sum, nil
	}
	dir := filepath.Dir(final)
	created := false
	if _, err := os.Stat(dir); err != nil {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			w.f.Close()
			os.Remove(tmp)
			return "", fault.Temporary(fmt.Errorf("store: blob dir: %w", err))
		}
		created = true
	}
	if err := os.Rename(tmp, final); err != nil {
		w.f.Close()
		os.Remove(tmp)
		return "", fault.Temporary(fmt.Errorf("store: place blob: %w", err))
	}
	w.s.addPending(pendingBlob{f: w.f, dir: dir, newDir: created})
	return sum, nil
}

// Abort discards the blob.
func (w *fileBlob) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.Discard()
}

// PutBlob stores everything read from r and returns its hash and size.
func (s *boltDB) PutBlob(r io.Reader) (string, int64, error) {
	return s.putBlob(r, (*fileBlob).Commit)
}

// PutBlobPending is PutBlob with CommitPending: the blob is durable once
// the next Update returns.
func (s *boltDB) PutBlobPending(r io.Reader) (string, int64, error) {
	return s.putBlob(r, (*fileBlob).CommitPending)
}

func (s *boltDB) putBlob(r io.Reader, commit func(*fileBlob) (string, error)) (string, int64, error) {
	w, err := s.newBlob()
	if err != nil {
		return "", 0, err
	}
	if _, err := s.bufs.Copy(w, r); err != nil {
		w.Abort()
		return "", 0, err
	}
	sum, err := commit(w)
	return sum, w.n, err
}

// ErrBlobDamaged means a blob's bytes no longer match its name (the
// SHA-256 of what was stored): truncated by a full disk or a crash of the
// file system, or altered. Such a blob is not handed out; restore it from
// a backup.
var ErrBlobDamaged = errors.New("blob damaged: its content does not match its hash")

// OpenBlob opens a stored blob for reading, positioned at its start, after
// checking that its content still has its hash: a damaged file is never
// served, attached or parsed as if it were the mail that was received.
func (s *boltDB) OpenBlob(hash string) (*os.File, error) {
	if !validHash(hash) {
		return nil, fmt.Errorf("store: invalid blob hash %q: %w", hash, ErrNotFound)
	}
	f, err := os.Open(s.blobPath(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: blob %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store: open blob: %w", err))
	}
	h := sha256.New()
	if _, err := s.bufs.Copy(h, f); err != nil {
		f.Close()
		return nil, fault.Temporary(fmt.Errorf("store: read blob %s: %w", hash, err))
	}
	if hex.EncodeToString(h.Sum(nil)) != hash {
		f.Close()
		return nil, fault.Permanent(fmt.Errorf("store: blob %s: %w", hash, ErrBlobDamaged))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fault.Temporary(fmt.Errorf("store: read blob %s: %w", hash, err))
	}
	return f, nil
}

// RemoveBlob deletes a blob file (retention). Missing is not an error.
func (s *boltDB) RemoveBlob(hash string) error {
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	if !validHash(hash) {
		return fmt.Errorf("store: invalid blob hash %q", hash)
	}
	err := os.Remove(s.blobPath(hash))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: remove blob: %w", err)
	}
	return nil
}

func (s *boltDB) blobPath(hash string) string {
	return filepath.Join(s.blobDir, hash[:2], hash[2:])
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// SweepBlobs removes temporary files and blobs no record refers to, when
// they are older than grace (so blobs of ingestions still in flight, written
// but not yet committed, survive). It returns how many files it removed.
// The reference scan comes first and must be complete: when any record
// fails to decode, nothing at all is removed and the error says which
// record (its blobs would look unreferenced). Only files named like blobs
// are candidates; anything else in the folder (the installation file) is
// never touched.
func (s *boltDB) SweepBlobs(grace time.Duration) (int, error) {
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	referenced := map[string]bool{}
	err := s.View(func(tx Tx) error {
		return tx.ForEachBlobRef(func(h string) { referenced[h] = true })
	})
	if err != nil {
		return 0, fmt.Errorf("store: blob sweep refused, nothing removed: %w", err)
	}
	cutoff := time.Now().Add(-grace)
	removed := 0
	tmps, _ := os.ReadDir(s.tmpDir)
	for _, e := range tmps {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			if os.Remove(filepath.Join(s.tmpDir, e.Name())) == nil {
				removed++
			}
		}
	}
	err = filepath.WalkDir(s.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		h, ok := s.blobHashOf(path)
		if !ok || referenced[h] {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			if os.Remove(path) == nil {
				removed++
			}
		}
		return nil
	})
	return removed, err
}

// blobHashOf returns the hash a path in the blob folder stands for, false
// for anything that is not a blob (blobs/ab/cdef…).
func (s *boltDB) blobHashOf(path string) (string, bool) {
	rel, err := filepath.Rel(s.blobDir, path)
	if err != nil {
		return "", false
	}
	dir, name := filepath.Split(rel)
	if len(dir) != 3 || dir[2] != filepath.Separator {
		return "", false
	}
	h := dir[:2] + name
	return h, validHash(h)
}
