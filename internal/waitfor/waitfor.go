// Package waitfor lets tests wait for what the code under test does
// instead of sleeping: a Signal is told of every change a test may wait
// for (a store commit, a send attempt recorded, a log line written, an
// IMAP answer), and a waiter looks at its condition again at each one.
// Nothing here depends on speed: a waiter wakes when something happened,
// and its limit only keeps a broken build from hanging.
package waitfor

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Signal tells waiters that something may have changed. The zero value is
// ready to use; a Signal is safe for concurrent use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// Notify wakes every waiter. It never blocks, so it may be called from
// any hook (a store's commit loop, a log writer).
func (s *Signal) Notify() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
	s.mu.Unlock()
}

// Next returns a channel closed at the next Notify. Take it before
// looking at the condition, so that a change between the look and the
// wait is not missed.
func (s *Signal) Next() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Until looks at cond now and after every Notify until it holds (nil) or
// limit passed (an error).
func (s *Signal) Until(limit time.Duration, cond func() bool) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		next := s.Next()
		if cond() {
			return nil
		}
		select {
		case <-next:
		case <-timer.C:
			if cond() {
				return nil
			}
			return fmt.Errorf("waitfor: condition not met after %v", limit)
		}
	}
}

// Wait is Until that fails t, naming what it waited for.
func (s *Signal) Wait(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := s.Until(limit, cond); err != nil {
		t.Fatalf("gave up after %v waiting for %s", limit, what)
	}
}

// Then returns a function that calls each of fns that is not nil, in
// order: for chaining a Signal's Notify after a hook already set.
func Then(fns ...func()) func() {
	return func() {
		for _, fn := range fns {
			if fn != nil {
				fn()
			}
		}
	}
}

// Log collects what a process (or a logger) writes, for example a child
// daemon's stderr, and notifies its Signal (and OnWrite, when set) after
// every write, so a test can wait for a log line instead of sleeping. It
// is safe for concurrent use; one Log may collect several processes'
// output one after another (a daemon restarted).
type Log struct {
	Signal
	// OnWrite, when set, is called after every write too (for a test
	// that waits on several sources with one Signal of its own).
	OnWrite func()

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	n, err := l.b.Write(p)
	l.mu.Unlock()
	l.Notify()
	if l.OnWrite != nil {
		l.OnWrite()
	}
	return n, err
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines returns the complete lines written so far (a line still being
// written is left out).
func (l *Log) Lines() []string {
	s := l.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i+1]
	} else {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// Count is the number of complete lines for which match holds.
func (l *Log) Count(match func(line string) bool) int {
	n := 0
	for _, line := range l.Lines() {
		if match(line) {
			n++
		}
	}
	return n
}

// WaitLines waits until at least n complete lines match, looking again
// after every write; it fails t after limit, naming what it waited for
// and showing the end of the log.
func (l *Log) WaitLines(t testing.TB, limit time.Duration, what string, n int, match func(line string) bool) {
	t.Helper()
	if err := l.Until(limit, func() bool { return l.Count(match) >= n }); err != nil {
		t.Fatalf("gave up after %v waiting for %s (%d of %d lines); log ends:\n%s", limit, what, l.Count(match), n, tail(l.String(), 30))
	}
}

// Contains returns a line matcher for lines holding every one of subs.
func Contains(subs ...string) func(string) bool {
	return func(line string) bool {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				return false
			}
		}
		return true
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
