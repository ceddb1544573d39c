package desk

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/search"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// BenchmarkDeskSearch100k times the whole desk search as an agent's
// browser sees it: GET /desk/?view=…&q=… over loopback HTTP with a session
// cookie, through the session check, the index query (search.Index, built
// from the store by its own Rebuild), reading every hit ticket from the
// store, the view counts and filters, sorting, paging and rendering the
// page. The store holds 100,000 tickets (half of them ACME's, the signed-in
// agent's project; every sixth closed), each a request of about 80 words
// from a 5,000-word vocabulary with a skewed distribution, written through
// ticket.Import as ticketgate-bench preload writes them; the index is
// built from that store before the timing. "queue-no-search" is the same
// page without a search (every ticket of the agent's projects is read),
// for comparison.
//
//	go test -run '^$' -bench BenchmarkDeskSearch100k -benchtime 20x -timeout 30m ./desk/
func BenchmarkDeskSearch100k(b *testing.B) {
	const tickets = 100_000
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Web.BaseURL = "http://desk.test"
	cfg.Projects = []config.Project{
		{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()},
		{Key: "BETA", Name: "Beta Help", Address: "beta@help.example.org", Agents: []string{"bob@example.org"}, Notifications: config.DefaultNotifications()},
	}
	if err := cfg.Finalize(); err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(cfg.DataDir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx%c", i, 'a'+rune(i%26))
	}
	start := time.Now()
	loadTickets(b, db, tickets, vocab)
	b.Logf("stored %d tickets in %s", tickets, time.Since(start).Round(time.Second))

	start = time.Now()
	idx, err := search.Open(context.Background(), b.TempDir(), db, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); idx.Run(ctx, search.Pace{Every: time.Hour}) }()
	defer func() { cancel(); wg.Wait(); idx.Close() }()
	<-idx.Ready()
	b.Logf("indexed them from the store in %s", time.Since(start).Round(time.Second))

	// A day after the last ticket: the most recent closed ones are
	// "recently closed".
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(tickets*time.Minute + 24*time.Hour)
	h := New(db, Options{BaseURL: cfg.Web.BaseURL, Config: func() *config.Config { return cfg }, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Now: func() time.Time { return now }, DescribeEvent: ticket.Describe, Search: idx.Search}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	secret := newSecret()
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutSession(&store.Session{Hash: hashOf(secret), Agent: "alice@example.com", Created: now, LastSeen: now, Via: "mail"})
	}); err != nil {
		b.Fatal(err)
	}
	client := srv.Client()
	for _, c := range []struct {
		name, view, q string
		want          string // on the page
	}{
		{"rare-word", "open", "zanzibarian", "ACME-25001"},
		{"common-word", "open", vocab[3], `class="key"`},
		{"two-words", "open", vocab[10] + " " + vocab[40], `class="key"`},
		{"address", "open", "customer44@example44.com", "ACME-23"},
		{"common-word-closed", "closed", vocab[3], `class="key"`},
		{"queue-no-search", "open", "", `class="key"`},
	} {
		u := srv.URL + "/desk/?" + url.Values{"view": {c.view}, "q": {c.q}}.Encode()
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: secret})
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				page, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(page), c.want) {
					b.Fatalf("%s: %d, %v, no %q in\n%.2000s", u, resp.StatusCode, err, c.want, page)
				}
			}
		})
	}
}

// loadTickets writes n tickets alternately of ACME and BETA, 2,000 a
// transaction; ACME-25001 alone says "zanzibarian".
func loadTickets(b *testing.B, db store.DB, n int, vocab []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		err := db.Update(context.Background(), func(tx store.Tx) error {
			for i := done; i < done+2000 && i < n; i++ {
				p := []string{"ACME", "BETA"}[i%2]
				num := uint64(i/2 + 1)
				key := store.TicketKey(p, num)
				var text strings.Builder
				for range 80 {
					// Zipf-like: low indexes are common words.
					text.WriteString(vocab[int(float64(len(vocab))*rng.Float64()*rng.Float64())])
					text.WriteByte(' ')
				}
				if key == "ACME-25001" {
					text.WriteString("zanzibarian")
				}
				when := at.Add(time.Duration(i) * time.Minute)
				reporter := fmt.Sprintf("customer%d@example%d.com", i%20000, i%300)
				t := &store.Ticket{Key: key, Project: p, Number: num, Subject: vocab[rng.IntN(len(vocab))] + " " + vocab[rng.IntN(len(vocab))],
					Status: "new", Priority: "normal", Reporter: reporter, Created: when, Updated: when, Messages: 1}
				if i%6 == 0 {
					t.Status, t.Closed = "closed", when.Add(time.Hour)
				}
				m := &store.Message{Direction: "in", Kind: "request", From: reporter, To: []string{strings.ToLower(p) + "@support.example.com"},
					Subject: t.Subject, MessageID: key + "@customer.example", Received: when, Text: text.String(), ThreadedBy: "new"}
				if err := ticket.Import(tx, t, []ticket.Imported{{Message: m, Hash: key, Event: store.EvRequestCreated, Actor: reporter}}, nil, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += 2000
	}
}
