package flow

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestNilGateNeverWaits(t *testing.T) {
	var g *Gate
	if New(time.Second, 0) != nil {
		t.Fatal("max 0 must turn pacing off")
	}
	g.Note(time.Hour)
	if d := g.Wait(context.Background()); d != 0 || g.Lag() != 0 {
		t.Fatalf("nil gate waited %v, lag %v", d, g.Lag())
	}
}

func TestKeepingUpCostsNothing(t *testing.T) {
	g := New(200*time.Millisecond, time.Hour)
	g.Note(150 * time.Millisecond)
	if d := g.Wait(context.Background()); d != 0 {
		t.Fatalf("waited %v while the lag was under the target", d)
	}
}

// waiting reports whether a Wait is parked on the gate.
func waiting(g *Gate) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.below != nil
}

func TestWaitEndsWhenTheLagFalls(t *testing.T) {
	g := New(200*time.Millisecond, time.Hour)
	g.Note(3 * time.Second)
	done := make(chan time.Duration, 1)
	go func() { done <- g.Wait(context.Background()) }()
	for !waiting(g) {
		// The goroutine parks within a scheduling round; yield until then.
		select {
		case d := <-done:
			t.Fatalf("Wait returned after %v while the sender lagged", d)
		default:
		}
		runtime.Gosched()
	}
	g.Note(time.Second) // still over the target: nobody is let go
	select {
	case d := <-done:
		t.Fatalf("Wait returned after %v while the lag was still over the target", d)
	default:
	}
	g.Note(100 * time.Millisecond)
	if d := <-done; d <= 0 {
		t.Fatalf("held %v, want the time it waited", d)
	}
	if waiting(g) {
		t.Fatal("the gate still holds a waiter channel")
	}
}

func TestWaitIsBounded(t *testing.T) {
	g := New(0, time.Millisecond)
	g.Note(time.Hour)
	if d := g.Wait(context.Background()); d < time.Millisecond {
		t.Fatalf("held %v, want the gate's maximum", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g = New(0, time.Hour)
	g.Note(time.Hour)
	g.Wait(ctx) // returns: the session's context ended
}
