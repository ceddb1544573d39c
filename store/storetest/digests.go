package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// digests (issue 21): an agent's digest preference and mark are absent
// before they are written (nil, not an error), read back as written
// (the agent compared lower-cased), replaced by a later write, durable
// across a reopen, and never written by a View; a mark written in the
// transaction that queues a mail commits or rolls back with it.
func (s *suite) digests(t *testing.T) {
	dir := t.TempDir()
	db := s.open(t, dir)
	view(t, db, func(tx store.Tx) error {
		if p, err := tx.DigestPref("alice@example.com"); p != nil || err != nil {
			t.Errorf("preference before any: %+v %v", p, err)
		}
		if m, err := tx.DigestMark("alice@example.com"); m != nil || err != nil {
			t.Errorf("mark before any: %+v %v", m, err)
		}
		if err := tx.PutDigestPref(&store.DigestPref{Agent: "x@y", Mode: store.DigestOff}); err == nil {
			t.Error("a View wrote a preference")
		}
		if err := tx.PutDigestMark(&store.DigestMark{Agent: "x@y", Day: "2026-12-03"}); err == nil {
			t.Error("a View wrote a mark")
		}
		return nil
	})
	now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	update(t, db, func(tx store.Tx) error {
		if err := tx.PutDigestPref(&store.DigestPref{Agent: "Alice@Example.com", Mode: store.DigestOff, Updated: now}); err != nil {
			return err
		}
		if err := tx.PutDigestPref(&store.DigestPref{Agent: "alice@example.com", Mode: store.DigestOn, At: "07:30", TimeZone: "Europe/Vienna", Updated: now}); err != nil {
			return err
		}
		return tx.PutDigestMark(&store.DigestMark{Agent: "BOB@example.com", Day: "2026-12-02", At: now.Add(-24 * time.Hour)})
	})
	// A mark written with a queued mail in a transaction that fails is
	// gone with the mail.
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Enqueue(&store.OutboxItem{Project: "ACME", Event: "internal/digest", Recipient: "bob@example.com", Created: now, NextAttempt: now}); err != nil {
			return err
		}
		if err := tx.PutDigestMark(&store.DigestMark{Agent: "bob@example.com", Day: "2026-12-03", At: now, OutboxID: 1}); err != nil {
			return err
		}
		return errors.New("rolled back")
	}); err == nil {
		t.Fatal("the failing update succeeded")
	}
	db.Close()
	db = s.open(t, dir)
	defer db.Close()
	view(t, db, func(tx store.Tx) error {
		p, err := tx.DigestPref("ALICE@example.com")
		if err != nil || p == nil || p.Agent != "alice@example.com" || p.Mode != store.DigestOn || p.At != "07:30" || p.TimeZone != "Europe/Vienna" || !p.Updated.Equal(now) {
			t.Errorf("preference after reopening: %+v %v", p, err)
		}
		m, err := tx.DigestMark("bob@example.com")
		if err != nil || m == nil || m.Day != "2026-12-02" || !m.At.Equal(now.Add(-24*time.Hour)) || m.OutboxID != 0 {
			t.Errorf("mark after reopening (the rolled-back one must not count): %+v %v", m, err)
		}
		if n, _ := tx.OutboxStats(); n != 0 {
			t.Errorf("the rolled-back mail is queued: %d items", n)
		}
		return nil
	})
}
