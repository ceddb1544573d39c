package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// The webhook delivery queue (issue 18) is the outbox's sibling table
// "hooks": the row (JSON), its due time in nanoseconds and a lease, the
// due order being the index (due, id). Its methods mirror outbox.go.

var _ store.HookLeaser = (*DB)(nil)

func (tx *pgTx) EnqueueHook(item *store.HookItem) error {
	id, err := tx.nextval("hooks_id_seq")
	if err != nil {
		return err
	}
	item.ID = id
	b, err := encode("webhook delivery", item)
	if err != nil {
		return err
	}
	_, err = tx.exec("enqueue webhook delivery", "INSERT INTO hooks (id, due, data) VALUES ($1, $2, $3)", int64(id), item.NextAttempt.UnixNano(), b)
	return err
}

func (tx *pgTx) HookItem(id uint64) (*store.HookItem, error) {
	b, err := tx.one("read webhook delivery", "SELECT data FROM hooks WHERE id = $1", int64(id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("store: webhook delivery %d: %w", id, store.ErrNotFound)
	}
	var it store.HookItem
	if err := decode(fmt.Sprintf("hooks/%d", id), b, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// RescheduleHook ends the delivery's lease: the attempt is recorded.
func (tx *pgTx) RescheduleHook(id uint64, change func(*store.HookItem)) (*store.HookItem, error) {
	it, err := tx.HookItem(id)
	if err != nil {
		return nil, err
	}
	change(it)
	it.ID = id
	b, err := encode("webhook delivery", it)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec("reschedule webhook delivery", "UPDATE hooks SET due = $2, data = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1",
		int64(id), it.NextAttempt.UnixNano(), b); err != nil {
		return nil, err
	}
	return it, nil
}

func (tx *pgTx) DequeueHook(id uint64) (*store.HookItem, error) {
	it, err := tx.HookItem(id)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec("dequeue webhook delivery", "DELETE FROM hooks WHERE id = $1", int64(id)); err != nil {
		return nil, err
	}
	return it, nil
}

func (tx *pgTx) DueHookIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	var ids []uint64
	n := 0
	err := tx.rows("read due webhook deliveries", "SELECT id FROM hooks WHERE due <= $1 ORDER BY due, id LIMIT $2", func(r pgx.Rows) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		if n++; n <= max {
			ids = append(ids, uint64(id))
		}
		return nil
	}, now.UnixNano(), max+1)
	if err != nil {
		return nil, time.Time{}, err
	}
	if n > max {
		return ids, now, nil
	}
	var next *int64
	if err := tx.tx.QueryRow(tx.ctx, "SELECT min(due) FROM hooks WHERE due > $1", now.UnixNano()).Scan(&next); err != nil {
		return nil, time.Time{}, tx.fail("read next due webhook delivery", err)
	}
	if next == nil {
		return ids, time.Time{}, nil
	}
	return ids, time.Unix(0, *next), nil
}

func (tx *pgTx) ListHooks(max int) ([]*store.HookItem, error) {
	var out []*store.HookItem
	err := tx.rows("list webhook deliveries", "SELECT id, data FROM hooks ORDER BY id LIMIT $1", func(r pgx.Rows) error {
		var id int64
		var b []byte
		if err := r.Scan(&id, &b); err != nil {
			return err
		}
		var it store.HookItem
		if err := decode(fmt.Sprintf("hooks/%d", id), b, &it); err != nil {
			return err
		}
		out = append(out, &it)
		return nil
	}, max)
	return out, err
}

// CheckHooks compares every row's due column with its NextAttempt (see
// CheckOutbox).
func (tx *pgTx) CheckHooks() (store.OutboxCheck, error) {
	var c store.OutboxCheck
	err := tx.rows("check webhook deliveries", "SELECT id, due, data FROM hooks ORDER BY id", func(r pgx.Rows) error {
		var id, due int64
		var b []byte
		if err := r.Scan(&id, &due, &b); err != nil {
			return err
		}
		var it store.HookItem
		if err := decode(fmt.Sprintf("hooks/%d", id), b, &it); err != nil {
			return err
		}
		c.Rows++
		c.Index++
		if it.NextAttempt.UnixNano() != due {
			c.NoRow = append(c.NoRow, uint64(id))
			c.NoIndex = append(c.NoIndex, uint64(id))
		}
		return nil
	})
	return c, err
}

// RepairHooks sets every row's due column from its NextAttempt.
func (tx *pgTx) RepairHooks() (int, error) {
	c, err := tx.CheckHooks()
	if err != nil || c.OK() {
		return 0, err
	}
	for _, id := range c.NoIndex {
		it, err := tx.HookItem(id)
		if err != nil {
			return 0, err
		}
		if _, err := tx.exec("repair webhook deliveries", "UPDATE hooks SET due = $2 WHERE id = $1", int64(id), it.NextAttempt.UnixNano()); err != nil {
			return 0, err
		}
	}
	return len(c.NoIndex), nil
}

func (tx *pgTx) HookStats() (int, time.Time, error) {
	var n int
	if err := tx.tx.QueryRow(tx.ctx, "SELECT count(*) FROM hooks").Scan(&n); err != nil {
		return 0, time.Time{}, tx.fail("count webhook deliveries", err)
	}
	var b []byte
	err := tx.tx.QueryRow(tx.ctx, "SELECT data FROM hooks ORDER BY id LIMIT 1").Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, time.Time{}, nil
	}
	if err != nil {
		return n, time.Time{}, tx.fail("read oldest webhook delivery", err)
	}
	var it store.HookItem
	if err := decode("oldest webhook delivery", b, &it); err != nil {
		return n, time.Time{}, err
	}
	return n, it.Created, nil
}

// ClaimHooks leases due, unleased deliveries to owner (see ClaimOutbox).
func (s *DB) ClaimHooks(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error) {
	if max <= 0 {
		return nil, time.Time{}, nil
	}
	t := now.UnixNano()
	type claimed struct{ ID, Due int64 }
	var got []claimed
	var next *int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH c AS (
				SELECT id FROM hooks WHERE due <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED)
			UPDATE hooks h SET lease_owner = $3, lease_until = $4 FROM c WHERE h.id = c.id RETURNING h.id, h.due`,
			t, max, owner, now.Add(lease).UnixNano())
		if err != nil {
			return err
		}
		if got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[claimed]); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT min(greatest(due, coalesce(lease_until, 0))) FROM hooks
			WHERE greatest(due, coalesce(lease_until, 0)) > $1`, t).Scan(&next)
	})
	if err != nil {
		return nil, time.Time{}, fault.Temporary(fmt.Errorf("store/postgres: claim webhook deliveries: %w", err))
	}
	slices.SortFunc(got, func(a, b claimed) int { return cmp.Or(cmp.Compare(a.Due, b.Due), cmp.Compare(a.ID, b.ID)) })
	ids := make([]uint64, len(got))
	for i, c := range got {
		ids[i] = uint64(c.ID)
	}
	switch {
	case len(got) == max:
		return ids, now, nil
	case next == nil:
		return ids, time.Time{}, nil
	}
	return ids, time.Unix(0, *next), nil
}

// RenewHookLeases extends owner's leases on ids and returns those it no
// longer holds.
func (s *DB) RenewHookLeases(ctx context.Context, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error) {
	return s.renewLeases(ctx, "hooks", "webhook delivery", owner, ids, now, lease)
}
