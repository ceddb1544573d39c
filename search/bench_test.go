package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// BenchmarkSearch100k: searches over an index of 100,000 tickets in three
// projects (about 80 words each from a 5,000-word vocabulary, addresses,
// subjects), through Index.Search as the desk calls it (catching up with
// the store first, which finds nothing new). The index is built once per
// run, outside the timing.
//
//	go test -run '^$' -bench BenchmarkSearch100k -benchtime 200x ./search/
func BenchmarkSearch100k(b *testing.B) {
	const tickets = 100_000
	db := openStore(b)
	x, err := Open(context.Background(), b.TempDir(), db, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx%c", i, 'a'+rune(i%26))
	}
	projects := []string{"ACME", "BETA", "GAMMA"}
	start := time.Now()
	for i := range tickets {
		p := projects[i%len(projects)]
		var text strings.Builder
		for range 80 {
			// Zipf-like: low indexes are common words.
			text.WriteString(vocab[int(float64(len(vocab))*rng.Float64()*rng.Float64())])
			text.WriteByte(' ')
		}
		if i == tickets/2 {
			text.WriteString("zanzibarian")
		}
		key := fmt.Sprintf("%s-%d", p, i/len(projects)+1)
		t := &store.Ticket{Key: key, Project: p, Subject: vocab[rng.IntN(len(vocab))] + " " + vocab[rng.IntN(len(vocab))],
			Reporter: fmt.Sprintf("customer%d@example%d.com", i%20000, i%300)}
		m := &store.Message{From: t.Reporter, Text: text.String(), To: []string{strings.ToLower(p) + "@support.example.com"}}
		if err := x.eng.add(document(t, []*store.Message{m})); err != nil {
			b.Fatal(err)
		}
		if (i+1)%2000 == 0 {
			if err := x.eng.flush(0, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := x.commit(context.Background(), 0); err != nil {
		b.Fatal(err)
	}
	x.rebuild = false
	close(x.ready)
	b.Logf("indexed %d tickets in %s", tickets, time.Since(start).Round(time.Second))
	ctx := context.Background()
	for _, c := range []struct {
		name, q  string
		projects []string
		min      int
	}{
		{"rare-word", "zanzibarian", projects, 1},
		{"common-word-one-project", vocab[3], projects[:1], 100},
		{"two-words", vocab[10] + " " + vocab[40], projects[:2], 1},
		{"address", "customer42@example42.com", projects, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				keys, err := x.Search(ctx, c.q, c.projects)
				if err != nil {
					b.Fatal(err)
				}
				if len(keys) < c.min {
					b.Fatalf("%q: %d hits", c.q, len(keys))
				}
			}
		})
	}
}
