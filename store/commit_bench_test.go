package store

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIngestCommit measures what one ingestion costs the store, the
// way ingest uses it: the raw message (2 KiB) spooled into a blob, then one
// Update that adds the message, its Message-ID index entry, a ticket and an
// event. 16 goroutines run at once (2 cores × parallelism 8), so the group
// commit shares fsyncs between them; every Update returns only when the
// commit and the blob are durable.
//
//	go test -run '^$' -bench BenchmarkIngestCommit -count 6 ./store
func BenchmarkIngestCommit(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := bytes.Repeat([]byte("Hello, this is a line of a customer request.\r\n"), 44)
	var seq atomic.Uint64
	ctx := context.Background()
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			raw := append(fmt.Appendf(nil, "Message-ID: <b%d@bench>\r\n\r\n", n), body...)
			hash, size, err := s.PutBlobPending(bytes.NewReader(raw))
			if err != nil {
				b.Error(err)
				return
			}
			err = s.Update(ctx, func(tx Tx) error {
				num, err := tx.NextTicketNumber("ACME")
				if err != nil {
					return err
				}
				key := TicketKey("ACME", num)
				m := &Message{Ticket: key, Project: "ACME", Direction: "in", Kind: "request", From: "c@example.com", Subject: "Bench", MessageID: fmt.Sprintf("b%d@bench", n), Text: string(body), Raw: hash, RawSize: size}
				if err := tx.AddMessage(m); err != nil {
					return err
				}
				if err := tx.IndexMessageID("ACME", m.MessageID, hash, MessageRef{Ticket: key, Message: m.ID}); err != nil {
					return err
				}
				if err := tx.PutTicket(&Ticket{Key: key, Project: "ACME", Number: num, Subject: "Bench", Status: "new", Reporter: "c@example.com", Messages: 1}); err != nil {
					return err
				}
				return tx.AddEvent(&Event{Ticket: key, Kind: EvRequestCreated, Message: m.ID})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
