package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Webhook deliveries (issue 18) are a sibling queue of the outbox with the
// same guarantees: small rows (what happened, never the request body), a
// due index that every change derives from the stored row, a check and a
// repair. They live in their own buckets, created on first write:
//
//	hooks      be64(id) → HookItem (JSON)
//	hooks_due  be64(next attempt, unix nanos) be64(id) → nil
//
// A queue of its own lets the webhook sender run its own small worker pool
// (a hanging endpoint never holds up mail) and keeps the mail sender's
// scans free of items it does not send.
var (
	bHooks    = []byte("hooks")
	bHooksDue = []byte("hooks_due")
)

// HookTx is the queue of webhook deliveries. Its methods mirror OutboxTx.
type HookTx interface {
	// EnqueueHook adds a delivery (ID is set) due at item.NextAttempt.
	EnqueueHook(item *HookItem) error
	// HookItem reads one queued delivery; ErrNotFound when it is gone.
	HookItem(id uint64) (*HookItem, error)
	// RescheduleHook re-reads delivery id, lets change set its new state
	// and moves it in the due order from the stored due time to the new
	// one; it returns the row as stored, ErrNotFound when it is gone.
	RescheduleHook(id uint64, change func(*HookItem)) (*HookItem, error)
	// DequeueHook removes delivery id and returns the row as it was
	// stored; ErrNotFound when it is gone.
	DequeueHook(id uint64) (*HookItem, error)
	// DueHookIDs returns up to max ids due at or before now, earliest
	// first, and when the next one is due (now when more are due, zero
	// when nothing else is queued). An index entry without its row fails
	// with ErrOutboxIndex.
	DueHookIDs(now time.Time, max int) ([]uint64, time.Time, error)
	// ListHooks returns up to max queued deliveries in queueing order.
	ListHooks(max int) ([]*HookItem, error)
	// CheckHooks reports every disagreement between rows and due order.
	CheckHooks() (OutboxCheck, error)
	// RepairHooks makes the due order match the rows and says how many
	// entries it fixed; a row that fails to decode is an error.
	RepairHooks() (int, error)
	// HookStats counts queued deliveries and gives the oldest one's
	// creation time.
	HookStats() (int, time.Time, error)
}

// HookLeaser is OutboxLeaser for the webhook queue: implemented by a store
// several nodes share (PostgreSQL).
type HookLeaser interface {
	ClaimHooks(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error)
	RenewHookLeases(ctx context.Context, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error)
}

// HookItem is one webhook delivery of one domain event: which hook, and
// the event's typed facts as they were when it was queued. The sender
// composes the request body from the row at send time, deterministically
// (the same row → the same bytes), so a retry sends what the first
// attempt sent; only the signature's timestamp is new.
type HookItem struct {
	ID uint64 `json:"id"`
	// EventID is the idempotency key a receiver drops repeats by: fixed
	// when queued, the same on every attempt.
	EventID string `json:"event_id"`
	Project string `json:"project"`
	Ticket  string `json:"ticket,omitempty"`
	// Hook names the webhook of the project (config's name): its URL and
	// secret are looked up at send time and never stored.
	Hook string `json:"hook"`
	// Format is the body's shape (json, slack, ntfy) fixed when queued.
	Format string    `json:"format"`
	Kind   EventKind `json:"kind"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// Mention lists the people the push is for (the hook's "to"
	// audiences, resolved when queued); Assignment marks the push to the
	// assignee that assignment always makes.
	Mention    []string `json:"mention,omitempty"`
	Assignment bool     `json:"assignment,omitempty"`
	Vars       HookVars `json:"vars,omitzero"`

	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
}

// HookVars are the ticket's facts a webhook body shows, as they were when
// the event happened.
type HookVars struct {
	ProjectName string `json:"project_name,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Status      string `json:"status,omitempty"`
	OldStatus   string `json:"old_status,omitempty"`
	Priority    string `json:"priority,omitempty"`
	Reporter    string `json:"reporter,omitempty"`
	Assignee    string `json:"assignee,omitempty"`
	Actor       string `json:"actor,omitempty"`
	// Link is the hook's link to the ticket (its link template filled in).
	Link string `json:"link,omitempty"`
}

func (tx *boltTx) hookBucket(name []byte) (*bolt.Bucket, error) {
	if b := tx.btx.Bucket(name); b != nil || !tx.btx.Writable() {
		return b, nil
	}
	b, err := tx.btx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, fmt.Errorf("store: create bucket %s: %w", name, err)
	}
	return b, nil
}

// hookBuckets returns the rows and the index, creating them in a
// writable transaction; nil, nil in a read-only one that has neither yet.
func (tx *boltTx) hookBuckets() (rows, due *bolt.Bucket, err error) {
	if rows, err = tx.hookBucket(bHooks); err != nil {
		return nil, nil, err
	}
	if due, err = tx.hookBucket(bHooksDue); err != nil {
		return nil, nil, err
	}
	return rows, due, nil
}

func (tx *boltTx) EnqueueHook(item *HookItem) error {
	rows, due, err := tx.hookBuckets()
	if err != nil {
		return err
	}
	if rows == nil {
		return fmt.Errorf("store: enqueue webhook delivery: %w", berrors.ErrTxNotWritable)
	}
	id, err := rows.NextSequence()
	if err != nil {
		return err
	}
	item.ID = id
	data, err := json.Marshal(item)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", bHooks, err)
	}
	if err := rows.Put(putU64(id), data); err != nil {
		return err
	}
	return due.Put(dueKey(item.NextAttempt, id), nil)
}

func (tx *boltTx) HookItem(id uint64) (*HookItem, error) {
	b := tx.btx.Bucket(bHooks)
	var v []byte
	if b != nil {
		v = b.Get(putU64(id))
	}
	if v == nil {
		return nil, fmt.Errorf("store: webhook delivery %d: %w", id, ErrNotFound)
	}
	var it HookItem
	if err := json.Unmarshal(v, &it); err != nil {
		return nil, fmt.Errorf("store: decode %s/%d: %w", bHooks, id, err)
	}
	return &it, nil
}

func (tx *boltTx) DequeueHook(id uint64) (*HookItem, error) {
	it, err := tx.HookItem(id)
	if err != nil {
		return nil, err
	}
	rows, due, err := tx.hookBuckets()
	if err != nil {
		return nil, err
	}
	if err := due.Delete(dueKey(it.NextAttempt, id)); err != nil {
		return nil, err
	}
	if err := rows.Delete(putU64(id)); err != nil {
		return nil, err
	}
	return it, nil
}

func (tx *boltTx) RescheduleHook(id uint64, change func(*HookItem)) (*HookItem, error) {
	it, err := tx.HookItem(id)
	if err != nil {
		return nil, err
	}
	rows, due, err := tx.hookBuckets()
	if err != nil {
		return nil, err
	}
	if err := due.Delete(dueKey(it.NextAttempt, id)); err != nil {
		return nil, err
	}
	change(it)
	it.ID = id
	data, err := json.Marshal(it)
	if err != nil {
		return nil, fmt.Errorf("store: encode %s: %w", bHooks, err)
	}
	if err := rows.Put(putU64(id), data); err != nil {
		return nil, err
	}
	if err := due.Put(dueKey(it.NextAttempt, id), nil); err != nil {
		return nil, err
	}
	return it, nil
}

func (tx *boltTx) DueHookIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	rows, idx := tx.btx.Bucket(bHooks), tx.btx.Bucket(bHooksDue)
	if rows == nil || idx == nil {
		return nil, time.Time{}, nil
	}
	var out []uint64
	c := idx.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != 16 {
			return nil, time.Time{}, fmt.Errorf("%w: webhook index key %x", ErrOutboxIndex, k)
		}
		due := time.Unix(0, int64(getU64(k[:8])))
		if due.After(now) {
			return out, due, nil
		}
		if len(out) >= max {
			return out, now, nil
		}
		id := getU64(k[8:])
		if rows.Get(k[8:]) == nil {
			return nil, time.Time{}, fmt.Errorf("%w: webhook index entry %d without its row", ErrOutboxIndex, id)
		}
		out = append(out, id)
	}
	return out, time.Time{}, nil
}

func (tx *boltTx) ListHooks(max int) ([]*HookItem, error) {
	b := tx.btx.Bucket(bHooks)
	if b == nil {
		return nil, nil
	}
	var out []*HookItem
	c := b.Cursor()
	for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
		var it HookItem
		if err := json.Unmarshal(v, &it); err != nil {
			return nil, fmt.Errorf("store: decode %s/%x: %w", bHooks, k, err)
		}
		out = append(out, &it)
	}
	return out, nil
}

func (tx *boltTx) CheckHooks() (OutboxCheck, error) {
	var c OutboxCheck
	due := map[uint64]int64{}
	if b := tx.btx.Bucket(bHooks); b != nil {
		err := b.ForEach(func(k, v []byte) error {
			var it HookItem
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("store: decode %s/%x: %w", bHooks, k, err)
			}
			c.Rows++
			due[getU64(k)] = it.NextAttempt.UnixNano()
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	entries := map[uint64]int{}
	if b := tx.btx.Bucket(bHooksDue); b != nil {
		_ = b.ForEach(func(k, _ []byte) error {
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

func (tx *boltTx) RepairHooks() (int, error) {
	c, err := tx.CheckHooks()
	if err != nil || c.OK() {
		return 0, err
	}
	_, idx, err := tx.hookBuckets()
	if err != nil {
		return 0, err
	}
	var stale [][]byte
	err = idx.ForEach(func(k, _ []byte) error {
		if len(k) != 16 {
			stale = append(stale, bytes.Clone(k))
			return nil
		}
		it, err := tx.HookItem(getU64(k[8:]))
		if errors.Is(err, ErrNotFound) || (err == nil && it.NextAttempt.UnixNano() != int64(getU64(k[:8]))) {
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
		it, err := tx.HookItem(id)
		if err != nil {
			return 0, err
		}
		if err := idx.Put(dueKey(it.NextAttempt, id), nil); err != nil {
			return 0, err
		}
	}
	return len(stale) + len(c.NoIndex), nil
}

func (tx *boltTx) HookStats() (int, time.Time, error) {
	b := tx.btx.Bucket(bHooks)
	if b == nil {
		return 0, time.Time{}, nil
	}
	n := b.Stats().KeyN
	k, v := b.Cursor().First()
	if k == nil {
		return n, time.Time{}, nil
	}
	var it HookItem
	if err := json.Unmarshal(v, &it); err != nil {
		return n, time.Time{}, fmt.Errorf("store: decode %s/%x: %w", bHooks, k, err)
	}
	return n, it.Created, nil
}
