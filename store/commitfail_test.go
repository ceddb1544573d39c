package store

import (
	"context"
	"errors"
	"syscall"
	"testing"
)

// TestCommitFailingReported: after a blob fsync failed (an I/O error, a
// full disk) every later commit is refused until restart, while reads keep
// working — so /readyz, which only read, said "ready". CommitFailing now
// reports it, and clears when a commit succeeds again.
func TestCommitFailingReported(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.Update(ctx, func(Tx) error { return nil }); err != nil || s.CommitFailing() != nil {
		t.Fatalf("healthy store: %v %v", err, s.CommitFailing())
	}
	// What the blob syncer records when an fsync fails.
	s.pendMu.Lock()
	s.blobErr = syscall.ENOSPC
	s.pendMu.Unlock()
	if err := s.Update(ctx, func(Tx) error { return nil }); err == nil {
		t.Fatal("commit after a failed blob fsync succeeded")
	}
	if err := s.View(func(Tx) error { return nil }); err != nil {
		t.Fatalf("reads stop too: %v", err)
	}
	if err := s.CommitFailing(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("CommitFailing = %v, want the ENOSPC", err)
	}
	s.pendMu.Lock()
	s.blobErr = nil
	s.pendMu.Unlock()
	if err := s.Update(ctx, func(Tx) error { return nil }); err != nil || s.CommitFailing() != nil {
		t.Fatalf("after recovery: %v %v", err, s.CommitFailing())
	}
}
