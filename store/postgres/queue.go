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

// The outbox and the webhook deliveries are one kind of queue with
// different rows: a table of (id, due, data, lease_owner, lease_until),
// the row as JSON and its due time in nanoseconds, the due order being the
// index (due, id), and a sequence for the ids. pgQueue is that queue once,
// for any row type; outbox.go and hooks.go only name their table. The due
// column is written with the row in one statement; check still compares it
// with the row's due time, as the contract asks.
type pgQueue[T any, P store.QueueRow[T]] struct {
	// table and seq are constants of this package (outbox, hooks), never
	// input: they are put into the SQL as they are.
	table, seq string
	// what names a row in errors ("outbox item", "webhook delivery").
	what string
}

var (
	outboxQueue = pgQueue[store.OutboxItem, *store.OutboxItem]{table: "outbox", seq: "outbox_id_seq", what: "outbox item"}
	hookQueue   = pgQueue[store.HookItem, *store.HookItem]{table: "hooks", seq: "hooks_id_seq", what: "webhook delivery"}
)

func (q pgQueue[T, P]) decode(id int64, b []byte) (P, error) {
	it := P(new(T))
	if o, ok := any(it).(*store.OutboxItem); ok {
		// The sender reads every row it sends: the store's decoder
		// without reflection.
		if err := store.UnmarshalOutboxItem(b, o); err != nil {
			return nil, fmt.Errorf("store/postgres: decode %s/%d: %w", q.table, id, err)
		}
		return it, nil
	}
	if err := decode(fmt.Sprintf("%s/%d", q.table, id), b, it); err != nil {
		return nil, err
	}
	return it, nil
}

// enqueue adds it (its id is set) due at its due time.
func (q pgQueue[T, P]) enqueue(tx *pgTx, it P) error {
	id, err := tx.nextval(q.seq)
	if err != nil {
		return err
	}
	it.SetQueueID(id)
	b, err := encode(q.what, it)
	if err != nil {
		return err
	}
	_, err = tx.exec("enqueue "+q.what, "INSERT INTO "+q.table+" (id, due, data) VALUES ($1, $2, $3)", int64(id), it.QueueDue().UnixNano(), b)
	return err
}

// item reads row id; ErrNotFound when it is gone.
func (q pgQueue[T, P]) item(tx *pgTx, id uint64) (P, error) {
	b, err := tx.one("read "+q.what, "SELECT data FROM "+q.table+" WHERE id = $1", int64(id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("store: %s %d: %w", q.what, id, store.ErrNotFound)
	}
	return q.decode(int64(id), b)
}

// reschedule re-reads row id, lets change set its new state and writes it
// with its new due time. It ends the row's lease: the attempt is recorded.
func (q pgQueue[T, P]) reschedule(tx *pgTx, id uint64, change func(P)) (P, error) {
	it, err := q.item(tx, id)
	if err != nil {
		return nil, err
	}
	change(it)
	it.SetQueueID(id)
	b, err := encode(q.what, it)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec("reschedule "+q.what, "UPDATE "+q.table+" SET due = $2, data = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1",
		int64(id), it.QueueDue().UnixNano(), b); err != nil {
		return nil, err
	}
	return it, nil
}

// dequeue removes row id and returns it as it was stored; ErrNotFound
// when it is gone.
func (q pgQueue[T, P]) dequeue(tx *pgTx, id uint64) (P, error) {
	it, err := q.item(tx, id)
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec("dequeue "+q.what, "DELETE FROM "+q.table+" WHERE id = $1", int64(id)); err != nil {
		return nil, err
	}
	return it, nil
}

// due reads the ids of up to max rows due at now (plus one to tell whether
// more are due), earliest first, with the rows themselves when decodeRows,
// and when the next one is due. A decoded row whose due time is not its
// due column's fails with ErrOutboxIndex.
func (q pgQueue[T, P]) due(tx *pgTx, now time.Time, max int, decodeRows bool) ([]P, []uint64, time.Time, error) {
	var items []P
	var ids []uint64
	n := 0
	cols := "id, due"
	if decodeRows {
		cols += ", data"
	}
	err := tx.rows("read due "+q.what, "SELECT "+cols+" FROM "+q.table+" WHERE due <= $1 ORDER BY due, id LIMIT $2", func(r pgx.Rows) error {
		var id, due int64
		var b []byte
		dest := []any{&id, &due}
		if decodeRows {
			dest = append(dest, &b)
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		if n++; n > max {
			return nil
		}
		ids = append(ids, uint64(id))
		if !decodeRows {
			return nil
		}
		it, err := q.decode(id, b)
		if err != nil {
			return err
		}
		if it.QueueDue().UnixNano() != due {
			return fmt.Errorf("%w: index entry of %d at %s, row due %s", store.ErrOutboxIndex, id, time.Unix(0, due), it.QueueDue())
		}
		items = append(items, it)
		return nil
	}, now.UnixNano(), max+1)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	if n > max {
		return items, ids, now, nil
	}
	var next *int64
	if err := tx.tx.QueryRow(tx.ctx, "SELECT min(due) FROM "+q.table+" WHERE due > $1", now.UnixNano()).Scan(&next); err != nil {
		return nil, nil, time.Time{}, tx.fail("read next due "+q.what, err)
	}
	if next == nil {
		return items, ids, time.Time{}, nil
	}
	return items, ids, time.Unix(0, *next), nil
}

// list returns up to max rows in id (queueing) order.
func (q pgQueue[T, P]) list(tx *pgTx, max int) ([]P, error) {
	var out []P
	err := tx.rows("list "+q.table, "SELECT id, data FROM "+q.table+" ORDER BY id LIMIT $1", func(r pgx.Rows) error {
		var id int64
		var b []byte
		if err := r.Scan(&id, &b); err != nil {
			return err
		}
		it, err := q.decode(id, b)
		if err != nil {
			return err
		}
		out = append(out, it)
		return nil
	}, max)
	return out, err
}

// check compares every row's due column with its due time: in this layout
// the due order cannot lack or double an entry, only disagree with the row
// (reported as NoRow for the entry and NoIndex for the row).
func (q pgQueue[T, P]) check(tx *pgTx) (store.OutboxCheck, error) {
	var c store.OutboxCheck
	err := tx.rows("check "+q.table, "SELECT id, due, data FROM "+q.table+" ORDER BY id", func(r pgx.Rows) error {
		var id, due int64
		var b []byte
		if err := r.Scan(&id, &due, &b); err != nil {
			return err
		}
		it, err := q.decode(id, b)
		if err != nil {
			return err
		}
		c.Rows++
		c.Index++
		if it.QueueDue().UnixNano() != due {
			c.NoRow = append(c.NoRow, uint64(id))
			c.NoIndex = append(c.NoIndex, uint64(id))
		}
		return nil
	})
	return c, err
}

// repair sets every row's due column from its due time.
func (q pgQueue[T, P]) repair(tx *pgTx) (int, error) {
	c, err := q.check(tx)
	if err != nil || c.OK() {
		return 0, err
	}
	for _, id := range c.NoIndex {
		it, err := q.item(tx, id)
		if err != nil {
			return 0, err
		}
		if _, err := tx.exec("repair "+q.table, "UPDATE "+q.table+" SET due = $2 WHERE id = $1", int64(id), it.QueueDue().UnixNano()); err != nil {
			return 0, err
		}
	}
	return len(c.NoIndex), nil
}

// stats counts the rows and returns the oldest, nil when there is none.
func (q pgQueue[T, P]) stats(tx *pgTx) (int, P, error) {
	var n int
	if err := tx.tx.QueryRow(tx.ctx, "SELECT count(*) FROM "+q.table).Scan(&n); err != nil {
		return 0, nil, tx.fail("count "+q.table, err)
	}
	var id int64
	var b []byte
	err := tx.tx.QueryRow(tx.ctx, "SELECT id, data FROM "+q.table+" ORDER BY id LIMIT 1").Scan(&id, &b)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, nil, nil
	}
	if err != nil {
		return n, nil, tx.fail("read oldest "+q.what, err)
	}
	it, err := q.decode(id, b)
	return n, it, err
}

// claim leases due, unleased rows to owner. FOR UPDATE SKIP LOCKED lets
// nodes claiming at the same moment take disjoint rows without waiting
// for each other; the lease then keeps them apart until the row is
// recorded (reschedule clears it, dequeue removes the row).
func (q pgQueue[T, P]) claim(ctx context.Context, s *DB, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error) {
	if max <= 0 {
		return nil, time.Time{}, nil
	}
	t := now.UnixNano()
	type claimed struct{ ID, Due int64 }
	var got []claimed
	var next *int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH c AS (
				SELECT id FROM `+q.table+` WHERE due <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				ORDER BY due, id LIMIT $2 FOR UPDATE SKIP LOCKED)
			UPDATE `+q.table+` q SET lease_owner = $3, lease_until = $4 FROM c WHERE q.id = c.id RETURNING q.id, q.due`,
			t, max, owner, now.Add(lease).UnixNano())
		if err != nil {
			return err
		}
		if got, err = pgx.CollectRows(rows, pgx.RowToStructByPos[claimed]); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT min(greatest(due, coalesce(lease_until, 0))) FROM `+q.table+`
			WHERE greatest(due, coalesce(lease_until, 0)) > $1`, t).Scan(&next)
	})
	if err != nil {
		return nil, time.Time{}, fault.Temporary(fmt.Errorf("store/postgres: claim %s: %w", q.table, err))
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

// renew extends owner's leases on ids to now+lease and returns the ids
// another node holds now. A row that is gone (sent and dequeued) or holds
// no lease (rescheduled after an attempt) was finished by owner itself: it
// is not lost, and reporting it so made a node warn about every item it
// had just sent.
func (q pgQueue[T, P]) renew(ctx context.Context, s *DB, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	want := make([]int64, len(ids))
	for i, id := range ids {
		want[i] = int64(id)
	}
	// The SELECT sees the rows as they were before the UPDATE, which
	// touches only owner's own leases: the two never disagree.
	rows, err := s.pool.Query(ctx, `WITH renewed AS (UPDATE `+q.table+` SET lease_until = $3 WHERE id = ANY($1) AND lease_owner = $2 RETURNING id)
		SELECT id FROM `+q.table+` WHERE id = ANY($1) AND lease_owner IS NOT NULL AND lease_owner <> $2`,
		want, owner, now.Add(lease).UnixNano())
	var taken []int64
	if err == nil {
		taken, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store/postgres: renew %s leases: %w", q.what, err))
	}
	lost := make([]uint64, 0, len(taken))
	for _, id := range taken {
		lost = append(lost, uint64(id))
	}
	slices.Sort(lost)
	return lost, nil
}
