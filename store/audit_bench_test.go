package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkAuditNewRequest is what the audit writer stores for one new
// request, in the commit loop: the inbound mail's four events (received,
// new ticket, two queued: one record) and the queued mirror on each of
// the two outbound Message-IDs, many requests in one transaction as the
// writer batches them.
func BenchmarkAuditNewRequest(b *testing.B) {
	s, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	i := 0
	err = s.Update(context.Background(), func(tx Tx) error {
		for b.Loop() {
			i++
			at := time.Unix(1796000000, int64(i)*1000)
			in := "req-" + strconv.Itoa(i*7919%1000003) + "@customer.example"
			out := [2]string{"tg." + strconv.Itoa(i) + "a@support.example.com", "tg." + strconv.Itoa(i) + "b@support.example.com"}
			for _, e := range []AuditEvent{
				{MessageID: in, Time: at, Type: AuditReceived, Project: "ACME", Source: "smtp", From: "c@customer.example"},
				{MessageID: in, Time: at, Type: AuditNewTicket, Project: "ACME", Ticket: "ACME-" + strconv.Itoa(i), Rule: "new"},
				{MessageID: in, Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Recipient: "c@customer.example", Detail: "customer/request_created", Related: out[0]},
				{MessageID: in, Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Recipient: "alice@example.com", Detail: "internal/request_created", Related: out[1]},
				{MessageID: out[0], Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Recipient: "c@customer.example", Detail: "customer/request_created", Related: in},
				{MessageID: out[1], Time: at, Type: AuditQueued, Project: "ACME", Ticket: "ACME-1", Recipient: "alice@example.com", Detail: "internal/request_created", Related: in},
			} {
				if err := tx.AddAudit(&e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
