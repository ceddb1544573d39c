package webhook_test

import (
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/webhook"
)

// BenchmarkCompose is the send-time composition of one delivery per
// format (and the signature for json).
//
//	go test -run '^$' -bench BenchmarkCompose -count 6 ./webhook
func BenchmarkCompose(b *testing.B) {
	it := &store.HookItem{EventID: "evt_0123456789abcdef0123456789abcdef", Project: "ACME", Ticket: "ACME-42", Hook: "ops", Kind: store.EvAssigned,
		Time: time.Now(), Mention: []string{"alice@example.com"}, Assignment: true,
		Vars: store.HookVars{ProjectName: "Acme Support", Subject: "Printer on fire", Status: "assigned", OldStatus: "new",
			Reporter: "carol@customer.example", Assignee: "alice@example.com", Actor: "boss@example.com", Link: "https://desk.example.com/t/ACME-42"}}
	for _, f := range []string{"json", "slack", "ntfy"} {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				r, err := webhook.Compose(it, f, false)
				if err != nil {
					b.Fatal(err)
				}
				if f == "json" {
					r.Header.Set(webhook.HeaderSignature, webhook.Sign("secret", time.Now(), r.Body))
				}
			}
		})
	}
}
