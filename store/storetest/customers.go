package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// customers (issue 17): the index of who reported or follows a ticket
// follows every PutTicket — a participant added or removed, a reporter
// changed — whatever the case of the address, rolls back with a failed
// change, survives a reopen and agrees with the tickets in Check.
func (s *suite) customers(t *testing.T) {
	dir := t.TempDir()
	db := s.open(t, dir)
	put := func(tx store.Tx, project string, n uint64, reporter string, participants ...string) error {
		tk := &store.Ticket{Key: store.TicketKey(project, n), Project: project, Number: n, Subject: "s", Reporter: reporter}
		for _, p := range participants {
			tk.Participants = append(tk.Participants, store.Participant{Address: p})
		}
		return tx.PutTicket(tk)
	}
	is := func(tx store.Tx, project, addr string, want bool) {
		t.Helper()
		got, err := tx.IsCustomer(project, addr)
		if err != nil || got != want {
			t.Errorf("IsCustomer(%s, %s) = %v, %v; want %v", project, addr, got, err, want)
		}
	}
	update(t, db, func(tx store.Tx) error {
		for _, p := range []string{"ACME", "ACME", "BETA"} {
			if _, err := tx.NextTicketNumber(p); err != nil {
				return err
			}
		}
		if err := put(tx, "ACME", 1, "carl@customer.example", "Dora@Customer.example"); err != nil {
			return err
		}
		if err := put(tx, "ACME", 2, "carl@customer.example"); err != nil {
			return err
		}
		if err := put(tx, "BETA", 1, "erin@other.example", "carl@customer.example"); err != nil {
			return err
		}
		// Seen in the same transaction.
		is(tx, "ACME", "dora@customer.example", true)
		return nil
	})
	boom := errors.New("boom")
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		if _, err := tx.NextTicketNumber("ACME"); err != nil {
			return err
		}
		if err := put(tx, "ACME", 3, "frank@customer.example"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed update: %v", err)
	}
	db.Close()
	db = s.open(t, dir)
	t.Cleanup(func() { db.Close() })
	view(t, db, func(tx store.Tx) error {
		is(tx, "ACME", "carl@customer.example", true)
		is(tx, "ACME", "CARL@customer.example", true)
		is(tx, "ACME", "dora@customer.example", true)
		is(tx, "ACME", "erin@other.example", false)
		is(tx, "BETA", "erin@other.example", true)
		is(tx, "ACME", "frank@customer.example", false) // rolled back
		is(tx, "ACME", "customer.example", false)
		is(tx, "ACME", "carl@customer.exampl", false) // a prefix is not an address
		is(tx, "AC", "carl@customer.example", false)  // nor of a project
		is(tx, "ACME", "", false)
		ps, err := tx.CustomerProjects("Carl@customer.example")
		if err != nil || !slices.Equal(ps, []string{"ACME", "BETA"}) {
			t.Errorf("CustomerProjects(carl) = %v, %v", ps, err)
		}
		ps, err = tx.CustomerProjects("nobody@x.example")
		if err != nil || len(ps) != 0 {
			t.Errorf("CustomerProjects(nobody) = %v, %v", ps, err)
		}
		return nil
	})
	// Dora leaves ACME-1, the reporter of ACME-2 changes: the index follows.
	update(t, db, func(tx store.Tx) error {
		if err := put(tx, "ACME", 1, "carl@customer.example"); err != nil {
			return err
		}
		if err := put(tx, "ACME", 2, "gina@customer.example"); err != nil {
			return err
		}
		is(tx, "ACME", "dora@customer.example", false)
		is(tx, "ACME", "carl@customer.example", true) // still ACME-1's
		is(tx, "ACME", "gina@customer.example", true)
		return nil
	})
	update(t, db, func(tx store.Tx) error {
		if err := put(tx, "ACME", 1, "hugo@customer.example"); err != nil {
			return err
		}
		is(tx, "ACME", "carl@customer.example", false)
		ps, err := tx.CustomerProjects("carl@customer.example")
		if err != nil || !slices.Equal(ps, []string{"BETA"}) {
			t.Errorf("CustomerProjects(carl) after leaving ACME = %v, %v", ps, err)
		}
		return nil
	})
	checkClean(t, db)
}

// checkClean runs Check and fails on any problem it reports.
func checkClean(t *testing.T, db store.DB) {
	t.Helper()
	var problems []store.Problem
	if err := db.Check(context.Background(), func(p store.Problem) { problems = append(problems, p) }); err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("check found: %+v", problems)
	}
}

// draftsAccepted (issue 17): an accepted draft keeps the ticket it
// became, found by its key after the draft is gone; an open or unknown
// draft has none; a failed change leaves none behind.
func (s *suite) draftsAccepted(t *testing.T) {
	db, _ := s.fresh(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var tkey string
	update(t, db, func(tx store.Tx) error {
		for _, p := range []string{"ACME", "ACME"} {
			n, err := tx.NextDraftNumber(p)
			if err != nil {
				return err
			}
			if err := tx.PutDraft(&store.Draft{Key: store.DraftKey(p, n), Project: p, Number: n, Sender: "s@x.example", Created: now, Expires: now.Add(time.Hour)}); err != nil {
				return err
			}
		}
		var err error
		tkey, _, err = newTicket(tx, "ACME", "accepted", "")
		return err
	})
	boom := errors.New("boom")
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.DeleteDraft("ACME-D2"); err != nil {
			return err
		}
		if err := tx.MarkDraftAccepted("ACME-D2", tkey); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed update: %v", err)
	}
	update(t, db, func(tx store.Tx) error {
		if err := tx.DeleteDraft("ACME-D1"); err != nil {
			return err
		}
		if err := tx.MarkDraftAccepted("ACME-D1", "not a key"); err == nil {
			t.Error("MarkDraftAccepted took a ticket key that is none")
		}
		return tx.MarkDraftAccepted("ACME-D1", tkey)
	})
	view(t, db, func(tx store.Tx) error {
		for key, want := range map[string]string{"ACME-D1": tkey, "ACME-D2": "", "ACME-D9": "", "BETA-D1": "", "nonsense": ""} {
			if got, err := tx.DraftAcceptedAs(key); err != nil || got != want {
				t.Errorf("DraftAcceptedAs(%s) = %q, %v; want %q", key, got, err, want)
			}
		}
		if _, err := tx.Draft("ACME-D2"); err != nil {
			t.Errorf("the rolled-back acceptance removed the draft: %v", err)
		}
		return nil
	})
	checkClean(t, db)
}
