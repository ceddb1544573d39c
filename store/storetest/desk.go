package storetest

import (
	"context"
	"errors"
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
