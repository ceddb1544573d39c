package ticket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
)

// TestPruneBounceTokens: a request's notifications mint a bounce token per
// copy; with a fake clock, pruning deletes none of them before
// notify.BounceTTL has passed and all of them after.
func TestPruneBounceTokens(t *testing.T) {
	e := newTestEngine(t)
	e.request(t, "prune@customer.example")
	var bounces []string
	if err := e.st.View(func(tx store.Tx) error {
		items, err := tx.ListOutbox(100)
		for _, it := range items {
			if it.Bounce != "" {
				bounces = append(bounces, it.Bounce)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(bounces) < 2 {
		t.Fatalf("%d bounce tokens minted, want one per copy (auto-reply and agent)", len(bounces))
	}
	known := func() int {
		t.Helper()
		n := 0
		if err := e.st.View(func(tx store.Tx) error {
			for _, b := range bounces {
				_, err := tx.Token(b)
				switch {
				case err == nil:
					n++
				case !errors.Is(err, store.ErrNotFound):
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	prune := func() int {
		t.Helper()
		n, err := e.PruneBounceTokens(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	start := *e.clock
	*e.clock = start.Add(notify.BounceTTL - time.Minute)
	if n := prune(); n != 0 || known() != len(bounces) {
		t.Fatalf("before expiry: pruned %d, %d of %d left", n, known(), len(bounces))
	}
	*e.clock = start.Add(notify.BounceTTL + time.Minute)
	if n := prune(); n != len(bounces) || known() != 0 {
		t.Fatalf("after expiry: pruned %d of %d, %d left", n, len(bounces), known())
	}
	if n := prune(); n != 0 {
		t.Errorf("pruned %d more", n)
	}
}
