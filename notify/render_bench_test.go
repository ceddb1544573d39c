package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// BenchmarkNotifyRequestCreated measures rendering and queueing what a new
// request causes: the customer's auto-reply and the agents' notice (two
// mails, text and HTML each, composed as MIME, with their tokens and
// outbox records). 100 events share one transaction of a store that does
// not fsync, so the figure is the notifier's CPU cost, not the disk's.
//
//	go test -run '^$' -bench BenchmarkNotifyRequestCreated -count 6 ./notify
func BenchmarkNotifyRequestCreated(b *testing.B) {
	s, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := config.Default()
	c.DataDir = b.TempDir()
	c.Limits.AutoPerRecipient.Count = 1 << 30
	c.Limits.AutoPerTicket.Count = 1 << 30
	c.Limits.AutoPerProject.Count = 1 << 30
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()}}
	if err := c.Finalize(); err != nil {
		b.Fatal(err)
	}
	tmpl := templates.New("")
	n := notify.New(func() *config.Config { return c }, func() *templates.Set { return tmpl }, nil, slog.New(slog.DiscardHandler))
	p := c.Project("ACME")
	text := "Hello,\n\nthe printer on the second floor prints blank pages since yesterday.\nCould you have a look?\n\nThanks\nJörg\n\n> earlier quoted text\n> more of it\n"
	const perTx = 100
	queued := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += perTx {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			queued = 0
			for j := i; j < min(i+perTx, b.N); j++ {
				from := fmt.Sprintf("c%d@customer.example", j)
				t := &store.Ticket{Key: fmt.Sprintf("ACME-%d", j+1), Project: "ACME", Number: uint64(j + 1), Subject: "Printer prints blank pages", Status: "new", Reporter: from, ReporterName: "Jörg Müller", Created: time.Now()}
				m := &store.Message{ID: uint64(j + 1), Ticket: t.Key, Project: "ACME", Direction: "in", Kind: "request", From: from, FromName: "Jörg Müller", Subject: t.Subject, MessageID: fmt.Sprintf("r%d@customer.example", j), Text: text}
				k, err := n.Notify(tx, &ticket.Event{Type: ticket.EvRequestCreated, Project: p, Ticket: t, Message: m, Actor: from, Status: "new", StatusCustomerVisible: true, Record: func(*store.Event) error { return nil }})
				if err != nil {
					return err
				}
				queued += k
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if queued == 0 {
		b.Fatal("nothing queued")
	}
}
