package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// The outbox is one table: the row (JSON) and its due time in
// nanoseconds, the due order being the index (due, id). The due column is
// written with the row in one statement; CheckOutbox still compares it
// with the row's NextAttempt, as the contract asks.

func (tx *pgTx) Enqueue(item *store.OutboxItem) error {
	id, err := tx.nextval("outbox_id_seq")
	if err != nil {
		return err
	}
	item.ID = id
	b, err := encode("outbox item", item)
	if err != nil {
		return err
	}
	_, err = tx.exec("enqueue", "INSERT INTO outbox (id, due, data) VALUES ($1, $2, $3)", int64(id), item.NextAttempt.UnixNano(), b)
	return err
}

func (tx *pgTx) OutboxItem(id uint64) (*store.OutboxItem, error) {
	b, err := tx.one("read outbox item", "SELECT data FROM outbox WHERE id = $1", int64(id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("store: outbox item %d: %w", id, store.ErrNotFound)
	}
	var it store.OutboxItem
	if err := decode(fmt.Sprintf("outbox/%d", id), b, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// Reschedule ends the item's lease: the attempt is recorded.
func (tx *pgTx) Reschedule(id uint64, change func(*store.OutboxItem)) (*store.OutboxItem, error) {
	it, err := tx.OutboxItem(id)
	if err != nil {
		return nil, err
	}
	change(it)
	it.ID = id
	b, err := encode("outbox item", it)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec("reschedule", "UPDATE outbox SET due = $2, data = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1", int64(id), it.NextAttempt.UnixNano(), b); err != nil {
		return nil, err
	}
	return it, nil
}

func (tx *pgTx) Dequeue(id uint64) (*store.OutboxItem, error) {
	it, err := tx.OutboxItem(id)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec("dequeue", "DELETE FROM outbox WHERE id = $1", int64(id)); err != nil {
		return nil, err
	}
	return it, nil
}

// due reads up to max due rows at now (plus one to tell whether more are
// due) and when the next one is due.
func (tx *pgTx) due(now time.Time, max int, decodeRows bool) ([]*store.OutboxItem, []uint64, time.Time, error) {
	var items []*store.OutboxItem
	var ids []uint64
	n := 0
	err := tx.rows("read due outbox", "SELECT id, due, data FROM outbox WHERE due <= $1 ORDER BY due, id LIMIT $2", func(r pgx.Rows) error {
		var id, due int64
		var b []byte
		if err := r.Scan(&id, &due, &b); err != nil {
			return err
		}
		n++
		if n > max {
			return nil
		}
		ids = append(ids, uint64(id))
		if !decodeRows {
			return nil
		}
		var it store.OutboxItem
		if err := decode(fmt.Sprintf("outbox/%d", id), b, &it); err != nil {
			return err
		}
		if it.NextAttempt.UnixNano() != due {
			return fmt.Errorf("%w: index entry of %d at %s, row due %s", store.ErrOutboxIndex, id, time.Unix(0, due), it.NextAttempt)
		}
		items = append(items, &it)
		return nil
	}, now.UnixNano(), max+1)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	if n > max {
		return items, ids, now, nil
	}
	var next *int64
	if err := tx.tx.QueryRow(tx.ctx, "SELECT min(due) FROM outbox WHERE due > $1", now.UnixNano()).Scan(&next); err != nil {
		return nil, nil, time.Time{}, tx.fail("read next due", err)
	}
	if next == nil {
		return items, ids, time.Time{}, nil
	}
	return items, ids, time.Unix(0, *next), nil
}

func (tx *pgTx) DueOutbox(now time.Time, max int) ([]*store.OutboxItem, time.Time, error) {
	items, _, next, err := tx.due(now, max, true)
	return items, next, err
}

func (tx *pgTx) DueIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	_, ids, next, err := tx.due(now, max, false)
	return ids, next, err
}

func (tx *pgTx) ListOutbox(max int) ([]*store.OutboxItem, error) {
	var out []*store.OutboxItem
	err := tx.rows("list outbox", "SELECT id, data FROM outbox ORDER BY id LIMIT $1", func(r pgx.Rows) error {
		var id int64
		var b []byte
		if err := r.Scan(&id, &b); err != nil {
			return err
		}
		var it store.OutboxItem
		if err := decode(fmt.Sprintf("outbox/%d", id), b, &it); err != nil {
			return err
		}
		out = append(out, &it)
		return nil
	}, max)
	return out, err
}

// CheckOutbox compares every row's due column with its NextAttempt: in
// this layout the due order cannot lack or double an entry, only disagree
// with the row (reported as NoRow for the entry and NoIndex for the row).
func (tx *pgTx) CheckOutbox() (store.OutboxCheck, error) {
	var c store.OutboxCheck
	err := tx.rows("check outbox", "SELECT id, due, data FROM outbox ORDER BY id", func(r pgx.Rows) error {
		var id, due int64
		var b []byte
		if err := r.Scan(&id, &due, &b); err != nil {
			return err
		}
		var it store.OutboxItem
		if err := decode(fmt.Sprintf("outbox/%d", id), b, &it); err != nil {
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

// RepairOutbox sets every row's due column from its NextAttempt.
func (tx *pgTx) RepairOutbox() (int, error) {
	c, err := tx.CheckOutbox()
	if err != nil || c.OK() {
		return 0, err
	}
	for _, id := range c.NoIndex {
		it, err := tx.OutboxItem(id)
		if err != nil {
			return 0, err
		}
		if _, err := tx.exec("repair outbox", "UPDATE outbox SET due = $2 WHERE id = $1", int64(id), it.NextAttempt.UnixNano()); err != nil {
			return 0, err
		}
	}
	return len(c.NoIndex), nil
}

func (tx *pgTx) OutboxStats() (int, time.Time) {
	var n int
	_ = tx.tx.QueryRow(tx.ctx, "SELECT count(*) FROM outbox").Scan(&n)
	var oldest time.Time
	if it := tx.OldestOutboxItem(); it != nil {
		oldest = it.Created
	}
	return n, oldest
}

func (tx *pgTx) OldestOutboxItem() *store.OutboxItem {
	var b []byte
	err := tx.tx.QueryRow(tx.ctx, "SELECT data FROM outbox ORDER BY id LIMIT 1").Scan(&b)
	if err != nil {
		if !errors.Is(err, pgx.ErrNoRows) {
			tx.fail("read oldest outbox item", err)
		}
		return nil
	}
	var it store.OutboxItem
	if json.Unmarshal(b, &it) != nil {
		return nil
	}
	return &it
}

// ClaimOutbox leases due, unleased items to owner. FOR UPDATE SKIP LOCKED
// lets nodes claiming at the same moment take disjoint items without
// waiting for each other; the lease then keeps them apart until the item
// is recorded (Reschedule clears it, Dequeue removes the row).
func (s *DB) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error) {
	if max <= 0 {
		return nil, time.Time{}, nil
	}
	t := now.UnixNano()
	type claimed struct{ ID, Due int64 }
	var got []claimed
	var next *int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH c AS (
				SELECT id FROM outbox WHERE due <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED)
			UPDATE outbox o SET lease_owner = $3, lease_until = $4 FROM c WHERE o.id = c.id RETURNING o.id, o.due`,
			t, max, owner, now.Add(lease).UnixNano())
		if err != nil {
			return err
		}
		if got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[claimed]); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT min(greatest(due, coalesce(lease_until, 0))) FROM outbox
			WHERE greatest(due, coalesce(lease_until, 0)) > $1`, t).Scan(&next)
	})
	if err != nil {
		return nil, time.Time{}, fault.Temporary(fmt.Errorf("store/postgres: claim outbox: %w", err))
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

// RenewOutboxLeases extends owner's leases on ids.
func (s *DB) RenewOutboxLeases(ctx context.Context, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error) {
	return s.renewLeases(ctx, "outbox", "outbox", owner, ids, now, lease)
}

// renewLeases extends owner's leases on ids in table (outbox or hooks) to
// now+lease and returns the ids another node holds now. A row that is gone
// (sent and dequeued) or holds no lease (rescheduled after an attempt) was
// finished by owner itself: it is not lost, and reporting it so made a
// node warn about every item it had just sent.
func (s *DB) renewLeases(ctx context.Context, table, what, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	want := make([]int64, len(ids))
	for i, id := range ids {
		want[i] = int64(id)
	}
	// The SELECT sees the rows as they were before the UPDATE, which
	// touches only owner's own leases: the two never disagree.
	rows, err := s.pool.Query(ctx, `WITH renewed AS (UPDATE `+table+` SET lease_until = $3 WHERE id = ANY($1) AND lease_owner = $2 RETURNING id)
		SELECT id FROM `+table+` WHERE id = ANY($1) AND lease_owner IS NOT NULL AND lease_owner <> $2`,
		want, owner, now.Add(lease).UnixNano())
	var taken []int64
	if err == nil {
		taken, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store/postgres: renew %s leases: %w", what, err))
	}
	lost := make([]uint64, 0, len(taken))
	for _, id := range taken {
		lost = append(lost, uint64(id))
	}
	slices.Sort(lost)
	return lost, nil
}
