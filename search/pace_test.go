package search

import (
	"context"
	"testing"
	"time"
)

// TestRunPace drives Run's loop with a hand-made clock: a catch-up comes
// every Every; while Busy says the mail needs the CPUs it waits, but never
// longer than MaxWait; Busy is asked at every tick.
func TestRunPace(t *testing.T) {
	db := openStore(t)
	x, err := Open(context.Background(), t.TempDir(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	busy := make(chan bool)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := Pace{Every: 3 * time.Second, MaxWait: 6 * time.Second, Busy: func() bool { return <-busy }}
	go func() { defer close(done); x.run(ctx, p, time.Second, tick) }()
	t.Cleanup(func() {
		cancel()
		close(busy) // a loop waiting for Busy's answer gets one
		<-done
		x.Close()
	})
	<-x.Ready()

	cursor := func() uint64 {
		x.mu.Lock()
		defer x.mu.Unlock()
		c, _, err := x.eng.cursor()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Ticks counted from the previous catch-up; each step adds a ticket
	// first, so a catch-up always moves the cursor.
	steps := []struct {
		name    string
		busy    bool
		catchUp bool
	}{
		{"1, quiet: not due yet", false, false},
		{"2, quiet: not due yet", false, false},
		{"3, quiet: due", false, true},
		{"1, busy: not due", true, false},
		{"2, busy: not due", true, false},
		{"3, busy: due, waits", true, false},
		{"4, busy: waits", true, false},
		{"5, busy: waits", true, false},
		{"6, busy: waited MaxWait", true, true},
		{"1, quiet: not due yet", false, false},
		{"2, busy: not due", true, false},
		{"3, busy: due, waits", true, false},
		{"4, quiet: goes", false, true},
	}
	// Each step is one tick: the loop blocks in Busy until the step
	// answers, and it takes the next tick only once it waits again, so a
	// catch-up the answer allowed is over when the next send returns.
	var before uint64
	check := func(i int) {
		if moved := cursor() > before; moved != steps[i].catchUp {
			t.Fatalf("step %d (tick %s): caught up = %v, want %v", i, steps[i].name, moved, steps[i].catchUp)
		}
	}
	for i, s := range steps {
		tick <- time.Time{}
		if i > 0 {
			check(i - 1)
		}
		// A new ticket, so that a catch-up moves the cursor.
		addTicket(t, db, "ACME", uint64(i+1), "printer", "carl@example.com", "the printer is on fire")
		before = cursor()
		busy <- s.busy
	}
	tick <- time.Time{}
	check(len(steps) - 1)
}
