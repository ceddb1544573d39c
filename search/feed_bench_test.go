package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
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

// BenchmarkFeedNewTickets: b.N new tickets are stored (100 to a
// transaction) and indexed through Index.CatchUp after every chunk of
// them, on a real bbolt store and a real index in a temp dir: chunk=1000
// is a desk search every second of the load tool's new-request load
// (1,000/s), chunk=5000 the daemon's Run loop alone (every 5 s). An op is
// one new ticket: its share of the store writes (BenchmarkFeedStoreOnly,
// to subtract), the feed read, the analysis, the segment and the merges.
// It reports the highest Go heap in use seen while it runs (peak-heap-MB,
// sampled every 20 ms) and the live heap after it (live-heap-MB, after a
// GC). Instructions per op come from callgrind at two b.N:
//
//	go test -c -o /tmp/search.test ./search/
//	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off valgrind --tool=callgrind \
//	  --callgrind-out-file=/tmp/feed.cg /tmp/search.test -test.run '^$' \
//	  -test.bench 'BenchmarkFeedNewTickets/chunk=1000$' -test.benchtime 3000x
func BenchmarkFeedNewTickets(b *testing.B) {
	for _, chunk := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) { benchFeed(b, chunk) })
	}
}

func benchFeed(b *testing.B, chunk int) {
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
	peak := sampleHeap()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += chunk {
		feedStore(b, db, rng, "ACME", i, min(i+chunk, b.N))
		if err := x.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(peak(), "peak-heap-MB")
	// Every ticket is found: the last one by its own address.
	keys, err := x.eng.search(fmt.Sprintf("customer%d@example%d.com", b.N, b.N%300), []string{"ACME"})
	if err != nil || len(keys) != 1 {
		b.Fatalf("the last ticket: %v %v", keys, err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "live-heap-MB")
}

// sampleHeap samples the Go heap in use every 20 ms until the function it
// returns is called, which answers the highest value seen, in MiB.
func sampleHeap() func() float64 {
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		return float64(peak) / (1 << 20)
	}
}

// BenchmarkFeedStoreOnly is BenchmarkFeedNewTickets without the index:
// the store's part of its figures.
func BenchmarkFeedStoreOnly(b *testing.B) {
	db := openStore(b)
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for i := 0; i < b.N; i += 1000 {
		feedStore(b, db, rng, "ACME", i, min(i+1000, b.N))
	}
}

// BenchmarkBuild: the first build of an index, as the daemon does it at
// start (Open on an empty directory, then Run until Ready: Rebuild and a
// catch-up). The store is TICKETGATE_SEARCH_BENCH_STORE (a data_dir, e.g.
// one filled by `ticketgate-bench preload`; the build records its cursor
// there) or else 20,000 tickets made as BenchmarkFeedNewTickets makes
// them. It reports tickets per second (wall clock: on a shared machine
// only a rough figure) and the highest Go heap in use seen while it
// builds (sampled every 20 ms).
//
//	TICKETGATE_SEARCH_BENCH_STORE=/tmp/pre100k go test -run '^$' -bench BenchmarkBuild -benchtime 1x ./search/
func BenchmarkBuild(b *testing.B) {
	var db store.DB
	if dir := os.Getenv("TICKETGATE_SEARCH_BENCH_STORE"); dir != "" {
		s, err := store.Open(dir, store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		db = s
	} else {
		db = openStore(b)
		feedStore(b, db, rand.New(rand.NewPCG(1, 2)), "ACME", 0, 20_000)
	}
	var tickets int
	db.View(func(tx store.Tx) error {
		return tx.ForEachTicket("", func(*store.Ticket) bool { tickets++; return true })
	})
	peak := sampleHeap()
	b.ResetTimer()
	for b.Loop() {
		x, err := Open(context.Background(), b.TempDir(), db, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); x.Run(ctx, Pace{Every: time.Hour}) }()
		<-x.Ready()
		cancel()
		<-done
		keys, err := x.eng.search("customer", []string{"ACME"})
		if err != nil || len(keys) == 0 {
			b.Fatalf("after the build: %d hits, %v", len(keys), err)
		}
		x.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(tickets)*float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
	b.ReportMetric(peak(), "peak-heap-MB")
}
