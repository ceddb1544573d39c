package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// desk: the desk's sign-in links work once, even when two transactions
// race for one (two nodes, two clicks); sessions survive a reopen, list
// by agent, and go when deleted or pruned; expired links are pruned.
func (s *suite) desk(t *testing.T) {
	db, dir := s.fresh(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	view(t, db, func(tx store.Tx) error {
		if _, err := tx.Session("nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown session: %v, want ErrNotFound", err)
		}
		if ss, err := tx.Sessions(""); err != nil || len(ss) != 0 {
			t.Errorf("sessions of an empty store: %v, %v", ss, err)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		if err := tx.PutSignIn(&store.SignIn{Hash: "h1", Agent: "alice@acme.example", Browser: "b1", Created: now, Expires: now.Add(15 * time.Minute)}); err != nil {
			return err
		}
		if err := tx.PutSignIn(&store.SignIn{Hash: "old", Agent: "bob@acme.example", Browser: "b2", Created: now.Add(-time.Hour), Expires: now.Add(-45 * time.Minute)}); err != nil {
			return err
		}
		for i, h := range []string{"s2", "s1", "s3"} {
			agent := "alice@acme.example"
			if h == "s3" {
				agent = "bob@acme.example"
			}
			if err := tx.PutSession(&store.Session{Hash: h, Agent: agent, Created: now.Add(time.Duration(i) * time.Minute), LastSeen: now, Via: "mail"}); err != nil {
				return err
			}
		}
		return nil
	})

	// Two takers race for one link: exactly one gets it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var taken *store.SignIn
			err := db.Update(context.Background(), func(tx store.Tx) error {
				taken = nil
				si, err := tx.TakeSignIn("h1")
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				taken = si
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			if taken != nil {
				if taken.Agent != "alice@acme.example" || taken.Browser != "b1" || !taken.Expires.Equal(now.Add(15*time.Minute)) {
					t.Errorf("taken link %+v", taken)
				}
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 1 {
		t.Fatalf("the link was taken %d times, want exactly once", got)
	}

	db.Close()
	db = s.open(t, dir)
	t.Cleanup(func() { db.Close() })
	view(t, db, func(tx store.Tx) error {
		ss, err := tx.Sessions("alice@acme.example")
		if err != nil {
			return err
		}
		if len(ss) != 2 || ss[0].Hash != "s2" || ss[1].Hash != "s1" {
			t.Errorf("alice's sessions after reopen: %+v, want s2 then s1", ss)
		}
		all, err := tx.Sessions("")
		if err != nil || len(all) != 3 {
			t.Errorf("all sessions: %d, %v", len(all), err)
		}
		se, err := tx.Session("s3")
		if err != nil || se.Agent != "bob@acme.example" || se.Via != "mail" {
			t.Errorf("session s3: %+v, %v", se, err)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		if err := tx.DeleteSession("s1"); err != nil {
			return err
		}
		n, err := tx.PruneDesk(now, func(se *store.Session) bool { return se.Agent != "bob@acme.example" })
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("pruned %d, want 2 (the expired link and bob's session)", n)
		}
		return nil
	})
	view(t, db, func(tx store.Tx) error {
		all, err := tx.Sessions("")
		if err != nil {
			return err
		}
		if len(all) != 1 || all[0].Hash != "s2" {
			t.Errorf("sessions left: %+v, want s2", all)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		if _, err := tx.TakeSignIn("old"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pruned link: %v, want ErrNotFound", err)
		}
		return nil
	})
}

// searchFeed: events come back in the order they were stored, after any
// number, with their tickets; the last number is known; cursors are per
// node and survive a reopen.
func (s *suite) searchFeed(t *testing.T) {
	db, dir := s.fresh(t)
	var keys []string
	for range 3 {
		var key string
		update(t, db, func(tx store.Tx) error {
			var err error
			if key, _, err = newTicket(tx, "ACME", "subject", "raw"); err != nil {
				return err
			}
			return tx.AddEvent(&store.Event{Ticket: key, Kind: store.EvStatusChanged, Time: time.Now()})
		})
		keys = append(keys, key)
	}
	var last uint64
	view(t, db, func(tx store.Tx) error {
		all, err := tx.EventsAfter(0, 100)
		if err != nil {
			return err
		}
		for i, r := range all {
			if i > 0 && r.Seq <= all[i-1].Seq {
				t.Errorf("events out of order: %v", all)
			}
		}
		if len(all) < 3 || all[len(all)-1].Ticket != keys[2] {
			return fmt.Errorf("events after 0: %v, tickets %v", all, keys)
		}
		if last, err = tx.LastEventSeq(); err != nil {
			return err
		}
		if last != all[len(all)-1].Seq {
			t.Errorf("last event %d, the list ends at %d", last, all[len(all)-1].Seq)
		}
		tail, err := tx.EventsAfter(all[len(all)-2].Seq, 100)
		if err != nil {
			return err
		}
		if len(tail) != 1 || tail[0] != all[len(all)-1] {
			t.Errorf("events after the second last: %v", tail)
		}
		two, err := tx.EventsAfter(0, 2)
		if err != nil || len(two) != 2 {
			t.Errorf("at most 2: %v %v", two, err)
		}
		if _, ok, err := tx.SearchCursor("node-a"); ok || err != nil {
			t.Errorf("cursor of a new node: %v %v", ok, err)
		}
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		if err := tx.SetSearchCursor("node-a", last); err != nil {
			return err
		}
		return tx.SetSearchCursor("node-b", 1)
	})
	db.Close()
	db = s.open(t, dir)
	t.Cleanup(func() { db.Close() })
	view(t, db, func(tx store.Tx) error {
		a, ok, err := tx.SearchCursor("node-a")
		if err != nil || !ok || a != last {
			t.Errorf("node-a's cursor after reopen: %d %v %v, want %d", a, ok, err, last)
		}
		b, ok, err := tx.SearchCursor("node-b")
		if err != nil || !ok || b != 1 {
			t.Errorf("node-b's cursor: %d %v %v", b, ok, err)
		}
		return nil
	})
}
