package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// The outbox and the webhook deliveries are two leased queues with one
// contract: due rows come out earliest first, a row is re-read by id when
// it changes, the rows and the due order agree, and a store that several
// nodes share leases rows to one node at a time. queueOrder and
// queueLeases check that contract once, for either queue, through a
// queueKind that names its store.Tx and leaser methods.

// queueKind is one leased queue of the store, as the queue cases drive it.
type queueKind[T any, P store.QueueRow[T]] struct {
	// row makes a new row told apart by label, created and due at the
	// times given; label reads the label back.
	row   func(label string, created, due time.Time) P
	label func(P) string
	// id is the row's id; record points at its record of attempts: how
	// many, the last error, when the next is due.
	id     func(P) uint64
	record func(P) (attempts *int, lastError *string, next *time.Time)

	enqueue    func(store.Tx, P) error
	item       func(store.Tx, uint64) (P, error)
	reschedule func(store.Tx, uint64, func(P)) (P, error)
	dequeue    func(store.Tx, uint64) (P, error)
	dueIDs     func(store.Tx, time.Time, int) ([]uint64, time.Time, error)
	// dueRows, when the queue has it, is dueIDs with the rows decoded.
	dueRows func(store.Tx, time.Time, int) ([]P, time.Time, error)
	list    func(store.Tx, int) ([]P, error)
	check   func(store.Tx) (store.OutboxCheck, error)
	repair  func(store.Tx) (int, error)
	stats   func(store.Tx) (int, time.Time, error)
	// others counts the rows of the other queue, which must not see this
	// one's.
	others func(store.Tx) int
	// leaser is the store's claim and renew for this queue; ok false for
	// a single-node store.
	leaser func(store.DB) (claim claimFunc, renew renewFunc, ok bool)
}

type (
	claimFunc func(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]uint64, time.Time, error)
	renewFunc func(ctx context.Context, owner string, ids []uint64, now time.Time, lease time.Duration) ([]uint64, error)
)

var outboxKind = queueKind[store.OutboxItem, *store.OutboxItem]{
	row: func(label string, created, due time.Time) *store.OutboxItem {
		return &store.OutboxItem{Project: "ACME", Ticket: "ACME-1", Event: "customer/request_created", Recipient: label, MessageID: "<" + label + ">",
			Vars: store.OutboxVars{TicketSubject: "printer"}, Created: created, NextAttempt: due}
	},
	label: func(it *store.OutboxItem) string { return it.Recipient },
	id:    func(it *store.OutboxItem) uint64 { return it.ID },
	record: func(it *store.OutboxItem) (*int, *string, *time.Time) {
		return &it.Attempts, &it.LastError, &it.NextAttempt
	},
	enqueue:    store.Tx.Enqueue,
	item:       store.Tx.OutboxItem,
	reschedule: store.Tx.Reschedule,
	dequeue:    store.Tx.Dequeue,
	dueIDs:     store.Tx.DueIDs,
	dueRows:    store.Tx.DueOutbox,
	list:       store.Tx.ListOutbox,
	check:      store.Tx.CheckOutbox,
	repair:     store.Tx.RepairOutbox,
	stats: func(tx store.Tx) (int, time.Time, error) {
		n, oldest := tx.OutboxStats()
		return n, oldest, nil
	},
	others: func(tx store.Tx) int { n, _, _ := tx.HookStats(); return n },
	leaser: func(db store.DB) (claimFunc, renewFunc, bool) {
		l, ok := db.(store.OutboxLeaser)
		if !ok {
			return nil, nil, false
		}
		return l.ClaimOutbox, l.RenewOutboxLeases, true
	},
}

var hookKind = queueKind[store.HookItem, *store.HookItem]{
	row: func(label string, created, due time.Time) *store.HookItem {
		return &store.HookItem{EventID: label, Project: "ACME", Ticket: "ACME-1", Hook: "ops", Format: "json",
			Kind: store.EvAssigned, Mention: []string{"a@x"}, Vars: store.HookVars{Subject: "printer", Assignee: "a@x"},
			Created: created, NextAttempt: due}
	},
	label: func(it *store.HookItem) string { return it.EventID },
	id:    func(it *store.HookItem) uint64 { return it.ID },
	record: func(it *store.HookItem) (*int, *string, *time.Time) {
		return &it.Attempts, &it.LastError, &it.NextAttempt
	},
	enqueue:    store.Tx.EnqueueHook,
	item:       store.Tx.HookItem,
	reschedule: store.Tx.RescheduleHook,
	dequeue:    store.Tx.DequeueHook,
	dueIDs:     store.Tx.DueHookIDs,
	list:       store.Tx.ListHooks,
	check:      store.Tx.CheckHooks,
	repair:     store.Tx.RepairHooks,
	stats:      store.Tx.HookStats,
	others:     func(tx store.Tx) int { n, _ := tx.OutboxStats(); return n },
	leaser: func(db store.DB) (claimFunc, renewFunc, bool) {
		l, ok := db.(store.HookLeaser)
		if !ok {
			return nil, nil, false
		}
		return l.ClaimHooks, l.RenewHookLeases, true
	},
}

// attempt records a failed attempt on it, due again at next (zero: when
// it was due).
func (q queueKind[T, P]) attempt(it P, next time.Time, lastError string) {
	n, e, due := q.record(it)
	*n++
	*e = lastError
	if !next.IsZero() {
		*due = next
	}
}

// queueOrder: due rows come out earliest first, at most max, with the
// time the next one is due; reschedule moves one in that order, dequeue
// removes it, and the rows and the index agree after each; a row comes
// back as it was stored; the queue is apart from the other one.
func queueOrder[T any, P store.QueueRow[T]](t *testing.T, db store.DB, q queueKind[T, P]) {
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	view(t, db, func(tx store.Tx) error {
		ids, next, err := q.dueIDs(tx, base, 10)
		if err != nil || len(ids) != 0 || !next.IsZero() {
			t.Errorf("empty queue: %v next %s (%v)", ids, next, err)
		}
		return nil
	})
	offsets := []int{5, -3, 0, -10, 20, -1, 7, -7}
	rand.Shuffle(len(offsets), func(i, j int) { offsets[i], offsets[j] = offsets[j], offsets[i] })
	byOffset := map[uint64]int{}
	stored := map[uint64][]byte{} // id → the row as enqueued (JSON)
	update(t, db, func(tx store.Tx) error {
		clear(byOffset)
		clear(stored)
		for _, off := range offsets {
			it := q.row(fmt.Sprintf("r%d", off), base, base.Add(time.Duration(off)*time.Minute))
			if err := q.enqueue(tx, it); err != nil {
				return err
			}
			byOffset[q.id(it)] = off
			b, err := json.Marshal(it)
			if err != nil {
				return err
			}
			stored[q.id(it)] = b
		}
		return nil
	})
	check := func(when string) {
		t.Helper()
		view(t, db, func(tx store.Tx) error {
			c, err := q.check(tx)
			if err != nil || !c.OK() {
				t.Fatalf("%s: rows and index disagree: %s (%v)", when, c, err)
			}
			return nil
		})
	}
	due := func(now time.Time, max int) ([]int, time.Time) {
		t.Helper()
		var out []int
		var next time.Time
		view(t, db, func(tx store.Tx) error {
			ids, n, err := q.dueIDs(tx, now, max)
			if err != nil {
				return err
			}
			for _, id := range ids {
				out = append(out, byOffset[id])
			}
			next = n
			if q.dueRows == nil {
				return nil
			}
			rows, rn, err := q.dueRows(tx, now, max)
			if err != nil {
				return err
			}
			var rowIDs []uint64
			for _, it := range rows {
				rowIDs = append(rowIDs, q.id(it))
			}
			if !slices.Equal(rowIDs, ids) || !rn.Equal(n) {
				t.Errorf("due rows %v next %s, due ids %v next %s", rowIDs, rn, ids, n)
			}
			return nil
		})
		return out, next
	}
	check("after enqueue")
	got, next := due(base, 100)
	if want := []int{-10, -7, -3, -1, 0}; !slices.Equal(got, want) || !next.Equal(base.Add(5*time.Minute)) {
		t.Fatalf("due at base: %v next %s, want %v next +5m", got, next, want)
	}
	if got, next := due(base, 2); !slices.Equal(got, []int{-10, -7}) || !next.Equal(base) {
		t.Fatalf("max 2: %v next %s, want two and more due now", got, next)
	}
	view(t, db, func(tx store.Tx) error {
		ids, _, err := q.dueIDs(tx, base, 1)
		if err != nil {
			return err
		}
		it, err := q.item(tx, ids[0])
		if err != nil {
			return err
		}
		if b, err := json.Marshal(it); err != nil || !bytes.Equal(b, stored[ids[0]]) || q.label(it) != "r-10" {
			t.Errorf("row read back as %s, stored %s (%v)", b, stored[ids[0]], err)
		}
		if n := q.others(tx); n != 0 {
			t.Errorf("its rows show in the other queue: %d", n)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		ids, _, err := q.dueIDs(tx, base, 2)
		if err != nil {
			return err
		}
		if _, err := q.reschedule(tx, ids[0], func(it P) { q.attempt(it, base.Add(time.Hour), "503") }); err != nil {
			return err
		}
		_, err = q.dequeue(tx, ids[1])
		return err
	})
	check("after reschedule and dequeue")
	if got, _ := due(base, 100); !slices.Equal(got, []int{-3, -1, 0}) {
		t.Fatalf("after reschedule and dequeue: %v", got)
	}
	got, next = due(base.Add(2*time.Hour), 100)
	if len(got) != len(offsets)-1 || got[len(got)-1] != -10 || !next.IsZero() {
		t.Fatalf("everything due: %v (next %s), want the rescheduled one last and no next", got, next)
	}
	view(t, db, func(tx store.Tx) error {
		n, oldest, err := q.stats(tx)
		if err != nil || n != len(offsets)-1 || !oldest.Equal(base) {
			t.Errorf("stats: %d oldest %s (%v), want %d", n, oldest, err, len(offsets)-1)
		}
		list, err := q.list(tx, 100)
		if err != nil || len(list) != len(offsets)-1 || !slices.IsSortedFunc(list, func(a, b P) int { return int(q.id(a)) - int(q.id(b)) }) {
			t.Errorf("list: %d rows (%v), want %d in id order", len(list), err, len(offsets)-1)
		}
		for _, it := range list {
			if n, e, _ := q.record(it); byOffset[q.id(it)] == -10 && (*n != 1 || *e != "503") {
				t.Errorf("rescheduled row stored with %d attempts, last error %q", *n, *e)
			}
		}
		if _, err := q.item(tx, 1<<40); !isNotFound(err) {
			t.Errorf("unknown row: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		_, err := q.dequeue(tx, 1<<40)
		return err
	}); !isNotFound(err) {
		t.Errorf("dequeue of an unknown row: %v, want ErrNotFound", err)
	}
	update(t, db, func(tx store.Tx) error {
		n, err := q.repair(tx)
		if err != nil || n != 0 {
			t.Errorf("repair of a sound queue fixed %d (%v)", n, err)
		}
		return nil
	})
}

// queueLeases (stores that lease the queue): claims hand out due,
// unleased rows to one owner at a time, earliest first, and say when to
// look again; a reschedule ends the lease; renewing tells the owner which
// rows another node took after its lease ran out, and not the ones it
// finished itself; concurrent claimers share nothing and leave nothing.
func queueLeases[T any, P store.QueueRow[T]](t *testing.T, s *suite, q queueKind[T, P]) {
	db, _ := s.fresh(t)
	claimOf, renew, ok := q.leaser(db)
	if !ok {
		t.Skip("single-node store: no leases")
	}
	ctx := context.Background()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	enqueue := func(db store.DB, n int, due func(i int) time.Time) []uint64 {
		var ids []uint64
		update(t, db, func(tx store.Tx) error {
			ids = ids[:0]
			for i := range n {
				it := q.row(fmt.Sprintf("r%d", i), base, due(i))
				if err := q.enqueue(tx, it); err != nil {
					return err
				}
				ids = append(ids, q.id(it))
			}
			return nil
		})
		return ids
	}
	due := enqueue(db, 6, func(i int) time.Time { return base.Add(-time.Minute + time.Duration(i)*time.Second) })
	enqueue(db, 1, func(int) time.Time { return base.Add(10 * time.Minute) })
	claim := func(owner string, now time.Time, max int) ([]uint64, time.Time) {
		t.Helper()
		ids, next, err := claimOf(ctx, owner, now, time.Minute, max)
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		return ids, next
	}
	a, next := claim("A", base, 4)
	if !slices.Equal(a, due[:4]) || !next.Equal(base) {
		t.Fatalf("A claimed %v (next %s), want %v and more due now", a, next, due[:4])
	}
	b, next := claim("B", base, 10)
	if !slices.Equal(b, due[4:]) || !next.Equal(base.Add(time.Minute)) {
		t.Fatalf("B claimed %v (next %s), want %v, next when the leases run out", b, next, due[4:])
	}
	if again, _ := claim("B", base.Add(30*time.Second), 10); len(again) != 0 {
		t.Fatalf("leased rows claimed again: %v", again)
	}
	// A records an attempt on one: the lease ends with it.
	update(t, db, func(tx store.Tx) error {
		_, err := q.reschedule(tx, a[0], func(it P) { q.attempt(it, time.Time{}, "") })
		return err
	})
	if got, _ := claim("B", base.Add(30*time.Second), 10); !slices.Equal(got, a[:1]) {
		t.Fatalf("after A rescheduled %d, B claimed %v", a[0], got)
	}
	lost, err := renew(ctx, "A", a, base.Add(40*time.Second), time.Minute)
	if err != nil || !slices.Equal(lost, a[:1]) {
		t.Fatalf("A renewing %v: lost %v (%v), want only %d", a, lost, err, a[0])
	}
	// B's leases ran out (at +60s and +90s); A's renewed ones hold until +100s.
	got, _ := claim("C", base.Add(95*time.Second), 10)
	slices.Sort(got)
	want := append([]uint64{a[0]}, b...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("at +95s C claimed %v, want the expired %v", got, want)
	}
	if got, _ := claim("C", base.Add(101*time.Second), 10); !slices.Equal(got, a[1:]) {
		t.Fatalf("at +101s C claimed %v, want A's expired %v", got, a[1:])
	}
	if lost, _ := renew(ctx, "A", a[1:], base.Add(102*time.Second), time.Minute); !slices.Equal(lost, a[1:]) {
		t.Fatalf("A renewing after C took them over: lost %v", lost)
	}
	// What C finished itself is not lost: one sent (dequeued), one
	// rescheduled after an attempt (its lease ends with it).
	update(t, db, func(tx store.Tx) error {
		if _, err := q.dequeue(tx, a[1]); err != nil {
			return err
		}
		_, err := q.reschedule(tx, a[2], func(it P) { q.attempt(it, time.Time{}, "") })
		return err
	})
	if lost, err := renew(ctx, "C", a[1:3], base.Add(103*time.Second), time.Minute); err != nil || len(lost) != 0 {
		t.Fatalf("C renewing what it sent and rescheduled: lost %v (%v), want none", lost, err)
	}

	// Concurrent claimers share nothing and leave nothing.
	db2, _ := s.fresh(t)
	claim2, _, _ := q.leaser(db2)
	all := enqueue(db2, 60, func(int) time.Time { return base })
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		claims = map[uint64]int{}
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ids, _, err := claim2(ctx, fmt.Sprint("node", w), base, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					claims[id]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, id := range all {
		if claims[id] != 1 {
			t.Errorf("row %d claimed %d times by concurrent claimers", id, claims[id])
		}
	}
}
