package store

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lingerStore opens a store whose commit loop's linger timer is the
// returned channel (it fires only when the test sends on it), and counts
// the lingers. (Commits are not counted: OnCommit runs after the callers
// are told, so a count read when they return could be one short.)
func lingerStore(t *testing.T, maxBatch int) (*boltDB, chan time.Time, <-chan struct{}, *atomic.Int32) {
	t.Helper()
	fire := make(chan time.Time)
	lingering := make(chan struct{}, 16)
	var lingers atomic.Int32
	db, err := Open(t.TempDir(), Options{NoSync: true, MaxBatch: maxBatch,
		linger: func() (<-chan time.Time, func() bool) {
			lingers.Add(1)
			lingering <- struct{}{}
			return fire, func() bool { return true }
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.(*boltDB), fire, lingering, &lingers
}

// queueTwo holds the commit loop in a function of its own (a batch of one,
// which does not linger) until two more functions wait in its queue, then
// lets it go: the next batch finds those two. It returns their results.
func queueTwo(t *testing.T, s *boltDB) <-chan error {
	t.Helper()
	in, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	held := make(chan error, 1)
	// The function may run twice (TICKETGATE_STORE_RUN_TWICE): it
	// signals once, and the second run finds release closed.
	go func() {
		held <- s.Update(context.Background(), func(Tx) error { once.Do(func() { close(in) }); <-release; return nil })
	}()
	<-in
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- s.Update(context.Background(), func(Tx) error { return nil }) }()
	}
	for deadline := time.Now().Add(10 * time.Second); len(s.reqs) < 2; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("the two functions never reached the commit loop's queue")
		}
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	return done
}

// TestCommitGathersWhileLingering: a commit that finds two functions
// waiting waits for more, and they all share one commit: the timer never
// fires here, so the two can only return once a third filled the batch.
func TestCommitGathersWhileLingering(t *testing.T) {
	s, _, lingering, lingers := lingerStore(t, 3)
	done := queueTwo(t, s)
	select {
	case <-lingering:
	case <-time.After(10 * time.Second):
		t.Fatal("a commit of two functions did not linger")
	}
	// A negative can only be watched for a while: the two must still
	// wait after 50 ms (they wait for good here; a commit that did not
	// linger would have told them within a few).
	select {
	case err := <-done:
		t.Fatalf("a function of the lingering batch returned (%v) before the batch was full", err)
	case <-time.After(50 * time.Millisecond):
	}
	third := make(chan error, 1)
	go func() { third <- s.Update(context.Background(), func(Tx) error { return nil }) }()
	for _, c := range []<-chan error{done, done, third} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if got := lingers.Load(); got != 1 {
		t.Errorf("%d lingers, want 1 (the batch of one does not linger)", got)
	}
}

// TestCommitLingersOnlyUntilTheTimer: when nothing more comes, the
// batch commits when the timer fires; a function alone never waits.
func TestCommitLingersOnlyUntilTheTimer(t *testing.T) {
	s, fire, _, lingers := lingerStore(t, 256)
	if err := s.Update(context.Background(), func(Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if lingers.Load() != 0 {
		t.Fatal("a function alone waited for company")
	}
	done := queueTwo(t, s)
	select {
	case fire <- time.Time{}: // taken only by the lingering batch
	case <-time.After(10 * time.Second):
		t.Fatal("a commit of two functions did not linger")
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := lingers.Load(); got != 1 {
		t.Errorf("%d lingers, want 1", got)
	}
}
