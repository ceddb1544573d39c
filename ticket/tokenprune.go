package ticket

import (
	"context"
	"fmt"

	"github.com/ticketgate/ticketgate/store"
)

// pruneBatch is how many expired bounce tokens one transaction deletes.
const pruneBatch = 1000

// PruneBounceTokens deletes the bounce tokens that have expired (issue
// 21): each outgoing copy mints one, honoured for notify.BounceTTL and
// refused after that, so an expired one only takes room. It reads the
// store's expiry index, a batch per transaction, and returns how many it
// deleted. The daemon runs it with the timers, on one node.
func (e *Engine) PruneBounceTokens(ctx context.Context) (int, error) {
	total := 0
	for {
		now := e.now().UTC()
		var n int
		err := e.store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.PruneBounceTokens(now, pruneBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("ticket: prune expired bounce tokens: %w", err)
		}
		total += n
		if n < pruneBatch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
