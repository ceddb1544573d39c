package store

import (
	"context"
	"time"
)

// Webhook deliveries (issue 18) are a sibling queue of the outbox with the
// same guarantees: small rows (what happened, never the request body), a
// due index that every change derives from the stored row, a check and a
// repair, all of it queue.go's code, shared with the outbox. They live in
// their own buckets, created on first write:
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

func (tx *boltTx) EnqueueHook(item *HookItem) error { return tx.hookQueue().enqueue(item) }

func (tx *boltTx) HookItem(id uint64) (*HookItem, error) { return tx.hookQueue().item(id) }

func (tx *boltTx) DequeueHook(id uint64) (*HookItem, error) { return tx.hookQueue().dequeue(id) }

func (tx *boltTx) RescheduleHook(id uint64, change func(*HookItem)) (*HookItem, error) {
	return tx.hookQueue().reschedule(id, change)
}

func (tx *boltTx) DueHookIDs(now time.Time, max int) ([]uint64, time.Time, error) {
	return tx.hookQueue().dueIDs(now, max, nil)
}

func (tx *boltTx) ListHooks(max int) ([]*HookItem, error) { return tx.hookQueue().list(max) }

func (tx *boltTx) CheckHooks() (OutboxCheck, error) { return tx.hookQueue().check() }

func (tx *boltTx) RepairHooks() (int, error) { return tx.hookQueue().repair() }

func (tx *boltTx) HookStats() (int, time.Time, error) {
	n, oldest, err := tx.hookQueue().stats()
	if err != nil || oldest == nil {
		return n, time.Time{}, err
	}
	return n, oldest.Created, nil
}
