package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// where tells how the bbolt store keeps blob h: "inline", "file" or "".
func where(t *testing.T, s *boltDB, h string) string {
	t.Helper()
	inline := false
	s.db.View(func(btx *bolt.Tx) error {
		_, inline = inlineRecord(btx, []byte(h))
		return nil
	})
	_, err := os.Stat(s.blobPath(h))
	switch {
	case inline && err == nil:
		t.Fatalf("blob %s is both inline and a file", h)
	case inline:
		return "inline"
	case err == nil:
		return "file"
	}
	return ""
}

// TestInlineThreshold: a blob of at most InlineBlobMax bytes lives inside
// the database and costs no file at all (not even a temporary one while
// it is written); one byte more is a file.
func TestInlineThreshold(t *testing.T) {
	s := openTest(t)
	for _, c := range []struct {
		n     int
		where string
	}{{0, "inline"}, {1500, "inline"}, {InlineBlobMax, "inline"}, {InlineBlobMax + 1, "file"}} {
		w, _ := s.NewBlob()
		w.Write([]byte(strings.Repeat("y", c.n)))
		if tmps, _ := os.ReadDir(s.tmpDir); (len(tmps) > 0) != (c.where == "file") {
			t.Errorf("%d bytes: %d temporary files while writing", c.n, len(tmps))
		}
		h, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if got := where(t, s, h); got != c.where {
			t.Errorf("%d bytes: %s, want %s", c.n, got, c.where)
		}
		if tmps, _ := os.ReadDir(s.tmpDir); len(tmps) > 0 {
			t.Errorf("%d bytes: %d temporary files left", c.n, len(tmps))
		}
	}
}

// TestCommitPendingInline: an inline blob placed by CommitPending is
// readable at once (the pipeline parses it before its Update), is written
// by the first Update queued after it, in that Update's own transaction,
// and no sooner is it forgotten by the store.
func TestCommitPendingInline(t *testing.T) {
	s := openTest(t)
	h, _, err := s.PutBlobPending(strings.NewReader("a new request"))
	if err != nil {
		t.Fatal(err)
	}
	if got := where(t, s, h); got != "" {
		t.Fatalf("pending inline blob already %s", got)
	}
	readAll := func() string {
		f, err := s.OpenBlob(h)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, f.Size())
		f.ReadAt(b, 0)
		return string(b)
	}
	if got := readAll(); got != "a new request" {
		t.Fatalf("pending blob reads %q", got)
	}
	var seen bool
	err = s.Update(context.Background(), func(tx Tx) error {
		// The blob is in the transaction that commits the record.
		_, seen = inlineRecord(tx.(*boltTx).btx, []byte(h))
		return tx.AddMessage(&Message{Ticket: "ACME-1", Raw: h})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Error("the Update after CommitPending did not see the blob in its transaction")
	}
	s.pendMu.Lock()
	left := len(s.inline)
	s.pendMu.Unlock()
	if left != 0 || where(t, s, h) != "inline" || readAll() != "a new request" {
		t.Errorf("after the Update: %d still pending, kept %q", left, where(t, s, h))
	}
}

// TestLargeBlobPaysItsOwnFsync: a CommitPending file above LargeBlobMin
// is durable when CommitPending returns and is not registered with the
// blob syncer (a batch never waits for it); a medium one is.
func TestLargeBlobPaysItsOwnFsync(t *testing.T) {
	s := openTest(t)
	placed := func() uint64 {
		s.pendMu.Lock()
		defer s.pendMu.Unlock()
		return s.placed
	}
	if _, _, err := s.PutBlobPending(strings.NewReader(strings.Repeat("m", InlineBlobMax+1))); err != nil {
		t.Fatal(err)
	}
	if placed() != 1 {
		t.Fatalf("medium blob: %d placed, want 1 pending", placed())
	}
	h, _, err := s.PutBlobPending(strings.NewReader(strings.Repeat("L", LargeBlobMin+1)))
	if err != nil {
		t.Fatal(err)
	}
	if placed() != 1 || where(t, s, h) != "file" {
		t.Fatalf("large blob: %d placed (want still 1), kept %q", placed(), where(t, s, h))
	}
}

// TestSweepInlineByAge: an unreferenced inline blob (left by a crash
// between spooling and the record's commit) is removed once it is older
// than the grace, kept while younger; a referenced one always stays.
func TestSweepInlineByAge(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	put := func(body string) string {
		h, _, err := s.PutBlob(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	old, young, kept := put("left by a crash"), put("in flight"), put("referenced")
	s.Update(ctx, func(tx Tx) error { return tx.AddMessage(&Message{Ticket: "ACME-1", Raw: kept}) })
	twoHoursAgo := uint64(time.Now().Add(-2 * time.Hour).UnixNano())
	for _, h := range []string{old, kept} {
		ageInline(t, s, h, twoHoursAgo)
	}
	n, err := s.SweepBlobs(time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want the old orphan alone", n, err)
	}
	if where(t, s, old) != "" || where(t, s, young) != "inline" || where(t, s, kept) != "inline" {
		t.Errorf("after the sweep: old %q young %q referenced %q", where(t, s, old), where(t, s, young), where(t, s, kept))
	}
	// Stored again (a retried message), the old blob is young again.
	again := put("left by a crash")
	if again != old || where(t, s, old) != "inline" {
		t.Fatal("storing the content again did not bring it back")
	}
	if n, _ := s.SweepBlobs(time.Hour); n != 0 {
		t.Errorf("sweep removed %d blobs just written again", n)
	}
}

// TestPendingInlineIsBounded: a writer that places many small blobs and
// commits once at the end (`store copy` into bbolt) does not hold them
// all in memory: past inlinePendingMax CommitPending writes them itself.
func TestPendingInlineIsBounded(t *testing.T) {
	s := openTest(t)
	body := strings.Repeat("c", InlineBlobMax-32)
	var first string
	for i := range inlinePendingMax/len(body) + 8 {
		h, _, err := s.PutBlobPending(strings.NewReader(body + strings.Repeat(" ", i%16) + string(rune('a'+i/16%26)) + string(rune('a'+i/416))))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = h
		}
		s.pendMu.Lock()
		pending := s.inlineBytes
		s.pendMu.Unlock()
		if pending > inlinePendingMax {
			t.Fatalf("after %d blobs %d bytes wait for a commit", i+1, pending)
		}
	}
	if got := where(t, s, first); got != "inline" {
		t.Errorf("the first blob is %q, want it written inline", got)
	}
}

// ageInline sets the time inline blob h was last written to at (unix
// nanos), in whichever layout holds it.
func ageInline(t *testing.T, s *boltDB, h string, at uint64) {
	t.Helper()
	err := s.Update(context.Background(), func(tx Tx) error {
		btx := tx.(*boltTx).btx
		if v := btx.Bucket(bBlobIndex).Get([]byte(h)); len(v) == blobIndexLen {
			return btx.Bucket(bBlobIndex).Put([]byte(h), append(bytes.Clone(v[:8]), putU64(at)...))
		}
		b := btx.Bucket(bBlobs)
		v := bytes.Clone(b.Get([]byte(h)))
		if len(v) < inlineHeader {
			return fmt.Errorf("blob %s is not inline", h)
		}
		copy(v, putU64(at))
		return b.Put([]byte(h), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSweepInlineInBatches: the inline sweep removes its candidates in
// transactions of at most sweepBatch (so commits go on between them), all
// of them in the end; a blob written again after the listing is young
// again and stays; referenced ones stay. The reference set finds hashes
// by their first 64 bits, and keeps anything else whole.
func TestSweepInlineInBatches(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	twoHoursAgo := uint64(time.Now().Add(-2 * time.Hour).UnixNano())
	var orphans []string
	for i := range 2*sweepBatch + 7 {
		h, _, err := s.PutBlob(strings.NewReader(fmt.Sprintf("orphan %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		orphans = append(orphans, h)
	}
	kept, _, err := s.PutBlob(strings.NewReader("referenced"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx Tx) error { return tx.AddMessage(&Message{Ticket: "ACME-1", Raw: kept}) }); err != nil {
		t.Fatal(err)
	}
	// Age them all in one transaction (ageInline commits once per blob).
	err = s.Update(ctx, func(tx Tx) error {
		idx := tx.(*boltTx).btx.Bucket(bBlobIndex)
		for _, h := range append([]string{kept}, orphans...) {
			v := bytes.Clone(idx.Get([]byte(h)))
			binary.BigEndian.PutUint64(v[8:], twoHoursAgo)
			if err := idx.Put([]byte(h), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	txid := func() (id int) {
		s.db.View(func(btx *bolt.Tx) error { id = btx.ID(); return nil })
		return id
	}
	// The orphan listed first (the smallest hash) is stored again after
	// the first listing: the removal must read its time anew.
	first := 0
	for i, h := range orphans {
		if h < orphans[first] {
			first = i
		}
	}
	again := orphans[first]
	s.beforeRemove = func() {
		s.beforeRemove = nil
		if h, _, err := s.PutBlob(strings.NewReader(fmt.Sprintf("orphan %d", first))); err != nil || h != again {
			t.Errorf("storing an orphan again: %s, %v", h, err)
		}
	}
	before := txid()
	n, err := s.SweepBlobs(time.Hour)
	if err != nil || n != len(orphans)-1 {
		t.Fatalf("sweep removed %d (%v), want %d", n, err, len(orphans)-1)
	}
	// One commit stored the blob again, three removed the rest.
	if got := txid() - before; got != 1+3 {
		t.Errorf("the sweep took %d write transactions with the renewal, want 4", got)
	}
	for _, h := range orphans {
		want := ""
		if h == again {
			want = "inline"
		}
		if got := where(t, s, h); got != want {
			t.Fatalf("orphan %s is %q after the sweep, want %q", h[:8], got, want)
		}
	}
	if where(t, s, kept) != "inline" {
		t.Error("the referenced blob went")
	}

	var set BlobRefs
	set.Add(kept)
	set.Add("not-a-hash")
	set.Add(kept)
	set.Seal()
	if !set.Has(kept) || !set.Has("not-a-hash") || set.Has(orphans[0]) || set.Has("not-a-hash-either") || set.Has(strings.ToUpper(kept)) {
		t.Errorf("reference set: %v %v %v %v %v", set.Has(kept), set.Has("not-a-hash"), set.Has(orphans[0]), set.Has("not-a-hash-either"), set.Has(strings.ToUpper(kept)))
	}
}
