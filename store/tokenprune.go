package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Expired bounce tokens (issue 21). Every outgoing copy mints a bounce
// token (the secret of its envelope sender) that is honoured for
// notify.BounceTTL and then only refused; nothing removed them, so the
// tokens bucket grew by one dead record per mail sent. bTokenPrune
// indexes them by expiry so the timers node deletes the expired ones
// without reading every token:
//
//	token_prune: be64(unix nanos of Expires) token → nil
//
// Only bounce tokens are indexed: link, agent and reply tokens keep
// answering ("this link has expired", threading) after they expire.
var bTokenPrune = []byte("token_prune")

// pruneKey is t's entry in token_prune, nil when t is never pruned.
func pruneKey(t *Token) []byte {
	if t.Kind != TokenBounce || t.Expires.IsZero() {
		return nil
	}
	return append(putU64(uint64(t.Expires.UnixNano())), t.Token...)
}

// indexToken moves t's token_prune entry from what the stored row old
// (nil: none) had to what t has.
func (tx *boltTx) indexToken(old []byte, t *Token) error {
	b := tx.btx.Bucket(bTokenPrune)
	if old != nil {
		var o Token
		if err := json.Unmarshal(old, &o); err != nil {
			return fmt.Errorf("store: decode token before re-indexing: %w", err)
		}
		if k := pruneKey(&o); k != nil {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	if k := pruneKey(t); k != nil {
		return b.Put(k, nil)
	}
	return nil
}

// PruneBounceTokens implements TokenTx.
func (tx *boltTx) PruneBounceTokens(before time.Time, max int) (int, error) {
	b, tokens := tx.btx.Bucket(bTokenPrune), tx.btx.Bucket(bTokens)
	limit := putU64(uint64(before.UnixNano()))
	var gone [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && len(gone) < max; k, _ = c.Next() {
		if len(k) < 9 {
			return 0, fmt.Errorf("store: malformed token_prune key %x", k)
		}
		if bytes.Compare(k[:8], limit) > 0 {
			break
		}
		gone = append(gone, bytes.Clone(k))
	}
	n := 0
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return n, err
		}
		tok := k[8:]
		var t Token
		found, err := tx.get(bTokens, tok, &t)
		if err != nil {
			return n, err
		}
		// The row must still be the expired bounce token the entry names
		// (an entry is moved with its row, so anything else is a stale
		// entry: dropped, the row kept).
		if !found || !bytes.Equal(pruneKey(&t), k) {
			continue
		}
		if err := tokens.Delete(tok); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// migrateTokenPrune (5 → 6) indexes the bounce tokens stored so far.
func migrateTokenPrune(tx *boltTx, _ time.Time) error {
	return tx.btx.Bucket(bTokens).ForEach(func(k, v []byte) error {
		var t Token
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("store: decode token %q: %w", k, err)
		}
		return tx.indexToken(nil, &t)
	})
}

// errPruneEntry reports a token_prune entry that names no expired bounce
// token as it is stored (check-store).
var errPruneEntry = errors.New("names no bounce token with that expiry")
