package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// feedWords is the vocabulary of the feed benchmarks' tickets: English
// support mail, some German with umlauts and ß (the languages the desk
// indexes), numbers, and punctuation the tokenizer has to split on.
var feedWords = strings.Fields(`the printer is on fire again and nobody answers our calls please
send invoice number order delivery broken screen cannot log in password reset since yesterday
account locked error message appears when I click the button attached screenshot shows it our
team of users waits for an update urgent customer since version 4.2.1 crashed at 10:30 today
die Rechnung ist falsch bitte schicken Sie eine neue Größe Lieferung fehlt Grüße aus München
können wir das Passwort zurücksetzen über Straße Bestellung Nr. 12345 vom 3.12.2026 wurde nicht
geliefert danke für Ihre Hilfe ärgerlich, dass es schon wieder passiert; e-mail: help@x.example
what's wrong with the it's-broken feature? don't know (maybe 50% of requests) foo_bar v2.0`)

// feedTicket stores new ticket n of project as the engine stores a new
// request: the ticket, its first message and its events (one the index
// follows, one quiet).
func feedTicket(tx store.Tx, rng *rand.Rand, project string, n uint64) error {
	if _, err := tx.NextTicketNumber(project); err != nil {
		return err
	}
	words := func(k int) string {
		var s strings.Builder
		for i := range k {
			if i > 0 {
				s.WriteByte(' ')
			}
			s.WriteString(feedWords[rng.IntN(len(feedWords))])
		}
		return s.String()
	}
	key := store.TicketKey(project, n)
	from := fmt.Sprintf("customer%d@example%d.com", n, n%300)
	now := time.Now().UTC()
	subject := words(5)
	if err := tx.PutTicket(&store.Ticket{Key: key, Project: project, Number: n, Subject: subject, Reporter: from,
		ReporterName: fmt.Sprintf("Customer %d", n), Status: "new", Created: now, Updated: now, Messages: 1}); err != nil {
		return err
	}
	text := fmt.Sprintf("Hello,\n\n%s\n\n%s\n\nRegards\nCustomer %d\n", words(40), words(30), n)
	m := &store.Message{Ticket: key, Project: project, Direction: "in", Kind: "request", From: from,
		FromName: fmt.Sprintf("Customer %d", n), To: []string{strings.ToLower(project) + "@support.example.com"},
		Subject: subject, Text: text, Received: now}
	if err := tx.AddMessage(m); err != nil {
		return err
	}
	if err := tx.AddEvent(&store.Event{Ticket: key, Kind: store.EvRequestCreated, Time: now, Message: m.ID}); err != nil {
		return err
	}
	return tx.AddEvent(&store.Event{Ticket: key, Kind: store.EvQueued, Time: now, Recipient: from})
}

// feedStore stores tickets [from, to) of project, 100 to a transaction.
func feedStore(b *testing.B, db store.DB, rng *rand.Rand, project string, from, to int) {
	for i := from; i < to; i += 100 {
		err := db.Update(context.Background(), func(tx store.Tx) error {
			for n := i; n < min(i+100, to); n++ {
				if err := feedTicket(tx, rng, project, uint64(n+1)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// feedChunk is how many new tickets arrive between two catch-ups in the
// feed benchmark: one second of the load tool's new-request load.
const feedChunk = 1000

// BenchmarkFeedNewTickets: b.N new tickets are stored (100 to a
// transaction) and indexed through Index.CatchUp after every feedChunk of
// them, as the daemon's Run loop (or a desk search) would, on a real
// bbolt store and a real index in a temp dir. An op is one new ticket:
// its share of the store writes (BenchmarkFeedStoreOnly, to subtract),
// the feed read, the analysis, the segment and the merges. It reports the
// Go heap in use after the run and the highest value seen after a
// catch-up (peak-heap-MB). Instructions per op come from callgrind at
// two b.N:
//
//	go test -c -o /tmp/search.test ./search/
//	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off valgrind --tool=callgrind \
//	  --callgrind-out-file=/tmp/feed.cg /tmp/search.test -test.run '^$' \
//	  -test.bench BenchmarkFeedNewTickets -test.benchtime 3000x
func BenchmarkFeedNewTickets(b *testing.B) {
	db := openStore(b)
	x, err := Open(context.Background(), b.TempDir(), db, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	if err := x.Rebuild(ctx); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var peak uint64
	var ms runtime.MemStats
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += feedChunk {
		feedStore(b, db, rng, "ACME", i, min(i+feedChunk, b.N))
		if err := x.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	// Every ticket is found: the last one by its own address.
	keys, err := x.search(fmt.Sprintf("customer%d@example%d.com", b.N, b.N%300), []string{"ACME"})
	if err != nil || len(keys) != 1 {
		b.Fatalf("the last ticket: %v %v", keys, err)
	}
}

// BenchmarkFeedStoreOnly is BenchmarkFeedNewTickets without the index:
// the store's part of its figures.
func BenchmarkFeedStoreOnly(b *testing.B) {
	db := openStore(b)
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for i := 0; i < b.N; i += feedChunk {
		feedStore(b, db, rng, "ACME", i, min(i+feedChunk, b.N))
	}
}
