package lowprio

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRunReturnsTheError(t *testing.T) {
	want := errors.New("the relay said no")
	if err := Run(func() error { return want }); err != want {
		t.Fatalf("Run = %v, want %v", err, want)
	}
	if err := Run(func() error { return nil }); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestPanicReachesTheCaller: a panic in fn is raised in Run's caller,
// where it can be recovered, with fn's value and stack.
func TestPanicReachesTheCaller(t *testing.T) {
	var got any
	func() {
		defer func() { got = recover() }()
		Run(func() error { panic("a hostile mail") })
	}()
	p, ok := got.(*Panic)
	if !ok {
		t.Fatalf("recovered %T %v, want *Panic", got, got)
	}
	if p.Value != "a hostile mail" || !strings.Contains(string(p.Stack), "TestPanicReachesTheCaller") {
		t.Errorf("panic %v with stack:\n%s", p.Value, p.Stack)
	}
	if !strings.Contains(p.Error(), "a hostile mail") {
		t.Errorf("Error() = %q", p.Error())
	}
}

// TestCopyPast: everything arrives, whatever side of head it ends on,
// and a read error after head is the copy's error.
func TestCopyPast(t *testing.T) {
	for _, size := range []int{0, 9, 10, 11, 1000} {
		src := strings.Repeat("x", size)
		var dst strings.Builder
		n, err := CopyPast(10, &dst, strings.NewReader(src), io.Copy)
		if err != nil || n != int64(size) || dst.String() != src {
			t.Errorf("%d bytes: copied %d (%v), %d arrived", size, n, err, dst.Len())
		}
	}
	want := errors.New("the client went away")
	n, err := CopyPast(10, io.Discard, io.MultiReader(strings.NewReader(strings.Repeat("x", 25)), iotest.ErrReader(want)), io.Copy)
	if n != 25 || err != want {
		t.Errorf("CopyPast = %d, %v; want 25, %v", n, err, want)
	}
}
