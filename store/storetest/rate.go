package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// rateCounters (issue 13): RateCount is the current fixed window's count
// plus the previous window's weighted by its overlap; counters of keys
// that share a prefix ("a", "a|b", "a|") stay apart; a window two back
// no longer counts.
func (s *suite) rateCounters(t *testing.T) {
	db, _ := s.fresh(t)
	const w = time.Hour
	base := time.Unix(0, 0).UTC().Add(1000 * w) // a window's start
	add := func(key string, at time.Time, n int) {
		t.Helper()
		update(t, db, func(tx store.Tx) error {
			for range n {
				if err := tx.RateAdd(key, w, at); err != nil {
					return err
				}
			}
			return nil
		})
	}
	count := func(key string, at time.Time) float64 {
		t.Helper()
		return rateCount(t, db, key, w, at)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

	if got := count("a", base); got != 0 {
		t.Fatalf("nothing counted: %v, want 0", got)
	}
	add("a", base.Add(10*time.Minute), 3)
	add("a|b", base.Add(10*time.Minute), 5)
	add("", base.Add(10*time.Minute), 1)
	for _, c := range []struct {
		key  string
		at   time.Time
		want float64
	}{
		{"a", base.Add(59 * time.Minute), 3},
		{"a|b", base.Add(59 * time.Minute), 5},
		{"", base.Add(59 * time.Minute), 1},
		{"a|", base.Add(59 * time.Minute), 0},
		// A quarter into the next window three quarters of the last one count.
		{"a", base.Add(w + 15*time.Minute), 2.25},
		{"a|b", base.Add(w + 15*time.Minute), 3.75},
		// Two windows on, nothing.
		{"a", base.Add(2 * w), 0},
	} {
		if got := count(c.key, c.at); !near(got, c.want) {
			t.Errorf("RateCount(%q, %s) = %v, want %v", c.key, c.at.Sub(base), got, c.want)
		}
	}
	// The next window counts on top of the previous one's remainder.
	add("a", base.Add(w+30*time.Minute), 2)
	if got := count("a", base.Add(w+30*time.Minute)); !near(got, 2+3*0.5) {
		t.Errorf("RateCount after the next window's events = %v, want 3.5", got)
	}
	// Counting two windows later drops the first; the second still counts.
	add("a", base.Add(2*w+30*time.Minute), 1)
	if got := count("a", base.Add(2*w+30*time.Minute)); !near(got, 1+2*0.5) {
		t.Errorf("RateCount two windows on = %v, want 2", got)
	}
	if got := count("a|b", base.Add(59*time.Minute)); got != 5 {
		t.Errorf("another key's counter changed: %v, want 5", got)
	}
	// A clock that went back counts in its own (older) window, whose
	// previous one is gone by now.
	add("a", base.Add(w+40*time.Minute), 1)
	if got := count("a", base.Add(w+50*time.Minute)); got != 3 {
		t.Errorf("RateCount in the earlier window = %v, want 3", got)
	}
	if got := count("a", base.Add(2*w+30*time.Minute)); !near(got, 1+3*0.5) {
		t.Errorf("RateCount in the current window = %v, want 2.5", got)
	}
}

// ratePrune (issue 13): PruneRates removes exactly the counters no
// RateCount reads any more (their window and the next are over), however
// many there are, and counting goes on as before for the rest.
func (s *suite) ratePrune(t *testing.T) {
	db, _ := s.fresh(t)
	const w = time.Hour
	base := time.Unix(0, 0).UTC().Add(1000 * w) // a window's start
	add := func(key string, at time.Time) {
		t.Helper()
		update(t, db, func(tx store.Tx) error { return tx.RateAdd(key, w, at) })
	}
	count := func(key string, at time.Time) float64 {
		t.Helper()
		return rateCount(t, db, key, w, at)
	}
	prune := func(at time.Time) int {
		t.Helper()
		n, err := db.PruneRates(at)
		if err != nil {
			t.Fatalf("PruneRates: %v", err)
		}
		return n
	}

	add("old", base.Add(10*time.Minute))
	add("old", base.Add(20*time.Minute))
	add("previous", base.Add(w+10*time.Minute))
	add("current", base.Add(2*w+10*time.Minute))
	// Still in the window after its own, "old" counts and stays.
	if n := prune(base.Add(2*w - time.Nanosecond)); n != 0 {
		t.Fatalf("pruned %d counters a RateCount still reads", n)
	}
	now := base.Add(2*w + 30*time.Minute)
	if got := count("old", now); got != 0 {
		t.Fatalf("a counter two windows back counts %v", got)
	}
	if n := prune(now); n != 1 {
		t.Fatalf("pruned %d counters, want the one of \"old\"", n)
	}
	if got := count("previous", now); got != 0.5 {
		t.Errorf("the previous window's counter after the prune: %v, want 0.5", got)
	}
	if got := count("current", now); got != 1 {
		t.Errorf("the current window's counter after the prune: %v, want 1", got)
	}
	if n := prune(now); n != 0 {
		t.Errorf("a second prune removed %d", n)
	}

	// Many keys counted once, as a flood of new senders leaves them: all
	// go, in as many batches as it takes.
	update(t, db, func(tx store.Tx) error {
		for i := range 1300 {
			if err := tx.RateAdd(fmt.Sprintf("sender%04d@example.com|auto", i), w, now); err != nil {
				return err
			}
		}
		return nil
	})
	later := now.Add(3 * w)
	if n := prune(later); n != 1300+2 {
		t.Errorf("pruned %d, want the 1,300 senders' counters and the two older ones", n)
	}
	add("current", later)
	if got := count("current", later); got != 1 {
		t.Errorf("counting after the prune: %v, want 1", got)
	}
}

// rateCount is RateCount in a read transaction of its own.
func rateCount(t *testing.T, db store.DB, key string, w time.Duration, at time.Time) float64 {
	t.Helper()
	var got float64
	view(t, db, func(tx store.Tx) error {
		var err error
		got, err = tx.RateCount(key, w, at)
		return err
	})
	return got
}
