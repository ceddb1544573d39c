package cpushare

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

// fake is a clock and a CPU counter the test moves by hand.
type fake struct {
	t   time.Time
	cpu time.Duration
	err error
}

func (f *fake) meter(cpus int) *Meter {
	m := &Meter{cpus: cpus, now: func() time.Time { return f.t }, usage: func() (time.Duration, error) { return f.cpu, f.err }}
	m.at, m.used = f.t, f.cpu
	return m
}

func TestShare(t *testing.T) {
	f := &fake{t: time.Unix(1000, 0)}
	m := f.meter(2)
	tests := []struct {
		name      string
		wall, cpu time.Duration
		want      float64
	}{
		{"idle", time.Second, 0, 0},
		{"one of two CPUs", time.Second, time.Second, 0.5},
		{"both CPUs", 2 * time.Second, 4 * time.Second, 1},
		{"a quarter", 4 * time.Second, 2 * time.Second, 0.25},
		// Accounting granularity can make CPU time run ahead of the
		// clock for a moment: never more than all of it.
		{"capped", time.Second, 3 * time.Second, 1},
		{"no time passed", 0, time.Second, 0},
	}
	for _, tc := range tests {
		f.t, f.cpu = f.t.Add(tc.wall), f.cpu+tc.cpu
		if got := m.Share(); got != tc.want {
			t.Errorf("%s: Share() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestShareUnreadable(t *testing.T) {
	f := &fake{t: time.Unix(1000, 0)}
	m := f.meter(2)
	f.t, f.cpu, f.err = f.t.Add(time.Second), 2*time.Second, errors.New("no rusage")
	if got := m.Share(); got != 0 {
		t.Errorf("Share() with an unreadable CPU time = %v, want 0 (nothing waits)", got)
	}
	// The next window starts at the last reading that worked: 3 s of
	// CPU in 2 s on 2 CPUs.
	f.err = nil
	f.t, f.cpu = f.t.Add(time.Second), f.cpu+time.Second
	if got := m.Share(); got != 0.75 {
		t.Errorf("Share() after a failure = %v, want 0.75", got)
	}
}

// TestShareMeasuresThisProcess burns CPU on every CPU and checks the real
// meter sees it. How much of the machine the test got depends on what else
// runs (other test binaries), so only that it saw some is asserted.
func TestShareMeasuresThisProcess(t *testing.T) {
	m := New()
	if _, err := Used(); err != nil {
		t.Skipf("this system does not report the process's CPU time: %v", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	n := runtime.NumCPU()
	for range n {
		go func() {
			defer func() { done <- struct{}{} }()
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
					for i := range 100000 {
						x += i
					}
					_ = x
				}
			}
		}()
	}
	// Spin until the process has used 200 ms of CPU per CPU by its own
	// account (no sleeping: the meter's window is whatever this took).
	start, _ := Used()
	for {
		now, _ := Used()
		if now-start >= time.Duration(n)*200*time.Millisecond {
			break
		}
		runtime.Gosched()
	}
	busy := m.Share()
	close(stop)
	for range n {
		<-done
	}
	if busy <= 0 || busy > 1 {
		t.Errorf("Share() while every CPU spun = %v, want above 0 and at most 1", busy)
	}
}
