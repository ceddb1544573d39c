package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// blobKinds (issue 13): a backend may keep small blobs another way than
// large ones (bbolt keeps those of at most store.InlineBlobMax bytes
// inside its database, and fsyncs those above store.LargeBlobMin at once);
// the contract holds for every size the same way. For a small blob, one
// exactly at the inline limit, one a byte over it and one over the large
// limit, each written with Commit and with CommitPending and an Update:
// it is named by its hash, reads back whole (Read, ReadAt, Seek, Size),
// survives a reopen once referenced, an unreferenced one younger than the
// grace survives a sweep and is removed by one without grace, RemoveBlob
// removes it, and a damaged one is never handed out.
func (s *suite) blobKinds(t *testing.T) {
	sizes := []struct {
		name string
		n    int
	}{
		{"small", 1500},
		{"at-inline-max", store.InlineBlobMax},
		{"inline-max+1", store.InlineBlobMax + 1},
		{"above-large-min", store.LargeBlobMin + 1},
	}
	for _, sz := range sizes {
		for _, pending := range []bool{false, true} {
			mode := "Commit"
			if pending {
				mode = "CommitPending"
			}
			t.Run(sz.name+"/"+mode, func(t *testing.T) { s.blobKind(t, sz.n, pending) })
		}
	}
}

// blobContent is n bytes that differ by seed.
func blobContent(n int, seed string) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz\r\n"[i%28]
	}
	copy(b, seed)
	return b
}

// writeBlob streams content through NewBlob in pieces (so a spool passes
// its memory limit in the middle of a write) and commits it.
func writeBlob(t *testing.T, db store.DB, content []byte, pending bool) string {
	t.Helper()
	w, err := db.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	for rest := content; len(rest) > 0; {
		n := min(len(rest), 1000)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if w.Size() != int64(len(content)) {
		t.Fatalf("writer counted %d of %d bytes", w.Size(), len(content))
	}
	var h string
	if pending {
		h, err = w.CommitPending()
	} else {
		h, err = w.Commit()
	}
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if want := hex.EncodeToString(sum[:]); h != want {
		t.Fatalf("blob named %s, want its SHA-256 %s", h, want)
	}
	return h
}

// readBlob opens h and checks it against want every way a caller reads.
func readBlob(t *testing.T, db store.DB, h string, want []byte) {
	t.Helper()
	f, err := db.OpenBlob(h)
	if err != nil {
		t.Fatalf("open blob: %v", err)
	}
	defer f.Close()
	if f.Size() != int64(len(want)) {
		t.Errorf("Size %d, want %d", f.Size(), len(want))
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(want))
	}
	mid := len(want) / 2
	part := make([]byte, 10)
	if n, err := f.ReadAt(part, int64(mid)); n != 10 || !bytes.Equal(part, want[mid:mid+10]) {
		t.Errorf("ReadAt %d: %q (%v), want %q", mid, part[:n], err, want[mid:mid+10])
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(f); !bytes.Equal(got, want) {
		t.Error("read after Seek(0) differs")
	}
}

func blobGone(t *testing.T, db store.DB, h string) bool {
	t.Helper()
	f, err := db.OpenBlob(h)
	if err == nil {
		f.Close()
		return false
	}
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("open blob: %v, want it or ErrNotFound", err)
	}
	return true
}

func (s *suite) blobKind(t *testing.T, n int, pending bool) {
	dir := t.TempDir()
	db := s.open(t, dir)
	defer func() { db.Close() }()
	tag := fmt.Sprintf("%d-%v ", n, pending)
	content := blobContent(n, tag+"referenced")
	h := writeBlob(t, db, content, pending)
	// The record naming it: for CommitPending this Update is what makes
	// the blob durable.
	update(t, db, func(tx store.Tx) error {
		_, _, err := newTicket(tx, "ACME", "with a blob", h)
		return err
	})
	readBlob(t, db, h, content)

	orphanContent := blobContent(n, tag+"orphan")
	orphan := writeBlob(t, db, orphanContent, pending)
	if err := db.FlushBlobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if removed, err := db.SweepBlobs(time.Hour); err != nil || removed != 0 || blobGone(t, db, orphan) {
		t.Fatalf("sweep with a grace removed %d (%v); the young orphan must stay", removed, err)
	}
	readBlob(t, db, orphan, orphanContent)
	// A negative grace: everything unreferenced counts as old.
	if removed, err := db.SweepBlobs(-time.Hour); err != nil || removed != 1 || !blobGone(t, db, orphan) {
		t.Fatalf("sweep without grace removed %d (%v); want the orphan alone", removed, err)
	}

	// Durable: after a reopen the referenced blob is whole.
	db.Close()
	db = s.open(t, dir)
	readBlob(t, db, h, content)

	if err := db.RemoveBlob(h); err != nil {
		t.Fatal(err)
	}
	if !blobGone(t, db, h) {
		t.Fatal("RemoveBlob left the blob")
	}
	if err := db.RemoveBlob(h); err != nil {
		t.Fatalf("removing a missing blob: %v", err)
	}

	if s.b.DamageBlob == nil {
		return
	}
	damagedContent := blobContent(n, tag+"damaged")
	damaged := writeBlob(t, db, damagedContent, pending)
	if err := db.FlushBlobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s.b.DamageBlob(t, dir, damaged)
	db = s.open(t, dir)
	if f, err := db.OpenBlob(damaged); !errors.Is(err, store.ErrBlobDamaged) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("damaged blob opened: %v, want ErrBlobDamaged", err)
	}
}
