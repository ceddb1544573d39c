// Package cpushare measures how much of the machine's CPU time this
// process used lately, so background work (the search index's catch-ups)
// can wait while mail needs the CPUs.
package cpushare

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Meter measures the process's share of all CPUs between two calls of
// Share. Its zero value is not ready; use New.
type Meter struct {
	mu   sync.Mutex
	cpus int
	// usage reads the process's CPU time so far (user and system, all
	// threads); tests replace it.
	usage func() (time.Duration, error)
	now   func() time.Time
	at    time.Time
	used  time.Duration
}

// New returns a Meter whose first window starts now.
func New() *Meter {
	m := &Meter{cpus: runtime.NumCPU(), usage: Used, now: time.Now}
	m.at = m.now()
	m.used, _ = m.usage()
	return m
}

// Share returns the part (0 to 1) of all the CPUs this process used since
// the previous call (or since New), and starts a new window. Where the
// process's CPU time cannot be read it answers 0 (then nothing waits) and
// the window goes on from the last reading that worked.
func (m *Meter) Share() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	used, err := m.usage()
	if err != nil {
		return 0
	}
	wall, cpu := now.Sub(m.at), used-m.used
	m.at, m.used = now, used
	if wall <= 0 || m.cpus <= 0 {
		return 0
	}
	return min(1, max(0, float64(cpu)/float64(wall)/float64(m.cpus)))
}

// Used is the CPU time (user and system) of every thread of this process
// so far, not of its children: the search worker's own time does not
// count.
func Used() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
