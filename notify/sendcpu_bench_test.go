package notify_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
)

// BenchmarkRenderCompose is what the sender does per mail between reading
// its row and handing bytes to the transport: the notifier renders the
// row's text and HTML bodies (the causing message read in a read
// transaction of a bbolt store; its stripped text comes from the
// notifier's cache, as for the second mail of a request and every retry),
// and mailout composes the MIME, written to a discarding writer. One op
// is one mail, in turn the customer's auto-reply and the agents' notice
// of a new request. body=short is BenchmarkSendPerMail's request,
// body=4k smtpload's (4 KB, 61 lines).
//
//	go test -run '^$' -bench BenchmarkRenderCompose -benchmem ./notify
//	go test -c -o /tmp/notify.test ./notify
//	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off valgrind --tool=callgrind \
//	  /tmp/notify.test -test.run '^$' -test.bench 'RenderCompose/body=4k' -test.benchtime 2000x
func BenchmarkRenderCompose(b *testing.B) {
	bodies := map[string]string{
		"short": "Hello,\n\nthe printer on the second floor prints blank pages since yesterday.\nCould you have a look?\n\nThanks\nJörg\n\n> earlier quoted text\n> more of it\n",
		"4k":    strings.Repeat("The printer on floor 3 shows error E-42 again after the update.\n", 4000/66+1),
	}
	for _, name := range []string{"short", "4k"} {
		b.Run("body="+name, func(b *testing.B) {
			st, err := store.Open(b.TempDir(), store.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			msg := &store.Message{Ticket: "ACME-1", Project: "ACME", Direction: "in", Kind: "request", From: "joerg@customer.example", FromName: "Jörg Müller",
				Subject: "Printer prints blank pages", MessageID: "req-1@customer.example", Text: bodies[name]}
			if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.AddMessage(msg) }); err != nil {
				b.Fatal(err)
			}
			c := config.Default()
			tmpl := templates.New("")
			n := notify.New(func() *config.Config { return c }, func() *templates.Set { return tmpl }, nil, slog.New(slog.DiscardHandler))
			now := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
			vars := store.OutboxVars{ProjectKey: "ACME", ProjectName: "Acme Support", ProjectAddress: "acme@support.example.com",
				TicketSubject: "Printer prints blank pages", TicketStatus: "New", Reporter: "joerg@customer.example", Actor: "joerg@customer.example", Status: "New"}
			cust := &store.OutboxItem{ID: 1, Project: "ACME", Ticket: "ACME-1", Event: "customer/request_created", Language: "en",
				Recipient: "joerg@customer.example", RecipientName: "Jörg Müller", MailFrom: "acme+b-0123456789abcdefghijklmnop@support.example.com",
				MessageID: "tg.0123456789abcdefghijklmnop@support.example.com", Date: now, Message: msg.ID,
				InReplyTo: []string{"req-1@customer.example"}, References: []string{"req-1@customer.example"}, Vars: vars,
				Header: store.OutboxHeader{FromName: "Acme Support", From: "acme@support.example.com", ReplyTo: "acme@support.example.com", ReplyToName: "Acme Support",
					Subject: "[ACME-1] Printer prints blank pages", AutoSubmitted: "auto-replied", Loop: "acme@support.example.com",
					Unsubscribe: "http://localhost:8080/t/0123456789abcdefghijklmnop"}}
			cust.Vars.Link = "http://localhost:8080/t/0123456789abcdefghijklmnop"
			intl := *cust
			intl.ID, intl.Event, intl.Internal, intl.Recipient, intl.RecipientName = 2, "internal/request_created", true, "alice@example.com", ""
			intl.MessageID = "tg.0123456789abcdefghijklmnoq@support.example.com"
			intl.Vars.Link, intl.Vars.Marker, intl.Vars.AgentLink = "", templates.ReplyMarker("en"), "http://localhost:8080/a/0123456789abcdefghijklmnoq"
			intl.Header.AutoSubmitted, intl.Header.Unsubscribe = "auto-generated", ""
			rows := []*store.OutboxItem{cust, &intl}
			one := func(it *store.OutboxItem) {
				var body mailout.Body
				err := st.View(func(tx store.Tx) error {
					var err error
					body, err = n.Render(tx, it)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				m, err := mailout.Prepare(it, body, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
			for _, it := range rows {
				one(it) // the templates parsed, the text stripped
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				one(rows[i%2])
			}
			b.StopTimer()
		})
	}
}
