package lowprio

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestRunLowersOnlyItsOwnThread: fn runs at Nice; the caller's thread
// keeps its priority, and so does the next goroutine the runtime starts.
func TestRunLowersOnlyItsOwnThread(t *testing.T) {
	before, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	var inside int
	if err := Run(func() error {
		var err error
		// The kernel answers 20 - nice.
		inside, err = unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside != 20-Nice {
		t.Errorf("inside Run: getpriority = %d (nice %d), want %d (nice %d)", inside, 20-inside, 20-Nice, Nice)
	}
	for range 20 {
		got := make(chan int)
		go func() {
			p, _ := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
			got <- p
		}()
		if p := <-got; p != before {
			t.Fatalf("a later goroutine runs at getpriority %d, want %d: the lowered thread went back to the runtime", p, before)
		}
	}
}
