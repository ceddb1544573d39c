package store

import "encoding/json"

// OldestOutboxItem returns the longest-queued outbound mail (ids grow, so
// it is the first key), nil when the outbox is empty. One seek.
func (tx *boltTx) OldestOutboxItem() *OutboxItem {
	k, v := tx.btx.Bucket(bOutbox).Cursor().First()
	if k == nil {
		return nil
	}
	var it OutboxItem
	if json.Unmarshal(v, &it) != nil {
		return nil
	}
	it.Raw = nil // not needed for a summary
	return &it
}
