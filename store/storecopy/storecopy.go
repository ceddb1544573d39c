// Package storecopy moves a whole ticketgate installation from one store
// to another — bbolt to PostgreSQL and back — for `ticketgate store copy`,
// with the daemons stopped: every record in the backend-neutral form
// (store.Copier, ids and bodies kept byte for byte) and every blob a
// record names (streamed, its hash checked on the way in and read back
// from the target). Afterwards it reads the target back and compares the
// count and digest of every kind of record with the source's.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ticketgate/ticketgate/store"
)

// Stage names a step of the copy, for the progress display.
type Stage string

// The stages, in order.
const (
	StageCount   Stage = "counting records"
	StageRecords Stage = "copying records"
	StageBlobs   Stage = "copying blobs"
	StageVerify  Stage = "verifying"
)

// Progress is told how far a stage is: done of total units (records or
// blobs).
type Progress func(stage Stage, done, total int64)

// Options tunes Copy.
type Options struct {
	// Batch is how many records go into one target transaction (default
	// 5,000).
	Batch    int
	Progress Progress
}

// Kind is what was copied of one kind of record: its count and the XOR of
// the records' digests (order does not matter; every record is unique by
// its key).
type Kind struct {
	Count  int64
	Digest [32]byte
}

// Report says what was copied and verified.
type Report struct {
	Records map[store.RecordKind]Kind
	// NotCopied lists the source's non-empty buckets or tables that the
	// copy deliberately leaves behind (store.CoverNotCopied), with why.
	NotCopied []store.CoverageEntry
	Blobs     int64
	BlobBytes int64
}

// ErrNotEmpty is returned when the target already holds records: a copy
// goes into a new, empty store only.
var ErrNotEmpty = errors.New("storecopy: the target store is not empty")

// ErrUnknown is returned, before anything is written, when the source
// holds rows in a bucket or table store.CopyCoverage does not classify:
// copying would leave them out.
var ErrUnknown = errors.New("storecopy: the source holds records this copy does not know")

// ErrMismatch is returned when the target, read back, does not hold what
// the source does.
var ErrMismatch = errors.New("storecopy: the copy differs from the source")

// Copy copies every record and every referenced blob of from into the
// empty store to, then verifies the target.
func Copy(ctx context.Context, from, to store.DB, opts Options) (*Report, error) {
	src, ok := from.(store.Copier)
	if !ok {
		return nil, fmt.Errorf("storecopy: the source store (%T) cannot export its records", from)
	}
	dst, ok := to.(store.Copier)
	if !ok {
		return nil, fmt.Errorf("storecopy: the target store (%T) cannot import records", to)
	}
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Stage, int64, int64) {}
	}
	var mu sync.Mutex // serializes progress and the report between blob workers
	notCopied, err := checkCoverage(from)
	if err != nil {
		return nil, err
	}
	if err := requireEmpty(dst); err != nil {
		return nil, err
	}

	// The source's summary, which the target must match, and the total
	// for the progress display.
	want, total, err := summarize(ctx, src, func(n int64) { progress(StageCount, n, 0) })
	if err != nil {
		return nil, fmt.Errorf("storecopy: read the source: %w", err)
	}
	progress(StageCount, total, total)

	var done int64
	batch := make([]*store.Record, 0, opts.Batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.ImportRecords(ctx, batch); err != nil {
			return err
		}
		done += int64(len(batch))
		progress(StageRecords, done, total)
		batch = batch[:0]
		return ctx.Err()
	}
	err = src.ExportRecords(func(r *store.Record) error {
		batch = append(batch, r)
		if len(batch) == opts.Batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("storecopy: copy records: %w", err)
	}

	hashes, err := blobRefs(from)
	if err != nil {
		return nil, fmt.Errorf("storecopy: list the blobs: %w", err)
	}
	rep := &Report{Records: want, NotCopied: notCopied}
	var blobsDone int64
	err = parallel(ctx, hashes, func(h string) error {
		n, err := copyBlob(from, to, h)
		if err != nil {
			return err
		}
		return func() error {
			mu.Lock()
			defer mu.Unlock()
			rep.Blobs++
			rep.BlobBytes += n
			blobsDone++
			progress(StageBlobs, blobsDone, int64(len(hashes)))
			return nil
		}()
	})
	if err != nil {
		return nil, err
	}
	if err := to.FlushBlobs(ctx); err != nil {
		return nil, fmt.Errorf("storecopy: make the blobs durable: %w", err)
	}

	// Read the target back: the same records, and every blob there whole.
	got, _, err := summarize(ctx, dst, func(n int64) { progress(StageVerify, n, total+int64(len(hashes))) })
	if err != nil {
		return nil, fmt.Errorf("storecopy: read the target back: %w", err)
	}
	if err := compare(want, got); err != nil {
		return nil, err
	}
	verified := total
	err = parallel(ctx, hashes, func(h string) error {
		f, err := to.OpenBlob(h)
		if err != nil {
			return fmt.Errorf("%w: blob %s: %w", ErrMismatch, h, err)
		}
		f.Close()
		mu.Lock()
		verified++
		progress(StageVerify, verified, total+int64(len(hashes)))
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// checkCoverage lists the source's buckets or tables: ErrUnknown names
// those holding rows that store.CopyCoverage does not know (or knows as
// copied without a kind), and the non-empty ones left behind on purpose
// are returned for the report.
func checkCoverage(from store.DB) ([]store.CoverageEntry, error) {
	l, ok := from.(store.Layout)
	if !ok {
		return nil, fmt.Errorf("storecopy: the source store (%T) cannot list its buckets or tables", from)
	}
	backend, cs, err := l.Layout()
	if err != nil {
		return nil, fmt.Errorf("storecopy: read the source: %w", err)
	}
	var unknown []string
	var left []store.CoverageEntry
	for _, c := range cs {
		if c.Empty {
			continue
		}
		e, ok := store.CoverageOf(backend, c.Name)
		switch {
		case !ok, e.Cover == store.CoverCopied && e.Kind == 0:
			unknown = append(unknown, c.Name)
		case e.Cover == store.CoverNotCopied:
			left = append(left, e)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s %s (nothing was written; this version of ticketgate cannot copy them)", ErrUnknown, backend, strings.Join(unknown, ", "))
	}
	return left, nil
}

// requireEmpty fails unless the store holds nothing but meta values.
func requireEmpty(c store.Copier) error {
	var found *store.Record
	stop := errors.New("stop")
	err := c.ExportRecords(func(r *store.Record) error {
		if r.Kind == store.RecMeta || r.Kind == store.RecSequence && r.N == 0 {
			return nil
		}
		found = r
		return stop
	})
	if found != nil {
		return fmt.Errorf("%w (it holds %s): copy into a new database or data_dir", ErrNotEmpty, found.Kind)
	}
	if err != nil && !errors.Is(err, stop) {
		return fmt.Errorf("storecopy: read the target: %w", err)
	}
	return nil
}

// summarize counts and digests every kind of record of c.
func summarize(ctx context.Context, c store.Copier, tick func(int64)) (map[store.RecordKind]Kind, int64, error) {
	out := map[store.RecordKind]Kind{}
	var n int64
	err := c.ExportRecords(func(r *store.Record) error {
		k := out[r.Kind]
		k.Count++
		d := r.Digest()
		for i := range d {
			k.Digest[i] ^= d[i]
		}
		out[r.Kind] = k
		n++
		if n%1000 == 0 {
			tick(n)
			return ctx.Err()
		}
		return nil
	})
	return out, n, err
}

// compare reports every kind whose count or digest differs.
func compare(want, got map[store.RecordKind]Kind) error {
	var diffs []string
	for _, k := range store.RecordKinds() {
		w, g := want[k], got[k]
		switch {
		case k == store.RecMeta:
			// The target keeps meta values of its own (its secret, a
			// fingerprint, set before the copy); the source's are
			// copied over them, so only those must be there.
			if g.Count < w.Count {
				diffs = append(diffs, fmt.Sprintf("%s: %d in the source, %d in the target", k, w.Count, g.Count))
			}
		case w.Count != g.Count:
			diffs = append(diffs, fmt.Sprintf("%s: %d in the source, %d in the target", k, w.Count, g.Count))
		case w.Digest != g.Digest:
			diffs = append(diffs, fmt.Sprintf("%s: %d each, but their contents differ", k, w.Count))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %v", ErrMismatch, diffs)
	}
	return nil
}

// blobRefs lists every blob a record of s names, sorted.
func blobRefs(s store.DB) ([]string, error) {
	set := map[string]bool{}
	err := s.View(func(tx store.Tx) error {
		return tx.ForEachBlobRef(func(h string) { set[h] = true })
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	slices.Sort(out)
	return out, nil
}

// copyBlob streams blob h from one store to the other; the target must
// name it by the same hash. A blob the source no longer has (retention
// deleted it while a record still names it) is an error: check-store
// reports those.
func copyBlob(from, to store.DB, h string) (int64, error) {
	f, err := from.OpenBlob(h)
	if err != nil {
		return 0, fmt.Errorf("storecopy: source blob %s: %w", h, err)
	}
	defer f.Close()
	got, n, err := to.PutBlobPending(f)
	if err != nil {
		return 0, fmt.Errorf("storecopy: store blob %s: %w", h, err)
	}
	if got != h {
		return 0, fmt.Errorf("%w: blob %s arrived as %s", ErrMismatch, h, got)
	}
	return n, nil
}

// blobWorkers is how many blobs move at once: each is a round trip to
// PostgreSQL or a file to write, so a few in flight hide the latency.
const blobWorkers = 4

// parallel runs fn for every hash on blobWorkers goroutines and returns
// the first error (the others stop taking new hashes).
func parallel(ctx context.Context, hashes []string, fn func(string) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan string)
	var wg sync.WaitGroup
	for range blobWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				if err := fn(h); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for _, h := range hashes {
		select {
		case work <- h:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
