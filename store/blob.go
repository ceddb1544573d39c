package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/fault"
)

// The blobs of at most InlineBlobMax bytes (issue 13) live inside the
// database. Since schema 10 a new one is two records: its content under
// the next sequence number in bBlobData (appended: the bucket's pages are
// written once, at its end), and hex SHA-256 → be64(that sequence)
// be64(unix nanos when last written) in bBlobIndex. Before, bBlobs held
// hex SHA-256 → be64(time) then the content: under random keys, every new
// blob rewrote a leaf of two to five others (25 KB written for each 4 KB
// request) and renewing a time rewrote the content. Those stay where they
// are and are read, renewed and swept as before. The time lets SweepBlobs
// keep an unreferenced blob younger than its grace, like a file's
// modification time. Blobs stored as files before stay files; OpenBlob
// looks in the database first, then in the blob folder.
var (
	bBlobs     = []byte("blobs")
	bBlobData  = []byte("blob_data")
	bBlobIndex = []byte("blob_index")
)

// blobIndexLen is the length of a bBlobIndex value: be64(sequence of the
// content in bBlobData) be64(unix nanos when last written).
const blobIndexLen = 16

// inlineRecord finds the inline blob hash in btx. ok says whether it is
// there; content is nil (not empty) when it is there but damaged (a
// record too short, or an index entry whose content is missing), which
// OpenBlob then refuses as ErrBlobDamaged. content is bbolt's memory,
// valid only in btx.
func inlineRecord(btx *bolt.Tx, hash []byte) (content []byte, ok bool) {
	if idx := btx.Bucket(bBlobIndex); idx != nil {
		if v := idx.Get(hash); v != nil {
			if len(v) != blobIndexLen {
				return nil, true
			}
			if d := btx.Bucket(bBlobData); d != nil {
				if c := d.Get(v[:8]); c != nil {
					return c, true
				}
			}
			return nil, true
		}
	}
	if b := btx.Bucket(bBlobs); b != nil {
		if v := b.Get(hash); v != nil {
			if len(v) < inlineHeader {
				return nil, true
			}
			return v[inlineHeader:], true
		}
	}
	return nil, false
}

// deleteInline removes the inline blob hash, in either layout.
func deleteInline(btx *bolt.Tx, hash []byte) error {
	if idx := btx.Bucket(bBlobIndex); idx != nil {
		if v := idx.Get(hash); v != nil {
			if len(v) == blobIndexLen {
				if d := btx.Bucket(bBlobData); d != nil {
					if err := d.Delete(v[:8]); err != nil {
						return err
					}
				}
			}
			if err := idx.Delete(hash); err != nil {
				return err
			}
		}
	}
	if b := btx.Bucket(bBlobs); b != nil {
		return b.Delete(hash)
	}
	return nil
}

// fileBlob is the bbolt backend's BlobWriter: a Spool that, once
// committed, becomes an inline blob (at most InlineBlobMax bytes, written
// into bBlobs by the commit loop) or a content-addressed file (fsynced and
// moved to its final name, the SHA-256 of its content). Until then nothing
// refers to it. Abort (or an unreferenced blob surviving a crash) leaves
// nothing, or a file or inline blob that SweepBlobs removes later.
type fileBlob struct {
	s *boltDB
	*Spool
	done bool
}

// NewBlob starts a blob.
func (s *boltDB) NewBlob() (BlobWriter, error) {
	return s.newBlob(), nil
}

func (s *boltDB) newBlob() *fileBlob {
	return &fileBlob{s: s, Spool: NewSpool(s.tmpDir)}
}

// Commit makes the blob durable under its content hash and returns the
// hash. An inline blob is written by an Update of its own (sharing the
// commit loop's fsync with whatever else commits then); a file is
// fsynced and renamed into place here.
func (w *fileBlob) Commit() (string, error) {
	if w.done {
		return "", errors.New("store: blob already finished")
	}
	w.done = true
	if w.InMemory() {
		sum := w.Sum()
		w.s.addInline(sum, w.Bytes())
		if err := w.s.FlushBlobs(context.Background()); err != nil {
			return "", err
		}
		return sum, nil
	}
	return w.commitFile()
}

// commitFile fsyncs the spooled file and moves it to its final name.
func (w *fileBlob) commitFile() (string, error) {
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

// CommitPending names the blob without waiting for the disk and returns
// the hash. The blob becomes durable with the next commit of the store's
// commit loop: every Update that starts after CommitPending returns makes
// the blob durable before its own commit, so a record referring to the
// blob is never on disk without the blob. An inline blob is written
// inside that Update's own transaction (durable with its fsync); a file
// is renamed into place now and fsynced (file and folder) before that
// commit, so concurrent ingestions share the blob fsyncs with the group
// commit instead of paying two per message. A file above LargeBlobMin
// pays its own fsync here instead (Commit), so the batch never waits for
// it; so do inline blobs when more than inlinePendingMax bytes of them wait.
// A caller that acknowledges without an Update must call FlushBlobs. Like
// Commit, CommitPending must not be called inside an Update function.
func (w *fileBlob) CommitPending() (string, error) {
	if w.done {
		return "", errors.New("store: blob already finished")
	}
	w.done = true
	if w.InMemory() {
		sum := w.Sum()
		if w.s.addInline(sum, w.Bytes()) {
			if err := w.s.FlushBlobs(context.Background()); err != nil {
				return "", err
			}
		}
		return sum, nil
	}
	if w.s.noSync || w.n > LargeBlobMin {
		// Nothing is ever fsynced (the durable path costs the same), or
		// the file is large enough that its flush would hold up every
		// small request of the batch: it is durable before we return.
		return w.commitFile()
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

// putBlobIn stores what r yields inside the open write transaction tx
// when it is small enough to be inline, else as a durable file; for the
// migrations, which run before the commit loop does.
func (s *boltDB) putBlobIn(tx *boltTx, now time.Time, r io.Reader) (string, error) {
	w := s.newBlob()
	if _, err := s.bufs.Copy(w, r); err != nil {
		w.Abort()
		return "", err
	}
	w.done = true
	sum := w.Sum()
	if w.InMemory() {
		return sum, writeInline(tx.btx, []pendingInline{{hash: sum, data: w.Bytes()}}, now)
	}
	return w.commitFile()
}

func (s *boltDB) putBlob(r io.Reader, commit func(*fileBlob) (string, error)) (string, int64, error) {
	w := s.newBlob()
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
// checking that its content still has its hash: a damaged blob is never
// served, attached or parsed as if it were the mail that was received. An
// inline blob (pending, or in bBlobs) is read from memory; any other from
// its file.
func (s *boltDB) OpenBlob(hash string) (BlobReader, error) {
	if !validHash(hash) {
		return nil, fmt.Errorf("store: invalid blob hash %q: %w", hash, ErrNotFound)
	}
	data, found, err := s.inlineBlob(hash)
	if err != nil {
		return nil, err
	}
	if found {
		if sha256.Sum256(data) != hashBytes(hash) {
			return nil, fault.Permanent(fmt.Errorf("store: blob %s: %w", hash, ErrBlobDamaged))
		}
		return memBlob{bytes.NewReader(data)}, nil
	}
	f, err := os.Open(s.blobPath(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: blob %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store: open blob: %w", err))
	}
	h := sha256.New()
	n, err := s.bufs.Copy(h, f)
	if err != nil {
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
	return fileReader{File: f, size: n}, nil
}

// inlineBlob returns the content of the inline blob named hash: one placed
// by CommitPending and not yet written (its buffer, read-only), or a copy
// of one in bBlobs.
func (s *boltDB) inlineBlob(hash string) ([]byte, bool, error) {
	s.pendMu.Lock()
	for i := len(s.inline) - 1; i >= 0; i-- {
		if s.inline[i].hash == hash {
			data := s.inline[i].data
			s.pendMu.Unlock()
			return data, true, nil
		}
	}
	s.pendMu.Unlock()
	var data []byte
	found := false
	err := s.db.View(func(btx *bolt.Tx) error {
		var c []byte
		// A damaged record reads as no bytes: reported as damaged
		// below (their hash is not hash).
		if c, found = inlineRecord(btx, []byte(hash)); c != nil {
			data = bytes.Clone(c)
		}
		return nil
	})
	if err != nil {
		return nil, false, fault.Temporary(fmt.Errorf("store: read blob %s: %w", hash, err))
	}
	if found && data == nil {
		data = []byte{}
	}
	return data, found, nil
}

// hashBytes decodes a valid hex hash.
func hashBytes(hash string) [sha256.Size]byte {
	var b [sha256.Size]byte
	hex.Decode(b[:], []byte(hash))
	return b
}

// inlineHeader is the be64 write time in front of an inline blob's content.
const inlineHeader = 8

// pendingInline is a blob of at most InlineBlobMax bytes that
// CommitPending (or Commit) registered and the commit loop has not yet
// written. data is the spool's buffer, never changed after.
type pendingInline struct {
	hash string
	data []byte
}

// inlinePendingMax bounds the bytes of inline blobs waiting for a commit:
// past it, CommitPending writes them itself (an Update of its own) before
// it returns. The daemon never gets near it (256 requests in flight hold
// a few MiB at most); a writer that places many blobs and commits once at
// the end (`store copy` into bbolt) would otherwise hold every small blob
// of the installation in memory.
const inlinePendingMax = 16 << 20

// addInline registers an inline blob for the next batch of the commit
// loop: every Update queued after this returns writes it in its own
// transaction (runBatch), so it is durable with that commit. It reports
// whether the blobs waiting have grown past inlinePendingMax.
func (s *boltDB) addInline(hash string, data []byte) (full bool) {
	s.touchInline(hash)
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	s.inline = append(s.inline, pendingInline{hash: hash, data: data})
	s.inlineBytes += len(data)
	return s.inlineBytes > inlinePendingMax
}

// touchInline reads the blobs bucket's path to hash's place, in the
// caller's goroutine, so that the commit loop's Put finds those pages in
// memory. Hashes are random keys: in a large store the leaf a new blob
// goes to is usually not cached, and the page fault of reading it from
// disk stalled the one goroutine every request waits for (on a store of
// 1M tickets 91 % of the daemon's major page faults were writeInline's).
// Pages a commit copies in between are fresh in the page cache anyway.
func (s *boltDB) touchInline(hash string) {
	s.db.View(func(tx *bolt.Tx) error {
		inlineRecord(tx, []byte(hash))
		return nil
	})
}

// takeInline returns the inline blobs registered so far; after a
// successful commit that wrote them, dropInline(len) forgets them.
func (s *boltDB) takeInline() []pendingInline {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	n := len(s.inline)
	return s.inline[:n:n]
}

// dropInline forgets the first n registered inline blobs (written by a
// commit); later ones stay for the next batch.
func (s *boltDB) dropInline(n int) {
	if n == 0 {
		return
	}
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	for _, p := range s.inline[:n] {
		s.inlineBytes -= len(p.data)
	}
	m := copy(s.inline, s.inline[n:])
	clear(s.inline[m:])
	s.inline = s.inline[:m]
}

// writeInline stores inline blobs with the time now: a new one in
// bBlobData and bBlobIndex. Writing one again (the same content stored
// twice, a batch retried, a rehearsal of Options.RunTwice) only renews its
// time: a blob about to be referenced again is never old enough for the
// sweep. One stored before schema 10 is renewed where it is, in bBlobs.
func writeInline(btx *bolt.Tx, blobs []pendingInline, now time.Time) error {
	if len(blobs) == 0 {
		return nil
	}
	idx, data, old := btx.Bucket(bBlobIndex), btx.Bucket(bBlobData), btx.Bucket(bBlobs)
	if idx == nil || data == nil || old == nil {
		return errors.New("store: a bucket of the inline blobs is missing")
	}
	stamp := uint64(now.UnixNano())
	for _, p := range blobs {
		key := []byte(p.hash)
		if v := idx.Get(key); len(v) == blobIndexLen {
			renewed := make([]byte, blobIndexLen)
			copy(renewed, v[:8])
			binary.BigEndian.PutUint64(renewed[8:], stamp)
			if err := idx.Put(key, renewed); err != nil {
				return fmt.Errorf("store: write blob %s: %w", p.hash, err)
			}
			continue
		}
		if v := old.Get(key); v != nil {
			w := make([]byte, inlineHeader+len(p.data))
			binary.BigEndian.PutUint64(w, stamp)
			copy(w[inlineHeader:], p.data)
			if err := old.Put(key, w); err != nil {
				return fmt.Errorf("store: write blob %s: %w", p.hash, err)
			}
			continue
		}
		seq, err := data.NextSequence()
		if err != nil {
			return fmt.Errorf("store: write blob %s: %w", p.hash, err)
		}
		v := make([]byte, blobIndexLen)
		binary.BigEndian.PutUint64(v, seq)
		binary.BigEndian.PutUint64(v[8:], stamp)
		if err := data.Put(v[:8:8], bytes.Clone(p.data)); err != nil {
			return fmt.Errorf("store: write blob %s: %w", p.hash, err)
		}
		if err := idx.Put(key, v); err != nil {
			return fmt.Errorf("store: write blob %s: %w", p.hash, err)
		}
	}
	return nil
}

// memBlob is an inline blob handed out by OpenBlob.
type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

// fileReader is a blob file handed out by OpenBlob, with the size it had
// when its hash was checked.
type fileReader struct {
	*os.File
	size int64
}

func (f fileReader) Size() int64 { return f.size }

// RemoveBlob deletes a blob (retention): its file, or its inline record
// (through an Update). Missing is not an error.
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
	err = s.Update(context.Background(), func(tx Tx) error {
		return deleteInline(tx.(*boltTx).btx, []byte(hash))
	})
	if err != nil {
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

// SweepBlobs removes temporary files and blobs (files and inline ones) no
// record refers to, when they are older than grace (so blobs of ingestions
// still in flight, written but not yet committed, survive). It returns how
// many files and inline blobs it removed.
// The reference scan comes first and must be complete: when any record
// fails to decode, nothing at all is removed and the error says which
// record (its blobs would look unreferenced). Only files named like blobs
// are candidates; anything else in the folder (the installation file) is
// never touched.
func (s *boltDB) SweepBlobs(grace time.Duration) (int, error) {
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	var referenced BlobRefs
	err := s.View(func(tx Tx) error {
		return tx.ForEachBlobRef(referenced.Add)
	})
	if err != nil {
		return 0, fmt.Errorf("store: blob sweep refused, nothing removed: %w", err)
	}
	referenced.Seal()
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
		if !ok || referenced.Has(h) {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			if os.Remove(path) == nil {
				removed++
			}
		}
		return nil
	})
	if err != nil {
		return removed, err
	}
	n, err := s.sweepInline(&referenced, cutoff)
	return removed + n, err
}

// BlobRefs is the set of blob hashes a sweep's reference scan found, kept
// small: a valid hash (64 hex digits) by its first 64 bits, in a sorted
// slice: 8 bytes a hash where a map of the hex strings took 114 (a
// million messages' raw mail made the hourly sweep 114 MB larger than
// the daemon; a map of the 64-bit ids would still take 36). Two hashes
// sharing their first 64 bits can only make the sweep keep a blob no
// record names (the safe side), with odds of 1 in 2^64 per pair.
// Anything that is not a valid hash is kept whole. Add everything, then
// Seal, then ask.
type BlobRefs struct {
	ids   []uint64
	other map[string]struct{}
}

// Add puts h in the set.
func (r *BlobRefs) Add(h string) {
	if id, ok := blobID(h); ok {
		r.ids = append(r.ids, id)
		return
	}
	if r.other == nil {
		r.other = make(map[string]struct{})
	}
	r.other[strings.Clone(h)] = struct{}{}
}

// Seal sorts the set (dropping repeats) for Has.
func (r *BlobRefs) Seal() {
	slices.Sort(r.ids)
	r.ids = slices.Clip(slices.Compact(r.ids))
}

// Has reports whether h was added (after Seal).
func (r *BlobRefs) Has(h string) bool {
	if id, ok := blobID(h); ok {
		_, found := slices.BinarySearch(r.ids, id)
		return found
	}
	_, found := r.other[h]
	return found
}

// blobID is the first 64 bits of a valid hash; false for anything else.
func blobID(h string) (uint64, bool) {
	if !validHash(h) {
		return 0, false
	}
	id, err := strconv.ParseUint(h[:16], 16, 64)
	return id, err == nil
}

// sweepBatch is how many records one write transaction of a sweep
// (removeStale) removes: each batch holds the writer only briefly, so mail
// keeps being committed while a large store is swept.
const sweepBatch = 512

// sweepInline removes the inline blobs, in either layout, that no record
// named in the reference scan and that were last written before cutoff.
// removeStale reads each one's time again where it removes it: a blob
// written again since the scan (the same content stored by a new message,
// whose record may commit later) is young again and stays. Walking a
// million blobs inside one write transaction had stopped every commit
// for as long.
func (s *boltDB) sweepInline(referenced *BlobRefs, cutoff time.Time) (int, error) {
	removed := 0
	for _, name := range [][]byte{bBlobs, bBlobIndex} {
		n, err := s.removeStale(name, func(k, v []byte) (bool, error) {
			// A record too short to carry its time is damaged:
			// check-store reports it; it is not removed unseen.
			var stamp []byte
			switch {
			case bytes.Equal(name, bBlobs) && len(v) >= inlineHeader:
				stamp = v[:inlineHeader]
			case bytes.Equal(name, bBlobIndex) && len(v) == blobIndexLen:
				stamp = v[8:]
			default:
				return false, nil
			}
			return int64(getU64(stamp)) < cutoff.UnixNano() && !referenced.Has(string(k)), nil
		}, deleteInline)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("store: sweep inline blobs: %w", err)
		}
	}
	return removed, nil
}

// removeStale removes the records of bucket that stale says may go,
// sweepBatch at a time: a read transaction lists a batch, from where the
// last one ended, and a write transaction removes it with remove (nil:
// the key alone), asking stale again of each record first (it may have
// been written in between). So the writer is held only briefly and the
// list is never longer than a batch. An error of stale stops it.
func (s *boltDB) removeStale(bucket []byte, stale func(k, v []byte) (bool, error), remove func(btx *bolt.Tx, k []byte) error) (int, error) {
	removed := 0
	var after []byte
	for {
		var batch [][]byte
		err := s.db.View(func(btx *bolt.Tx) error {
			b := btx.Bucket(bucket)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
			}
			for ; k != nil && len(batch) < sweepBatch; k, v = c.Next() {
				ok, err := stale(k, v)
				if err != nil {
					return err
				}
				if ok {
					batch = append(batch, bytes.Clone(k))
				}
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return removed, err
		}
		if s.beforeRemove != nil {
			s.beforeRemove()
		}
		var n int
		err = s.Update(context.Background(), func(tx Tx) error {
			n = 0
			btx := tx.(*boltTx).btx
			b := btx.Bucket(bucket)
			for _, k := range batch {
				v := b.Get(k)
				if v == nil {
					continue
				}
				ok, err := stale(k, v)
				if err == nil && ok {
					if remove != nil {
						err = remove(btx, k)
					} else {
						err = b.Delete(k)
					}
					n++
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
		removed += n
		if len(batch) < sweepBatch {
			return removed, nil
		}
		after = batch[len(batch)-1]
	}
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
