package store

import (
	"context"
	"errors"
	"testing"
)

// TestOnCommitSeesTheCommit: Options.OnCommit runs after every durable
// commit, when View already sees what was written, and not for a
// function that failed (nothing was committed).
func TestOnCommitSeesTheCommit(t *testing.T) {
	var s *boltDB
	var seen []int
	s, err := openBolt(t.TempDir(), Options{OnCommit: func() {
		var n int
		if err := s.View(func(tx Tx) error { _, err := tx.State("n", &n); return err }); err != nil {
			t.Error(err)
		}
		seen = append(seen, n)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for n := 1; n <= 3; n++ {
		if err := s.Update(context.Background(), func(tx Tx) error { return tx.SetState("n", n) }); err != nil {
			t.Fatal(err)
		}
	}
	failed := errors.New("refused")
	if err := s.Update(context.Background(), func(tx Tx) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("failing function: %v", err)
	}
	// The commit loop ran the last commit's hook before it took the
	// failing function: seen is complete here.
	if len(seen) != 3 || seen[0] != 1 || seen[1] != 2 || seen[2] != 3 {
		t.Fatalf("OnCommit saw %v, want [1 2 3]", seen)
	}
}
