package ticket

import (
	"context"
	"fmt"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// BenchmarkKnownSender is the open_to: known question "has this sender an
// earlier ticket?" on a project of 100,000 tickets (bbolt), for a sender
// who has one (the last ticket's participant) and one who has none.
//
//	go test -run '^$' -bench BenchmarkKnownSender -benchtime 20x -count 3 ./ticket
func BenchmarkKnownSender(b *testing.B) {
	const tickets = 100_000
	db, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for start := 0; start < tickets; start += 10_000 {
		err := db.Update(context.Background(), func(tx store.Tx) error {
			for i := start; i < start+10_000; i++ {
				n, err := tx.NextTicketNumber("ACME")
				if err != nil {
					return err
				}
				t := &store.Ticket{Key: store.TicketKey("ACME", n), Project: "ACME", Number: n, Subject: "printer on fire", Status: "new",
					Reporter: fmt.Sprintf("c%d@customer%d.example", i, i%500)}
				if i == tickets-1 {
					t.Participants = []store.Participant{{Address: "known@partner.example"}}
				}
				if err := tx.PutTicket(t); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	p := &config.Project{Key: "ACME"}
	for _, c := range []struct {
		name, addr string
		want       bool
	}{{"known", "known@partner.example", true}, {"stranger", "stranger@nowhere.example", false}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				err := db.View(func(tx store.Tx) error {
					known, err := knownSender(tx, p, c.addr)
					if err == nil && known != c.want {
						err = fmt.Errorf("%s known = %v", c.addr, known)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
