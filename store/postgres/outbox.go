package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// The outbox is the table "outbox", a queue of queue.go's kind.

func (tx *pgTx) Enqueue(item *store.OutboxItem) error { return outboxQueue.enqueue(tx, item) }

func (tx *pgTx) OutboxItem(id uint64) (*store.OutboxItem, error) { return outboxQueue.item(tx, id) }

// Reschedule ends the item's lease: the attempt is recorded.
func (tx *pgTx) Reschedule(id uint64, change func(*store.OutboxItem)) (*store.OutboxItem, error) {
	return outboxQueue.reschedule(tx, id, change)
}

func (tx *pgTx) Dequeue(id uint64) (*store.OutboxItem, error) { return outboxQueue.dequeue(tx, id) }

// DequeueSeen deletes the row and decodes what it held only when that is
// not the row seen was read from.
func (tx *pgTx) DequeueSeen(seen *store.OutboxItem) (*store.OutboxItem, error) {
	b, err := tx.one("dequeue outbox item", "DELETE FROM outbox WHERE id = $1 RETURNING data", int64(seen.ID))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("store: outbox item %d: %w", seen.ID, store.ErrNotFound)
	}
	if seen.Stored(b) {
		cp := *seen
		return &cp, nil
	}
	return outboxQueue.decode(int64(seen.ID), b)
}

func (tx *pgTx) DueOutbox(now time.Time, max int) ([]*store.OutboxItem, time.Time, error) {
	items, _, next, err := outboxQueue.due(tx, now, max, true)
	return items, next, err
}

func (tx *pgTx) DueIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	_, ids, next, err := outboxQueue.due(tx, now, max, false)
	return ids, next, err
}

// DueIDsExcept is DueIDs less the ids skip names (the due order reads
// no rows here, so there is nothing to save by skipping them earlier).
func (tx *pgTx) DueIDsExcept(now time.Time, max int, skip func(id uint64) bool) ([]uint64, time.Time, error) {
	ids, next, err := tx.DueIDs(now, max)
	if err != nil || skip == nil {
		return ids, next, err
	}
	out := ids[:0]
	for _, id := range ids {
		if !skip(id) {
			out = append(out, id)
		}
	}
	return out, next, nil
}

func (tx *pgTx) ListOutbox(max int) ([]*store.OutboxItem, error) { return outboxQueue.list(tx, max) }

// CheckOutbox compares every row's due column with its NextAttempt: in
// this layout the due order cannot lack or double an entry, only disagree
// with the row (reported as NoRow for the entry and NoIndex for the row).
func (tx *pgTx) CheckOutbox() (store.OutboxCheck, error) { return outboxQueue.check(tx) }

// RepairOutbox sets every row's due column from its NextAttempt.
func (tx *pgTx) RepairOutbox() (int, error) { return outboxQueue.repair(tx) }

func (tx *pgTx) OutboxStats() (int, time.Time) {
	n, oldest, err := outboxQueue.stats(tx)
	if err != nil || oldest == nil {
		return n, time.Time{}
	}
	return n, oldest.Created
}

func (tx *pgTx) OldestOutboxItem() *store.OutboxItem {
	_, oldest, err := outboxQueue.stats(tx)
	if err != nil {
		return nil
	}
	return oldest
}

// ClaimOutbox leases due, unleased items to owner (queue.go's claim): two
// live nodes never send one item.
func (s *DB) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error) {
	return outboxQueue.claim(ctx, s, owner, now, lease, max)
}

// RenewOutboxLeases extends owner's leases on ids and returns those it no
// longer holds.
func (s *DB) RenewOutboxLeases(ctx context.Context, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error) {
	return outboxQueue.renew(ctx, s, owner, ids, now, lease)
}
