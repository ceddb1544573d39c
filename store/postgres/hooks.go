package postgres

import (
	"context"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// The webhook delivery queue (issue 18) is the outbox's sibling table
// "hooks", a queue of queue.go's kind.

var _ store.HookLeaser = (*DB)(nil)

func (tx *pgTx) EnqueueHook(item *store.HookItem) error { return hookQueue.enqueue(tx, item) }

func (tx *pgTx) HookItem(id uint64) (*store.HookItem, error) { return hookQueue.item(tx, id) }

// RescheduleHook ends the delivery's lease: the attempt is recorded.
func (tx *pgTx) RescheduleHook(id uint64, change func(*store.HookItem)) (*store.HookItem, error) {
	return hookQueue.reschedule(tx, id, change)
}

func (tx *pgTx) DequeueHook(id uint64) (*store.HookItem, error) { return hookQueue.dequeue(tx, id) }

func (tx *pgTx) DueHookIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	_, ids, next, err := hookQueue.due(tx, now, max, false)
	return ids, next, err
}

func (tx *pgTx) ListHooks(max int) ([]*store.HookItem, error) { return hookQueue.list(tx, max) }

// CheckHooks compares every row's due column with its NextAttempt (see
// CheckOutbox).
func (tx *pgTx) CheckHooks() (store.OutboxCheck, error) { return hookQueue.check(tx) }

// RepairHooks sets every row's due column from its NextAttempt.
func (tx *pgTx) RepairHooks() (int, error) { return hookQueue.repair(tx) }

func (tx *pgTx) HookStats() (int, time.Time, error) {
	n, oldest, err := hookQueue.stats(tx)
	if err != nil || oldest == nil {
		return n, time.Time{}, err
	}
	return n, oldest.Created, nil
}

// ClaimHooks leases due, unleased deliveries to owner (see ClaimOutbox).
func (s *DB) ClaimHooks(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error) {
	return hookQueue.claim(ctx, s, owner, now, lease, max)
}

// RenewHookLeases extends owner's leases on ids and returns those it no
// longer holds.
func (s *DB) RenewHookLeases(ctx context.Context, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error) {
	return hookQueue.renew(ctx, s, owner, ids, now, lease)
}
