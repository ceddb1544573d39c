// Package flow paces the intake to the outbound sender, as Postfix's
// in_flow_delay does: when the sender starts its due mail later than a
// target lag behind the time it became due, a new inbound message waits
// (at most a fixed delay) before it is accepted. The intake then settles
// at the rate the sender can answer, so an auto-reply follows its request
// within about a second instead of queueing behind a burst; a sender that
// keeps up costs the intake nothing, and no message is ever refused for it.
package flow

import (
	"context"
	"sync"
	"time"
)

// Gate holds the sender's latest lag and the inbound sessions waiting for
// it to fall. The zero value is not usable; a nil *Gate never waits.
type Gate struct {
	target, max time.Duration

	mu  sync.Mutex
	lag time.Duration
	// below is closed (and set to nil) when the lag falls to the target;
	// nil while nobody waits.
	below chan struct{}
}

// New returns a gate that holds a message while the sender lags more than
// target, for at most max. max 0 returns nil: no pacing.
func New(target, max time.Duration) *Gate {
	if max <= 0 {
		return nil
	}
	return &Gate{target: target, max: max}
}

// Note records the sender's lag: how long after it became due the sender
// started its latest item, or 0 when nothing is due.
func (g *Gate) Note(lag time.Duration) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.lag = lag
	if lag <= g.target && g.below != nil {
		close(g.below)
		g.below = nil
	}
	g.mu.Unlock()
}

// Lag returns the lag last noted.
func (g *Gate) Lag() time.Duration {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lag
}

// Lagging reports whether the sender lags more than the target now (a
// Wait would hold its caller).
func (g *Gate) Lagging() bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lag > g.target
}

// Wait returns at once while the sender keeps up; otherwise when its lag
// falls to the target, after the gate's maximum delay, or when ctx ends,
// whichever comes first. It returns how long it held the caller.
func (g *Gate) Wait(ctx context.Context) time.Duration {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	if g.lag <= g.target {
		g.mu.Unlock()
		return 0
	}
	if g.below == nil {
		g.below = make(chan struct{})
	}
	below := g.below
	g.mu.Unlock()
	start := time.Now()
	t := time.NewTimer(g.max)
	defer t.Stop()
	select {
	case <-below:
	case <-t.C:
	case <-ctx.Done():
	}
	return time.Since(start)
}
