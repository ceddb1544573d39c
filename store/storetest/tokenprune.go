package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// tokenPrune (issue 21): expired bounce tokens are deleted, oldest first,
// at most max at a time; a bounce token whose expiry moved is deleted by
// its new one; link, agent and reply tokens stay whatever their expiry;
// the full check finds nothing amiss afterwards.
func (s *suite) tokenPrune(t *testing.T) {
	db, _ := s.fresh(t)
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	bounce := func(tok string, exp time.Time) *store.Token {
		return &store.Token{Token: tok, Kind: store.TokenBounce, Project: "ACME", Ticket: "ACME-1", Recipient: "c@x", Created: base.Add(-30 * 24 * time.Hour), Expires: exp}
	}
	update(t, db, func(tx store.Tx) error {
		for _, tk := range []*store.Token{
			bounce("b-old", base.Add(-time.Hour)),
			bounce("b-new", base.Add(time.Hour)),
			bounce("b-moved", base.Add(-30*time.Minute)),
			{Token: "l-old", Kind: store.TokenLink, Project: "ACME", Ticket: "ACME-1", Expires: base.Add(-2 * time.Hour)},
			{Token: "r-1", Kind: store.TokenReply, Project: "ACME", Ticket: "ACME-1"},
			bounce("b-moved", base.Add(2*time.Hour)),
		} {
			if err := tx.PutToken(tk); err != nil {
				return err
			}
		}
		return nil
	})
	prune := func(before time.Time, max int) int {
		t.Helper()
		var n int
		update(t, db, func(tx store.Tx) error {
			var err error
			n, err = tx.PruneBounceTokens(before, max)
			return err
		})
		return n
	}
	have := func() map[string]bool {
		t.Helper()
		out := map[string]bool{}
		view(t, db, func(tx store.Tx) error {
			for _, tok := range []string{"b-old", "b-new", "b-moved", "l-old", "r-1"} {
				_, err := tx.Token(tok)
				switch {
				case err == nil:
					out[tok] = true
				case !errors.Is(err, store.ErrNotFound):
					return err
				}
			}
			return nil
		})
		return out
	}
	if n := prune(base, 10); n != 1 {
		t.Fatalf("pruned %d at base, want 1 (b-old)", n)
	}
	if h := have(); h["b-old"] || !h["b-new"] || !h["b-moved"] || !h["l-old"] || !h["r-1"] {
		t.Fatalf("tokens after pruning at base: %v", h)
	}
	if n := prune(base, 10); n != 0 {
		t.Fatalf("pruned %d again, want 0", n)
	}
	if n := prune(base.Add(3*time.Hour), 1); n != 1 {
		t.Fatalf("pruned %d with max 1", n)
	}
	if h := have(); h["b-new"] || !h["b-moved"] {
		t.Fatalf("the earliest expiry was not pruned first: %v", h)
	}
	if n := prune(base.Add(3*time.Hour), 10); n != 1 {
		t.Fatalf("pruned %d at +3h, want 1 (b-moved)", n)
	}
	if h := have(); len(h) != 2 || !h["l-old"] || !h["r-1"] {
		t.Fatalf("tokens left: %v, want l-old and r-1", h)
	}
	if err := db.Check(context.Background(), func(p store.Problem) { t.Errorf("check: %s", p) }); err != nil {
		t.Fatal(err)
	}
}
