package store

import (
	"context"
	"testing"
)

func TestIMAPCursorAndAttempts(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const acct = "ACME/imap.example.com/support/INBOX"
	// Nothing stored yet: reads work without the buckets.
	s.View(func(tx Tx) error {
		if _, found, err := tx.IMAPCursor(acct); found || err != nil {
			t.Errorf("cursor found=%v err=%v on an empty store", found, err)
		}
		if a, err := tx.IMAPAttempt(acct, 7, 1); a.Attempts != 0 || err != nil {
			t.Errorf("attempt %+v %v", a, err)
		}
		return nil
	})
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.SetIMAPCursor(acct, IMAPCursor{UIDValidity: 7, LastUID: 0, QuietUpTo: 3}); err != nil {
			return err
		}
		for uid := uint32(1); uid <= 4; uid++ {
			if err := tx.PutIMAPAttempt(acct, 7, uid, IMAPAttempt{Attempts: int(uid)}); err != nil {
				return err
			}
		}
		// Another account with the same prefix is left alone.
		return tx.PutIMAPAttempt(acct+"2", 7, 1, IMAPAttempt{Attempts: 9})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Advancing the cursor forgets the records it passed.
	if err := s.Update(ctx, func(tx Tx) error {
		return tx.SetIMAPCursor(acct, IMAPCursor{UIDValidity: 7, LastUID: 2, QuietUpTo: 3})
	}); err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		c, found, _ := tx.IMAPCursor(acct)
		if !found || c != (IMAPCursor{UIDValidity: 7, LastUID: 2, QuietUpTo: 3}) {
			t.Errorf("cursor %+v", c)
		}
		for uid, want := range map[uint32]int{1: 0, 2: 0, 3: 3, 4: 4} {
			if a, _ := tx.IMAPAttempt(acct, 7, uid); a.Attempts != want {
				t.Errorf("uid %d: %d attempts, want %d", uid, a.Attempts, want)
			}
		}
		if a, _ := tx.IMAPAttempt(acct+"2", 7, 1); a.Attempts != 9 {
			t.Error("another account's record was removed")
		}
		return nil
	})
	// A new UIDVALIDITY forgets every record of the old one.
	if err := s.Update(ctx, func(tx Tx) error { return tx.SetIMAPCursor(acct, IMAPCursor{UIDValidity: 8}) }); err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		for uid := uint32(1); uid <= 4; uid++ {
			if a, _ := tx.IMAPAttempt(acct, 7, uid); a.Attempts != 0 {
				t.Errorf("uid %d of the old UIDVALIDITY kept", uid)
			}
		}
		return nil
	})
}
