package lowprio

import (
	"errors"
	"strings"
	"testing"
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
