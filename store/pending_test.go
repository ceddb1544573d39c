package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/fault"
)

// An Update queued after CommitPending returns only once the blob is
// durable: the store's synced mark covers the blob's sequence number.
func TestCommitPendingDurableAfterUpdate(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	hashes := make([]string, 32)
	for i := range hashes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the blobs share content: the second copy finds the
			// first one placed (maybe still pending) and must wait
			// for it just the same.
			body := strings.Repeat("blob body\r\n", 100) + string(rune('a'+i%16))
			h, n, err := s.PutBlobPending(strings.NewReader(body))
			if err != nil || n != int64(len(body)) {
				t.Errorf("PutBlobPending: %v (%d bytes)", err, n)
				return
			}
			s.pendMu.Lock()
			seq := s.placed
			s.pendMu.Unlock()
			if err := s.Update(ctx, func(tx Tx) error { return tx.SetState("b"+h, h) }); err != nil {
				t.Errorf("Update: %v", err)
				return
			}
			s.pendMu.Lock()
			synced := s.synced
			s.pendMu.Unlock()
			if synced < seq {
				t.Errorf("Update returned with blob %d placed but only %d synced", seq, synced)
			}
			hashes[i] = h
		}()
	}
	wg.Wait()
	for i, h := range hashes {
		f, err := s.OpenBlob(h)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		want := strings.Repeat("blob body\r\n", 100) + string(rune('a'+i%16))
		if !bytes.Equal(got, []byte(want)) {
			t.Errorf("blob %d: content differs", i)
		}
	}
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	if len(s.pending) != 0 || s.synced != s.placed {
		t.Errorf("after all updates: %d pending, synced %d of %d", len(s.pending), s.synced, s.placed)
	}
}

// A blob whose fsync fails fails the batch waiting for it, and every later
// Update: nothing may be acknowledged as durable once a blob may be lost.
func TestBlobSyncFailureRefusesLaterUpdates(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx Tx) error { return tx.SetState("before", 1) }); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(s.tmpDir, "broken-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // Sync on a closed file fails
	s.addPending(pendingBlob{f: f, dir: s.blobDir})
	for _, name := range []string{"waits-for-the-broken-blob", "later"} {
		err := s.Update(ctx, func(tx Tx) error { return tx.SetState(name, 1) })
		if err == nil || !fault.IsTemporary(err) {
			t.Fatalf("%s: Update = %v, want a temporary error", name, err)
		}
		var v int
		s.View(func(tx Tx) error {
			if ok, _ := tx.State(name, &v); ok {
				t.Errorf("%s was committed although its blob may be lost", name)
			}
			return nil
		})
	}
}

// Blobs placed without an Update are made durable by FlushBlobs and, at
// the latest, by Close: a file is synced, an inline blob written into the
// database.
func TestFlushBlobs(t *testing.T) {
	s := openTest(t)
	if _, _, err := s.PutBlobPending(strings.NewReader("lonely " + strings.Repeat("x", InlineBlobMax))); err != nil {
		t.Fatal(err)
	}
	small, _, err := s.PutBlobPending(strings.NewReader("lonely and small"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FlushBlobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.pendMu.Lock()
	if s.synced != s.placed || s.placed != 1 || len(s.inline) != 0 {
		t.Errorf("synced %d of %d, %d inline blobs still pending", s.synced, s.placed, len(s.inline))
	}
	s.pendMu.Unlock()
	s.db.View(func(btx *bolt.Tx) error {
		if v, _ := inlineRecord(btx, []byte(small)); string(v) != "lonely and small" {
			t.Errorf("inline blob after FlushBlobs: %q", v)
		}
		return nil
	})
}
