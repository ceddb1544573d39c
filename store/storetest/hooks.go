package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// The webhook delivery queue's part of the contract (issue 18): the same
// order, re-read-by-id and leasing rules as the outbox.

// hookOrder: due deliveries come out earliest first, at most max, with
// the time the next one is due; RescheduleHook moves one in that order,
// DequeueHook removes it, and the rows and the index agree after each;
// a row comes back as it was stored; the queue is apart from the outbox.
func (s *suite) hookOrder(t *testing.T) {
	db, _ := s.fresh(t)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	view(t, db, func(tx store.Tx) error {
		ids, next, err := tx.DueHookIDs(base, 10)
		if err != nil || len(ids) != 0 || !next.IsZero() {
			t.Errorf("empty queue: %v next %s (%v)", ids, next, err)
		}
		return nil
	})
	offsets := []int{5, -3, 0, -10, 20, -1, 7, -7}
	rand.Shuffle(len(offsets), func(i, j int) { offsets[i], offsets[j] = offsets[j], offsets[i] })
	byOffset := map[uint64]int{}
	update(t, db, func(tx store.Tx) error {
		clear(byOffset)
		for _, off := range offsets {
			it := &store.HookItem{EventID: fmt.Sprintf("ev%d", off), Project: "ACME", Ticket: "ACME-1", Hook: "ops", Format: "json",
				Kind: store.EvAssigned, Mention: []string{"a@x"}, Vars: store.HookVars{Subject: "printer", Assignee: "a@x"},
				Created: base, NextAttempt: base.Add(time.Duration(off) * time.Minute)}
			if err := tx.EnqueueHook(it); err != nil {
				return err
			}
			byOffset[it.ID] = off
		}
		return nil
	})
	check := func(when string) {
		t.Helper()
		view(t, db, func(tx store.Tx) error {
			c, err := tx.CheckHooks()
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
			ids, n, err := tx.DueHookIDs(now, max)
			for _, id := range ids {
				out = append(out, byOffset[id])
			}
			next = n
			return err
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
		ids, _, err := tx.DueHookIDs(base, 1)
		if err != nil {
			return err
		}
		it, err := tx.HookItem(ids[0])
		if err != nil {
			return err
		}
		if it.EventID != "ev-10" || it.Kind != store.EvAssigned || it.Vars.Subject != "printer" || !slices.Equal(it.Mention, []string{"a@x"}) {
			t.Errorf("row read back as %+v", it)
		}
		if n, _ := tx.OutboxStats(); n != 0 {
			t.Errorf("webhook deliveries show in the outbox: %d items", n)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		ids, _, err := tx.DueHookIDs(base, 2)
		if err != nil {
			return err
		}
		if _, err := tx.RescheduleHook(ids[0], func(it *store.HookItem) {
			it.NextAttempt = base.Add(time.Hour)
			it.Attempts++
			it.LastError = "503"
		}); err != nil {
			return err
		}
		_, err = tx.DequeueHook(ids[1])
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
		n, oldest, err := tx.HookStats()
		if err != nil || n != len(offsets)-1 || !oldest.Equal(base) {
			t.Errorf("stats: %d oldest %s (%v), want %d", n, oldest, err, len(offsets)-1)
		}
		list, err := tx.ListHooks(100)
		if err != nil || len(list) != len(offsets)-1 || !slices.IsSortedFunc(list, func(a, b *store.HookItem) int { return int(a.ID) - int(b.ID) }) {
			t.Errorf("list: %d items (%v), want %d in id order", len(list), err, len(offsets)-1)
		}
		for _, it := range list {
			if byOffset[it.ID] == -10 && (it.Attempts != 1 || it.LastError != "503") {
				t.Errorf("rescheduled row stored as %+v", it)
			}
		}
		if _, err := tx.HookItem(1 << 40); !isNotFound(err) {
			t.Errorf("unknown delivery: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.DequeueHook(1 << 40)
		return err
	}); !isNotFound(err) {
		t.Errorf("dequeue of an unknown delivery: %v, want ErrNotFound", err)
	}
	update(t, db, func(tx store.Tx) error {
		n, err := tx.RepairHooks()
		if err != nil || n != 0 {
			t.Errorf("repair of a sound queue fixed %d (%v)", n, err)
		}
		return nil
	})
}

// hookLeases (stores that implement store.HookLeaser): as outboxLeases,
// for webhook deliveries.
func (s *suite) hookLeases(t *testing.T) {
	db, _ := s.fresh(t)
	l, ok := db.(store.HookLeaser)
	if !ok {
		t.Skip("single-node store: no webhook delivery leases")
	}
	ctx := context.Background()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var due []uint64
	update(t, db, func(tx store.Tx) error {
		due = due[:0]
		for i := range 4 {
			it := &store.HookItem{EventID: fmt.Sprint(i), Project: "ACME", Hook: "ops", Format: "json", Kind: store.EvRequestCreated,
				Created: base, NextAttempt: base.Add(time.Duration(i-10) * time.Second)}
			if err := tx.EnqueueHook(it); err != nil {
				return err
			}
			due = append(due, it.ID)
		}
		return nil
	})
	a, next, err := l.ClaimHooks(ctx, "A", base, time.Minute, 3)
	if err != nil || !slices.Equal(a, due[:3]) || !next.Equal(base) {
		t.Fatalf("A claimed %v next %s (%v), want %v and more due", a, next, err, due[:3])
	}
	b, next, err := l.ClaimHooks(ctx, "B", base, time.Minute, 10)
	if err != nil || !slices.Equal(b, due[3:]) || !next.Equal(base.Add(time.Minute)) {
		t.Fatalf("B claimed %v next %s (%v), want %v, next when the leases run out", b, next, err, due[3:])
	}
	update(t, db, func(tx store.Tx) error {
		_, err := tx.RescheduleHook(a[0], func(it *store.HookItem) { it.Attempts++ })
		return err
	})
	if got, _, _ := l.ClaimHooks(ctx, "B", base.Add(time.Second), time.Minute, 10); !slices.Equal(got, a[:1]) {
		t.Fatalf("after A rescheduled %d, B claimed %v", a[0], got)
	}
	lost, err := l.RenewHookLeases(ctx, "A", a, base.Add(2*time.Second), time.Minute)
	if err != nil || !slices.Equal(lost, a[:1]) {
		t.Fatalf("A renewing %v: lost %v (%v), want only %d", a, lost, err, a[0])
	}
	// B's leases run out at +60s and +61s, A's renewed ones at +62s.
	got, _, _ := l.ClaimHooks(ctx, "C", base.Add(61500*time.Millisecond), time.Minute, 10)
	slices.Sort(got)
	if want := []uint64{a[0], b[0]}; !slices.Equal(got, want) {
		t.Fatalf("at +61.5s C claimed %v, want the expired %v", got, want)
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
