package postgres

import (
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// pruneAt is a token's tokens.prune_at (issue 21): a bounce token's
// expiry, when it may be deleted; nil for every other token, which keeps
// answering after it expires.
func pruneAt(t *store.Token) any {
	if t.Kind != store.TokenBounce || t.Expires.IsZero() {
		return nil
	}
	return t.Expires.UnixNano()
}

// PruneBounceTokens implements store.TokenTx through the partial index
// tokens_prune.
func (tx *pgTx) PruneBounceTokens(before time.Time, max int) (int, error) {
	n, err := tx.exec("prune bounce tokens", `DELETE FROM tokens WHERE token IN
		(SELECT token FROM tokens WHERE prune_at <= $1 ORDER BY prune_at, token LIMIT $2)`, before.UnixNano(), max)
	return int(n), err
}
