package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// outboxDequeueSeen: DequeueSeen removes a row read earlier: when it is
// still as read, it gives back what was read; when it changed meanwhile
// (rescheduled), it gives back the row as stored; either way row and due
// order go together, and a row that is gone is ErrNotFound.
func (s *suite) outboxDequeueSeen(t *testing.T) {
	db, _ := s.fresh(t)
	now := time.Now().UTC()
	a := outboxKind.row("a@customer.example", now, now.Add(-time.Minute))
	a.Header.Subject = "Drucker <kaputt> & \"leer\"\nzweite Zeile"
	a.RecipientName = "Jörg Müller"
	b := outboxKind.row("b@customer.example", now, now.Add(-time.Second))
	update(t, db, func(tx store.Tx) error {
		if err := tx.Enqueue(a); err != nil {
			return err
		}
		return tx.Enqueue(b)
	})
	var seenA, seenB *store.OutboxItem
	view(t, db, func(tx store.Tx) (err error) {
		if seenA, err = tx.OutboxItem(a.ID); err != nil {
			return err
		}
		seenB, err = tx.OutboxItem(b.ID)
		return err
	})
	want, _ := json.Marshal(seenA)

	var got *store.OutboxItem
	update(t, db, func(tx store.Tx) (err error) {
		got, err = tx.DequeueSeen(seenA)
		return err
	})
	if j, _ := json.Marshal(got); string(j) != string(want) {
		t.Errorf("DequeueSeen of an unchanged row gave\n%s\nwant\n%s", j, want)
	}

	// b is rescheduled after it was read: the row as stored comes back.
	later := now.Add(time.Hour).Truncate(time.Second)
	update(t, db, func(tx store.Tx) error {
		_, err := tx.Reschedule(b.ID, func(it *store.OutboxItem) {
			it.Attempts, it.LastError, it.NextAttempt = 1, "451 try later", later
		})
		return err
	})
	update(t, db, func(tx store.Tx) (err error) {
		got, err = tx.DequeueSeen(seenB)
		return err
	})
	if got.Attempts != 1 || got.LastError != "451 try later" || !got.NextAttempt.Equal(later) || got.Recipient != "b@customer.example" {
		t.Errorf("DequeueSeen of a rescheduled row gave %+v, want the stored row (1 attempt, due %s)", got, later)
	}

	view(t, db, func(tx store.Tx) error {
		c, err := tx.CheckOutbox()
		if err != nil {
			return err
		}
		if !c.OK() || c.Rows != 0 {
			t.Errorf("after both dequeues: %s", c)
		}
		ids, _, err := tx.DueIDs(now.Add(2*time.Hour), 10)
		if err != nil || len(ids) != 0 {
			t.Errorf("due after both dequeues: %v %v", ids, err)
		}
		return nil
	})
	err := db.Update(t.Context(), func(tx store.Tx) error {
		_, err := tx.DequeueSeen(seenA)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DequeueSeen of a row that is gone: %v, want ErrNotFound", err)
	}
}

// outboxDueExcept: DueIDsExcept is DueIDs less the ids skipped, which
// still count against max.
func (s *suite) outboxDueExcept(t *testing.T) {
	db, _ := s.fresh(t)
	now := time.Now().UTC()
	var ids []uint64
	update(t, db, func(tx store.Tx) error {
		ids = nil
		for i := range 5 {
			it := outboxKind.row(fmt.Sprintf("r%d@customer.example", i), now, now.Add(time.Duration(i-10)*time.Second))
			if err := tx.Enqueue(it); err != nil {
				return err
			}
			ids = append(ids, it.ID)
		}
		return nil
	})
	view(t, db, func(tx store.Tx) error {
		skip := func(id uint64) bool { return id == ids[0] || id == ids[2] }
		got, next, err := tx.DueIDsExcept(now, 4, skip)
		if err != nil {
			return err
		}
		if !slices.Equal(got, []uint64{ids[1], ids[3]}) || !next.Equal(now) {
			t.Errorf("DueIDsExcept(max 4, skipping the 1st and 3rd) = %v, next %v; want %v, next %v", got, next, []uint64{ids[1], ids[3]}, now)
		}
		got, next, err = tx.DueIDsExcept(now, 10, skip)
		if err != nil {
			return err
		}
		if !slices.Equal(got, []uint64{ids[1], ids[3], ids[4]}) || !next.IsZero() {
			t.Errorf("DueIDsExcept(max 10) = %v, next %v; want %v and nothing after", got, next, []uint64{ids[1], ids[3], ids[4]})
		}
		all, _, err := tx.DueIDs(now, 10)
		if err != nil {
			return err
		}
		if same, _, err := tx.DueIDsExcept(now, 10, nil); err != nil || !slices.Equal(same, all) {
			t.Errorf("DueIDsExcept without skip = %v, %v; DueIDs = %v", same, err, all)
		}
		return nil
	})
}
