package daemon

import (
	"context"
	"time"

	"github.com/ticketgate/ticketgate/digest"
)

// The agents' daily digests (issue 21) are made on the node that holds
// the "timers" lock, like every other timer: each day is marked done in
// the transaction that queues its mail, so a node taking over, or a
// restart, never sends a day twice.

// digestPoll bounds how long the loop waits for the next digest it
// knows of: an agent's #digest, or a reload, may bring one closer.
const digestPoll = 5 * time.Minute

// digestLoop makes the digests as they fall due, until ctx ends. The
// first run is at start: a daemon that was down at an agent's digest
// time sends that day's digest now.
func (d *Daemon) digestLoop(ctx context.Context, m *digest.Maker, ran func(int, error)) {
	d.timerLoop(ctx, digestPoll, func() time.Time {
		n, next, err := m.Run(ctx)
		if ctx.Err() != nil {
			return next
		}
		if err != nil {
			d.log.Error("digests failed", "err", err)
		} else if n > 0 {
			d.log.Info("digests queued", "mails", n)
		}
		if ran != nil {
			ran(n, err)
		}
		return next
	})
}
