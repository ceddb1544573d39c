package daemon

import (
	"context"
	"time"

	"github.com/ticketgate/ticketgate/metrics"
)

// Response targets and snoozes (issue 21): the engine's timers run on the
// node that holds the "timers" lock, and their outcomes are metrics.

// targetPoll bounds how long the loop waits for the next due time it
// knows of: a change made meanwhile may have brought one closer.
const targetPoll = time.Minute

// hookTargets counts breaches and reached targets, and wakes the timers
// when a change brings a due time closer.
func (d *Daemon) hookTargets() {
	m := metrics.NewTargets(d.ops.metrics)
	d.engine.OnBreach = m.Breached
	d.engine.OnTarget = m.Reached
	d.timerWake = make(chan struct{}, 1)
	d.engine.OnWake = func(time.Time) {
		select {
		case d.timerWake <- struct{}{}:
		default:
		}
	}
}

// targetLoop announces warnings, breaches and the ends of snoozes as
// they fall due, and deletes expired bounce tokens, until ctx ends.
func (d *Daemon) targetLoop(ctx context.Context) {
	var nextPrune time.Time
	for {
		wait := targetPoll
		next, err := d.engine.RunTimers(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Error("response-target timers failed", "err", err)
		} else if !next.IsZero() {
			if w := next.Sub(d.now()); w < wait {
				wait = max(w, time.Second)
			}
		}
		// Expired bounce tokens go on the same node (issue 21), at most
		// once per targetPoll: the loop also wakes for every change.
		if now := d.now(); !now.Before(nextPrune) {
			nextPrune = now.Add(targetPoll)
			if n, err := d.engine.PruneBounceTokens(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("pruning expired bounce tokens failed", "err", err)
			} else if n > 0 {
				d.log.Info("pruned expired bounce tokens", "deleted", n)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-d.timerWake:
			t.Stop()
		}
	}
}
