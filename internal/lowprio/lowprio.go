// Package lowprio runs CPU-heavy work that nobody waits on closely (the
// base64 of a large attachment on its way to the relay, the spooling and
// decoding of a large inbound message) on an operating system thread of
// its own at a lower CPU priority, so that the small
// requests arriving meanwhile get the CPUs first: the Go scheduler has
// no priorities, and a goroutine that encodes for tens of milliseconds
// holds its processor for up to ten of them before it is preempted.
//
// The thread is never given back to the Go runtime: an unprivileged
// process cannot raise a thread's priority again, so the goroutine ends
// while still locked to it and the runtime ends the thread with it.
package lowprio

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Nice is the priority Run gives its thread. Not the lowest (19): on
// CPUs saturated by small requests, a thread at nice 19 gets well under
// one percent of one and a 20 MB message could take a minute; at nice 10
// the scheduler still runs a woken thread of normal priority first, and
// the large work keeps about a tenth of a CPU.
const Nice = 10

// Run calls fn on a fresh thread at priority Nice and returns its error.
// Where priorities cannot be set, fn runs at normal priority; the work
// is the same.
//
// A panic in fn is raised again in the caller's goroutine, as a *Panic
// holding the value and fn's stack: whatever recovers the caller's panics
// (go-smtp's connection handler does) recovers fn's too, as if fn had run
// there.
func Run(fn func() error) error {
	type result struct {
		err error
		p   *Panic
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread ends with this goroutine.
		lower()
		defer func() {
			if v := recover(); v != nil {
				done <- result{p: &Panic{Value: v, Stack: debug.Stack()}}
			}
		}()
		done <- result{err: fn()}
	}()
	r := <-done
	if r.p != nil {
		panic(r.p)
	}
	return r.err
}

// CopyPast copies src to dst with cp (io.Copy or a pooled buffer's
// copy): the first head bytes on the caller's thread, the rest, if src
// has more, through Run. A message or mail is only known to be large once
// that much of it has come.
func CopyPast(head int64, dst io.Writer, src io.Reader, cp func(io.Writer, io.Reader) (int64, error)) (int64, error) {
	n, err := cp(dst, io.LimitReader(src, head))
	if err != nil || n < head {
		return n, err
	}
	err = Run(func() error {
		m, err := cp(dst, src)
		n += m
		return err
	})
	return n, err
}

// Panic is a panic of the function Run ran, raised again in Run's caller.
type Panic struct {
	Value any
	Stack []byte // where fn panicked
}

func (p *Panic) Error() string {
	return fmt.Sprintf("%v (on a low-priority thread)\n\n%s", p.Value, p.Stack)
}
