package waitfor

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestUntilWakesOnNotify: a waiter looks again at every Notify and returns
// when its condition holds; a change made just before a Notify is never
// missed, however the goroutines interleave.
func TestUntilWakesOnNotify(t *testing.T) {
	var s Signal
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Until(time.Minute, func() bool { return n.Load() >= 1000 }); err != nil {
				t.Error(err)
			}
		}()
	}
	for range 1000 {
		n.Add(1)
		s.Notify()
	}
	wg.Wait()
}

// TestUntilGivesUp: without the change it waits for, Until returns an
// error after its limit, having looked at the condition once more.
func TestUntilGivesUp(t *testing.T) {
	var s Signal
	looks := 0
	if err := s.Until(time.Millisecond, func() bool { looks++; return false }); err == nil {
		t.Fatal("Until returned nil for a condition that never held")
	}
	if looks != 2 {
		t.Errorf("looked %d times, want 2 (at the start and at the limit)", looks)
	}
	s.Notify() // nobody waits: never blocks
}

// TestThen: the chained functions run in order, nil ones skipped.
func TestThen(t *testing.T) {
	var got []int
	Then(func() { got = append(got, 1) }, nil, func() { got = append(got, 2) })()
	if fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("ran %v", got)
	}
}

// TestLogWaitLines: a waiter for log lines wakes at each write and counts
// complete lines only; OnWrite is told of every write too.
func TestLogWaitLines(t *testing.T) {
	var writes atomic.Int64
	l := &Log{OnWrite: func() { writes.Add(1) }}
	partial := make(chan int)
	go func() {
		fmt.Fprint(l, "level=INFO msg=ready n=1\nlevel=WARN msg=ready\n")
		fmt.Fprint(l, "level=INFO msg=re")
		partial <- l.Count(Contains("ready"))
		fmt.Fprint(l, "ady n=2\n")
	}()
	if got := <-partial; got != 2 {
		t.Errorf("a line still being written was counted: %d", got)
	}
	l.WaitLines(t, time.Minute, "two ready lines", 2, Contains("level=INFO", "ready"))
	if got := l.Lines(); len(got) != 3 || got[2] != "level=INFO msg=ready n=2" {
		t.Errorf("lines %q", got)
	}
	if writes.Load() != 3 {
		t.Errorf("OnWrite told of %d writes, want 3", writes.Load())
	}
}
