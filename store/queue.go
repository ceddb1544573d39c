package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The outbox and the webhook deliveries are one kind of queue with
// different rows: a bucket of rows and a bucket that is their due index,
//
//	rows  be64(id) → row (JSON)
//	due   be64(next attempt, unix nanos) be64(id) → nil
//
// boltQueue is that queue once, for any row type; outbox.go and hooks.go
// hold only what is particular to their rows. Every method that changes a
// row reads it by id inside the transaction and derives the index key from
// the stored row, never from a caller's copy: a stale copy (a worker's
// snapshot, an admin listing) can therefore never orphan or double an
// index entry.

// QueueRow is what a backend's queue code needs of a row of a leased
// queue (*OutboxItem, *HookItem): the id it assigns, the due time its
// order follows, and the creation time its age is told by.
type QueueRow[T any] interface {
	*T
	SetQueueID(id uint64)
	QueueDue() time.Time
	QueueCreated() time.Time
}

// SetQueueID sets the id Enqueue assigned.
func (it *OutboxItem) SetQueueID(id uint64) { it.ID = id }

// QueueDue is when the item is due: its next attempt.
func (it *OutboxItem) QueueDue() time.Time { return it.NextAttempt }

// QueueCreated is when the item was queued.
func (it *OutboxItem) QueueCreated() time.Time { return it.Created }

// SetQueueID sets the id EnqueueHook assigned.
func (it *HookItem) SetQueueID(id uint64) { it.ID = id }

// QueueDue is when the delivery is due: its next attempt.
func (it *HookItem) QueueDue() time.Time { return it.NextAttempt }

// QueueCreated is when the delivery was queued.
func (it *HookItem) QueueCreated() time.Time { return it.Created }

// boltQueue is one queue of the bbolt store within one transaction.
type boltQueue[T any, P QueueRow[T]] struct {
	tx        *boltTx
	rows, due []byte
	// what names a row in errors ("outbox item", "webhook delivery").
	what string
}

func (tx *boltTx) outboxQueue() boltQueue[OutboxItem, *OutboxItem] {
	return boltQueue[OutboxItem, *OutboxItem]{tx: tx, rows: bOutbox, due: bOutboxDue, what: "outbox item"}
}

func (tx *boltTx) hookQueue() boltQueue[HookItem, *HookItem] {
	return boltQueue[HookItem, *HookItem]{tx: tx, rows: bHooks, due: bHooksDue, what: "webhook delivery"}
}

func dueKey(t time.Time, id uint64) []byte {
	return append(putU64(uint64(t.UnixNano())), putU64(id)...)
}

// buckets returns the rows and the index. A queue added after the first
// release (webhook deliveries) has its buckets created on first write:
// a writable transaction creates them, a read-only one that has neither
// yet gets nil, nil and reads the queue as empty.
func (q boltQueue[T, P]) buckets() (rows, due *bolt.Bucket, err error) {
	get := func(name []byte) (*bolt.Bucket, error) {
		if b := q.tx.btx.Bucket(name); b != nil || !q.tx.btx.Writable() {
			return b, nil
		}
		b, err := q.tx.btx.CreateBucketIfNotExists(name)
		if err != nil {
			return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
		}
		return b, nil
	}
	if rows, err = get(q.rows); err != nil {
		return nil, nil, err
	}
	if due, err = get(q.due); err != nil {
		return nil, nil, err
	}
	return rows, due, nil
}

func (q boltQueue[T, P]) decode(k, v []byte) (P, error) {
	it := P(new(T))
	var err error
	if o, ok := any(it).(*OutboxItem); ok {
		err = UnmarshalOutboxItem(v, o) // the sender reads every row it sends
	} else {
		err = json.Unmarshal(v, it)
	}
	if err != nil {
		return nil, fmt.Errorf("store: decode %s/%x: %w", q.rows, k, err)
	}
	return it, nil
}

func (q boltQueue[T, P]) put(rows *bolt.Bucket, id uint64, it P) error {
	var data []byte
	var err error
	if o, ok := any(it).(*OutboxItem); ok {
		data, err = MarshalOutboxItem(o) // every mail queued, every retry
	} else {
		data, err = json.Marshal(it)
	}
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", q.rows, err)
	}
	return rows.Put(putU64(id), data)
}

// enqueue adds it (its id is set) due at its due time.
func (q boltQueue[T, P]) enqueue(it P) error {
	rows, due, err := q.buckets()
	if err != nil {
		return err
	}
	if rows == nil {
		return fmt.Errorf("store: enqueue %s: %w", q.what, berrors.ErrTxNotWritable)
	}
	id, err := rows.NextSequence()
	if err != nil {
		return err
	}
	it.SetQueueID(id)
	if err := q.put(rows, id, it); err != nil {
		return err
	}
	return due.Put(dueKey(it.QueueDue(), id), nil)
}

// item reads row id; ErrNotFound when it is gone.
func (q boltQueue[T, P]) item(id uint64) (P, error) {
	var v []byte
	if b := q.tx.bucket(q.rows); b != nil {
		v = q.tx.lookup(b, putU64(id))
	}
	if v == nil {
		return nil, fmt.Errorf("store: %s %d: %w", q.what, id, ErrNotFound)
	}
	return q.decode(putU64(id), v)
}

// unindex reads row id and deletes its index entry, the first step of
// dequeue and reschedule; ErrNotFound when the row is gone.
func (q boltQueue[T, P]) unindex(id uint64) (it P, rows, due *bolt.Bucket, err error) {
	if it, err = q.item(id); err != nil {
		return nil, nil, nil, err
	}
	if rows, due, err = q.buckets(); err != nil {
		return nil, nil, nil, err
	}
	if err := due.Delete(dueKey(it.QueueDue(), id)); err != nil {
		return nil, nil, nil, err
	}
	return it, rows, due, nil
}

// dequeue removes row id and its index entry and returns the row as it
// was stored; ErrNotFound when it is gone.
func (q boltQueue[T, P]) dequeue(id uint64) (P, error) {
	it, rows, _, err := q.unindex(id)
	if err != nil {
		return nil, err
	}
	if err := rows.Delete(putU64(id)); err != nil {
		return nil, err
	}
	return it, nil
}

// reschedule re-reads row id, lets change set its new state and moves its
// index entry from the stored due time to the new one. It returns the row
// as stored; ErrNotFound when it is gone (dropped meanwhile).
func (q boltQueue[T, P]) reschedule(id uint64, change func(P)) (P, error) {
	it, rows, due, err := q.unindex(id)
	if err != nil {
		return nil, err
	}
	change(it)
	it.SetQueueID(id)
	if err := q.put(rows, id, it); err != nil {
		return nil, err
	}
	if err := due.Put(dueKey(it.QueueDue(), id), nil); err != nil {
		return nil, err
	}
	return it, nil
}

// dueRows returns up to max rows due at or before now, earliest first, and
// when the next one is due. An index entry without its row, or naming
// another due time than its row, fails with ErrOutboxIndex.
func (q boltQueue[T, P]) dueRows(now time.Time, max int) ([]P, time.Time, error) {
	var out []P
	next, err := q.scanDue(now, max, func(id uint64, due time.Time) error {
		it, err := q.item(id)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: index entry %d without its row", ErrOutboxIndex, id)
		}
		if err != nil {
			return err
		}
		if it.QueueDue().UnixNano() != due.UnixNano() {
			return fmt.Errorf("%w: index entry of %d at %s, row due %s", ErrOutboxIndex, id, due, it.QueueDue())
		}
		out = append(out, it)
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return out, next, nil
}

// dueIDs is dueRows without decoding the rows (the senders' loops scan
// after every attempt). An index entry without its row fails with
// ErrOutboxIndex. Ids skip says true for (nil: none) count against max
// but are neither returned nor looked up.
func (q boltQueue[T, P]) dueIDs(now time.Time, max int, skip func(uint64) bool) ([]uint64, time.Time, error) {
	rows := q.tx.btx.Bucket(q.rows)
	var out []uint64
	next, err := q.scanDue(now, max, func(id uint64, _ time.Time) error {
		if skip != nil && skip(id) {
			return nil
		}
		if rows == nil || rows.Get(putU64(id)) == nil {
			return fmt.Errorf("%w: %s index entry %d without its row", ErrOutboxIndex, q.what, id)
		}
		out = append(out, id)
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return out, next, nil
}

// scanDue walks the due index in order and calls take for up to max
// entries due at or before now. It returns when the next row is due: the
// first not-yet-due entry's time, now when more than max are due, zero
// when nothing else is queued.
func (q boltQueue[T, P]) scanDue(now time.Time, max int, take func(id uint64, due time.Time) error) (time.Time, error) {
	idx := q.tx.btx.Bucket(q.due)
	if idx == nil {
		return time.Time{}, nil
	}
	c := idx.Cursor()
	n := 0
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != 16 {
			return time.Time{}, fmt.Errorf("%w: %s key %x", ErrOutboxIndex, q.due, k)
		}
		due := time.Unix(0, int64(getU64(k[:8])))
		if due.After(now) {
			return due, nil
		}
		if n >= max {
			return now, nil
		}
		if err := take(getU64(k[8:]), due); err != nil {
			return time.Time{}, err
		}
		n++
	}
	return time.Time{}, nil
}

// forEach calls fn for every row in id (queueing) order until fn returns
// false; a row that fails to decode is an error.
func (q boltQueue[T, P]) forEach(fn func(id uint64, it P) bool) error {
	b := q.tx.btx.Bucket(q.rows)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		it, err := q.decode(k, v)
		if err != nil {
			return err
		}
		if !fn(getU64(k), it) {
			return nil
		}
	}
	return nil
}

// list returns up to max rows in id (queueing) order.
func (q boltQueue[T, P]) list(max int) ([]P, error) {
	var out []P
	if max <= 0 {
		return nil, nil
	}
	err := q.forEach(func(_ uint64, it P) bool {
		out = append(out, it)
		return len(out) < max
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// stats counts the rows and returns the oldest (ids grow, so it is the
// first key: one seek), nil when the queue is empty.
func (q boltQueue[T, P]) stats() (int, P, error) {
	b := q.tx.btx.Bucket(q.rows)
	if b == nil {
		return 0, nil, nil
	}
	n := b.Stats().KeyN
	k, v := b.Cursor().First()
	if k == nil {
		return n, nil, nil
	}
	it, err := q.decode(k, v)
	return n, it, err
}

// check walks the rows and the due index and reports every disagreement.
// A row that fails to decode is an error.
func (q boltQueue[T, P]) check() (OutboxCheck, error) {
	var c OutboxCheck
	due := map[uint64]int64{} // id → due time in the row
	err := q.forEach(func(id uint64, it P) bool {
		c.Rows++
		due[id] = it.QueueDue().UnixNano()
		return true
	})
	if err != nil {
		return c, err
	}
	entries := map[uint64]int{}
	if idx := q.tx.btx.Bucket(q.due); idx != nil {
		err = idx.ForEach(func(k, _ []byte) error {
			c.Index++
			if len(k) != 16 {
				c.NoRow = append(c.NoRow, 0)
				return nil
			}
			id := getU64(k[8:])
			if d, ok := due[id]; !ok || d != int64(getU64(k[:8])) {
				c.NoRow = append(c.NoRow, id)
				return nil
			}
			entries[id]++
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	for id := range due {
		switch n := entries[id]; {
		case n == 0:
			c.NoIndex = append(c.NoIndex, id)
		case n > 1:
			c.Extra = append(c.Extra, id)
		}
	}
	return c, nil
}

// repair makes the due index match the rows: entries without their row
// (or at another time than the row's) are deleted, rows without an entry
// get one at their due time. It returns how many entries it fixed. A row
// that fails to decode is an error: nothing is deleted on its strength.
func (q boltQueue[T, P]) repair() (int, error) {
	c, err := q.check()
	if err != nil || c.OK() {
		return 0, err
	}
	_, idx, err := q.buckets()
	if err != nil {
		return 0, err
	}
	var stale [][]byte
	err = idx.ForEach(func(k, _ []byte) error {
		if len(k) != 16 {
			stale = append(stale, bytes.Clone(k))
			return nil
		}
		it, err := q.item(getU64(k[8:]))
		if errors.Is(err, ErrNotFound) || (err == nil && it.QueueDue().UnixNano() != int64(getU64(k[:8]))) {
			stale = append(stale, bytes.Clone(k))
			return nil
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, k := range stale {
		if err := idx.Delete(k); err != nil {
			return 0, err
		}
	}
	for _, id := range c.NoIndex {
		it, err := q.item(id)
		if err != nil {
			return 0, err
		}
		if err := idx.Put(dueKey(it.QueueDue(), id), nil); err != nil {
			return 0, err
		}
	}
	return len(stale) + len(c.NoIndex), nil
}
