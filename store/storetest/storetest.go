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
