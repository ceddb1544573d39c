package ticket_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// BenchmarkIngestNewWebhooks is BenchmarkIngestNew (1,000 tickets) with 0
// or 2 webhooks that push every new request: what planning and queueing
// deliveries (one row and one history event per hook) add to the change.
//
//	go test -run '^$' -bench BenchmarkIngestNewWebhooks -count 6 ./ticket
func BenchmarkIngestNewWebhooks(b *testing.B) {
	for _, hooks := range []int{0, 2} {
		b.Run(fmt.Sprintf("hooks=%d", hooks), func(b *testing.B) {
			_, s := benchEngine(b, 1000)
			c := config.Default()
			c.DataDir = b.TempDir()
			c.Limits.AutoPerRecipient.Count = 1 << 30
			c.Limits.AutoPerTicket.Count = 1 << 30
			c.Limits.AutoPerProject.Count = 1 << 30
			c.Limits.NewTicketsPerSender.Count = 1 << 30
			p := config.Project{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"},
				Notifications: config.DefaultNotifications()}
			for i := range hooks {
				p.Webhooks = append(p.Webhooks, config.Webhook{Name: fmt.Sprint("h", i), URL: "https://hooks.example.com/", Events: []string{"request_created"},
					To: []string{"agents"}})
			}
			c.Projects = []config.Project{p}
			if err := c.Finalize(); err != nil {
				b.Fatal(err)
			}
			cfg := func() *config.Config { return c }
			tmpl := templates.New("")
			log := slog.New(slog.DiscardHandler)
			e := ticket.NewEngine(s, cfg, notify.New(cfg, func() *templates.Set { return tmpl }, nil, log), time.Now, log)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				m := &ticket.Mail{Project: "ACME", Source: "smtp", From: fmt.Sprintf("new%d@customer.example", i), To: []string{"acme@support.example.com"},
					Subject: "Scanner", MessageID: fmt.Sprintf("new-%d@customer.example", i), Text: "The scanner is offline.", Raw: fmt.Sprintf("%064x", i), SenderProven: true}
				res, err := e.Ingest(context.Background(), m)
				if err != nil || !res.Created {
					b.Fatalf("ingest: %v %+v", err, res)
				}
			}
		})
	}
}
