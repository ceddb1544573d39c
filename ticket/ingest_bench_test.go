package ticket_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// benchEngine is an engine over a store already holding n tickets (each
// with its request, Message-ID index entry and reply token, the way the
// engine writes them). The store does not fsync: these benchmarks measure
// what threading and storing cost in CPU as the store grows, not the disk.
func benchEngine(b *testing.B, n int) (*ticket.Engine, store.DB) {
	b.Helper()
	s, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	for done := 0; done < n; {
		count := min(10000, n-done)
		err := s.Update(context.Background(), func(tx store.Tx) error {
			for i := range count {
				num, err := tx.NextTicketNumber("ACME")
				if err != nil {
					return err
				}
				key := store.TicketKey("ACME", num)
				from := fmt.Sprintf("c%d@customer.example", done+i+1)
				m := &store.Message{Ticket: key, Project: "ACME", Direction: "in", Kind: "request", From: from, Subject: "Printer", MessageID: fmt.Sprintf("req-%d@customer.example", num), Text: "The printer prints blank pages.", ThreadedBy: "new"}
				if err := tx.AddMessage(m); err != nil {
					return err
				}
				sum := sha256.Sum256([]byte(m.MessageID))
				if err := tx.IndexMessageID("ACME", m.MessageID, hex.EncodeToString(sum[:]), store.MessageRef{Ticket: key, Message: m.ID}); err != nil {
					return err
				}
				tok := &store.Token{Token: notify.NewToken(), Kind: store.TokenReply, Project: "ACME", Ticket: key, Recipient: from}
				if err := tx.PutToken(tok); err != nil {
					return err
				}
				if err := tx.IndexMessageID("ACME", "tg."+tok.Token+"@support.example.com", "", store.MessageRef{Ticket: key, Outbound: true}); err != nil {
					return err
				}
				if err := tx.PutTicket(&store.Ticket{Key: key, Project: "ACME", Number: num, Subject: "Printer", Status: "new", Reporter: from, Messages: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += count
	}
	c := config.Default()
	c.DataDir = b.TempDir()
	c.Limits.AutoPerRecipient.Count = 1 << 30
	c.Limits.AutoPerTicket.Count = 1 << 30
	c.Limits.AutoPerProject.Count = 1 << 30
	c.Limits.NewTicketsPerSender.Count = 1 << 30
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()}}
	if err := c.Finalize(); err != nil {
		b.Fatal(err)
	}
	cfg := func() *config.Config { return c }
	tmpl := templates.New("")
	log := slog.New(slog.DiscardHandler)
	nt := notify.New(cfg, func() *templates.Set { return tmpl }, nil, log)
	return ticket.NewEngine(s, cfg, nt, time.Now, log), s
}

// BenchmarkIngestReply is the engine's whole work for a customer reply
// threaded by In-Reply-To into a random one of 1,000 or 100,000 tickets:
// duplicate check, Message-ID lookup, message, ticket, event, the agents'
// notification rendered and queued, one commit. Flat cost as the store
// grows is the point (the lookups are B-tree seeks).
//
//	go test -run '^$' -bench BenchmarkIngestReply -count 6 ./ticket
func BenchmarkIngestReply(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) {
			e, _ := benchEngine(b, n)
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				t := r.IntN(n) + 1
				m := &ticket.Mail{Project: "ACME", Source: "smtp", From: fmt.Sprintf("c%d@customer.example", t), To: []string{"acme@support.example.com"},
					Subject: "Re: Printer", MessageID: fmt.Sprintf("reply-%d@customer.example", i), InReplyTo: []string{fmt.Sprintf("req-%d@customer.example", t)},
					Text: "Still broken, sorry.", Raw: fmt.Sprintf("%064x", i), SenderProven: true}
				res, err := e.Ingest(context.Background(), m)
				if err != nil || res.ThreadedBy != ticket.ByReferences {
					b.Fatalf("ingest: %v %+v", err, res)
				}
			}
		})
	}
}

// BenchmarkIngestNew is a new request (threading finds nothing, a ticket
// number is allocated, the auto-reply and the agents' notice are rendered
// and queued) into a store of 1,000 or 100,000 tickets.
//
//	go test -run '^$' -bench BenchmarkIngestNew -count 6 ./ticket
func BenchmarkIngestNew(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) {
			e, _ := benchEngine(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m := &ticket.Mail{Project: "ACME", Source: "smtp", From: fmt.Sprintf("new%d@customer.example", i), To: []string{"acme@support.example.com"},
					Subject: "Scanner", MessageID: fmt.Sprintf("new-%d@customer.example", i), Text: "The scanner is offline.", Raw: fmt.Sprintf("%064x", i), SenderProven: true}
				res, err := e.Ingest(context.Background(), m)
				if err != nil || !res.Created || res.Queued == 0 {
					b.Fatalf("ingest: %v %+v", err, res)
				}
			}
		})
	}
}
