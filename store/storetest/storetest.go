// Package storetest is the conformance suite of the storage contract
// (Run: every store.DB implementation must pass it) and has helpers for
// tests that check what a store holds after mail went through the daemon.
package storetest

import (
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// MessageIDs counts the tickets of project and how many times each
// Message-ID is stored on them: "exactly once" tests read both.
func MessageIDs(t testing.TB, st store.DB, project string) (tickets int, perID map[string]int) {
	t.Helper()
	perID = map[string]int{}
	err := st.View(func(tx store.Tx) error {
		return tx.ForEachTicket(project, func(tk *store.Ticket) bool {
			tickets++
			msgs, _ := tx.TicketMessages(tk.Key)
			for _, m := range msgs {
				perID[m.MessageID]++
			}
			return true
		})
	})
	if err != nil {
		t.Fatalf("reading the store: %v", err)
	}
	return tickets, perID
}

// Queued counts the mails ever queued in db (the queued events of every
// ticket): each is written in the transaction of its cause, before the
// SMTP 250, so a test can wait until a sink holds that many.
func Queued(t testing.TB, db store.DB) int {
	t.Helper()
	n := 0
	if err := db.View(func(tx store.Tx) error {
		var err error
		if ferr := tx.ForEachTicket("", func(tk *store.Ticket) bool {
			var evs []*store.Event
			if evs, err = tx.Events(tk.Key); err != nil {
				return false
			}
			for _, e := range evs {
				if e.Kind == store.EvQueued {
					n++
				}
			}
			return true
		}); ferr != nil {
			return ferr
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
