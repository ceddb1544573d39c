package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// chunkSize is the size of one blob_chunks row: a blob moves in and out a
// chunk at a time, never whole in memory.
const chunkSize = 1 << 20

// blobWriter spools a new blob while hashing it (store.Spool: in memory
// up to store.InlineBlobMax, then a temporary file); Commit copies it
// into the database chunk by chunk.
type blobWriter struct {
	s *DB
	*store.Spool
	done bool
}

// NewBlob starts writing a blob.
func (s *DB) NewBlob() (store.BlobWriter, error) { return s.newBlob() }

func (s *DB) newBlob() (*blobWriter, error) {
	return &blobWriter{s: s, Spool: store.NewSpool(s.tmpDir)}, nil
}

// Commit stores the blob under its hash; it is durable (committed) on
// return. Storing a blob that is already there stores nothing.
func (w *blobWriter) Commit() (string, error) {
	if w.done {
		return "", errors.New("store/postgres: blob already committed or aborted")
	}
	defer w.Abort()
	sum, size := w.Sum(), w.Size()
	f, err := w.Reader()
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	// READ COMMITTED: a concurrent writer of the same blob makes this
	// insert wait for its commit, then do nothing.
	err = pgx.BeginFunc(ctx, w.s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO blobs (hash, size) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING", sum, size)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		buf := make([]byte, min(chunkSize, max(size, 1)))
		for i := 0; ; i++ {
			n, rerr := io.ReadFull(f, buf)
			if n > 0 {
				if _, err := tx.Exec(ctx, "INSERT INTO blob_chunks VALUES ($1, $2, $3)", sum, i, buf[:n]); err != nil {
					return err
				}
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				return nil
			}
			if rerr != nil {
				return rerr
			}
		}
	})
	if err != nil {
		return "", fault.Temporary(fmt.Errorf("store/postgres: store blob: %w", err))
	}
	return sum, nil
}

// CommitPending is Commit: a blob is durable when its commit returns, so
// there is nothing to share with the next Update.
func (w *blobWriter) CommitPending() (string, error) { return w.Commit() }

func (w *blobWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.Discard()
}

// PutBlob stores what r yields and returns its hash and size.
func (s *DB) PutBlob(r io.Reader) (string, int64, error) {
	w, err := s.newBlob()
	if err != nil {
		return "", 0, err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return "", 0, err
	}
	sum, err := w.Commit()
	return sum, w.Size(), err
}

// PutBlobPending is PutBlob (durable on return).
func (s *DB) PutBlobPending(r io.Reader) (string, int64, error) { return s.PutBlob(r) }

// FlushBlobs has nothing to do: every blob is committed when stored.
func (s *DB) FlushBlobs(context.Context) error { return nil }

// OpenBlob reads a blob, a chunk at a time, into memory when it is at
// most store.InlineBlobMax bytes, else into an unlinked spool file, and
// returns it positioned at the start. A blob whose chunks do not add up
// to its hash is store.ErrBlobDamaged, never served.
func (s *DB) OpenBlob(h string) (store.BlobReader, error) {
	if !validHash(h) {
		return nil, fmt.Errorf("store: invalid blob hash %q: %w", h, store.ErrNotFound)
	}
	ctx := context.Background()
	var (
		size  int64
		found = true
		sum   = sha256.New()
		mem   []byte
		f     *os.File
		off   int64
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT size FROM blobs WHERE hash = $1", h).Scan(&size); errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		} else if err != nil {
			return err
		}
		if size > store.InlineBlobMax {
			var err error
			if f, err = os.CreateTemp(s.tmpDir, "read-"); err != nil {
				return err
			}
			os.Remove(f.Name())
		}
		for n := 0; ; n++ {
			var chunk []byte
			err := tx.QueryRow(ctx, "SELECT data FROM blob_chunks WHERE hash = $1 AND n = $2", h, n).Scan(&chunk)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if f != nil {
				if _, err := f.Write(chunk); err != nil {
					return err
				}
			} else {
				mem = append(mem, chunk...)
			}
			sum.Write(chunk)
			off += int64(len(chunk))
		}
	})
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store/postgres: read blob: %w", err))
	}
	if !found {
		return nil, fmt.Errorf("store: blob %s: %w", h, store.ErrNotFound)
	}
	if off != size || hex.EncodeToString(sum.Sum(nil)) != h {
		return nil, fault.Permanent(fmt.Errorf("store: blob %s (%d bytes in its chunks, %d recorded): %w", h, off, size, store.ErrBlobDamaged))
	}
	if f == nil {
		return memBlob{bytes.NewReader(mem)}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fault.Temporary(fmt.Errorf("store/postgres: read blob: %w", err))
	}
	r := fileBlob{File: f, size: off}
	f = nil // handed out: the caller closes it
	return r, nil
}

// memBlob is a small blob read whole into memory.
type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

// fileBlob is a blob read into an unlinked spool file.
type fileBlob struct {
	*os.File
	size int64
}

func (f fileBlob) Size() int64 { return f.size }

// RemoveBlob deletes a blob (retention); missing is not an error.
func (s *DB) RemoveBlob(h string) error {
	if !validHash(h) {
		return fmt.Errorf("store: invalid blob hash %q", h)
	}
	if _, err := s.pool.Exec(context.Background(), "DELETE FROM blobs WHERE hash = $1", h); err != nil {
		return fault.Temporary(fmt.Errorf("store/postgres: remove blob: %w", err))
	}
	return nil
}

// SweepBlobs removes blobs no record names that are older than grace (a
// blob stored for an ingestion still in flight is younger), and the
// node's spool files older than grace. When the reference scan fails it
// removes nothing.
func (s *DB) SweepBlobs(grace time.Duration) (int, error) {
	var referenced store.BlobRefs
	err := s.View(func(tx store.Tx) error {
		return tx.ForEachBlobRef(referenced.Add)
	})
	if err != nil {
		return 0, fmt.Errorf("store: blob sweep refused, nothing removed: %w", err)
	}
	referenced.Seal()
	ctx := context.Background()
	var candidates []string
	rows, err := s.pool.Query(ctx, "SELECT hash FROM blobs WHERE created < now() - $1 * interval '1 microsecond'", grace.Microseconds())
	if err != nil {
		return 0, fault.Temporary(fmt.Errorf("store/postgres: sweep: %w", err))
	}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, fault.Temporary(fmt.Errorf("store/postgres: sweep: %w", err))
		}
		if !referenced.Has(h) {
			candidates = append(candidates, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fault.Temporary(fmt.Errorf("store/postgres: sweep: %w", err))
	}
	removed := 0
	for _, h := range candidates {
		if err := s.RemoveBlob(h); err != nil {
			return removed, err
		}
		removed++
	}
	cutoff := time.Now().Add(-grace)
	tmps, _ := os.ReadDir(s.tmpDir)
	for _, e := range tmps {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			if os.Remove(s.tmpDir+"/"+e.Name()) == nil {
				removed++
			}
		}
	}
	return removed, nil
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

// PruneRates removes the rate counters whose expiry is before now, at
// most 512 rows per statement (its own transaction), so that no long
// lock holds the table.
func (s *DB) PruneRates(now time.Time) (int, error) {
	ctx := context.Background()
	removed := 0
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM rate WHERE (key, idx) IN
			(SELECT key, idx FROM rate WHERE expires < $1 LIMIT 512)`, now.UnixNano())
		if err != nil {
			return removed, fault.Temporary(fmt.Errorf("store/postgres: prune rate counters: %w", err))
		}
		n := int(tag.RowsAffected())
		removed += n
		if n < 512 {
			return removed, nil
		}
	}
}
