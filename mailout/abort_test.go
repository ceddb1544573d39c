package mailout_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/store"
)

// hanging is a relay that never answers: a send ends only when its
// context does, with the context's error (which states no temporariness).
type hanging struct{ started chan struct{} }

func (h *hanging) Send(ctx context.Context, _ mailout.Envelope, msg io.Reader) error {
	io.Copy(io.Discard, msg)
	select {
	case h.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func (h *hanging) Close() error { return nil }

// TestAbortDefersNeverGivesUp: a send cut short by a stop is deferred,
// whatever error the transport returns; it was never refused, so it must
// not be given up (dropped) — it goes out after the restart.
func TestAbortDefersNeverGivesUp(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	err = st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Enqueue(&store.OutboxItem{Project: "ACME", Recipient: "c@customer.example", MessageID: "tg.abort@support.example.com",
			Created: now, NextAttempt: now, Date: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := &hanging{started: make(chan struct{}, 1)}
	s := mailout.NewSender(st, tr, mailout.Retry{Initial: time.Millisecond, Max: time.Millisecond, GiveUpAfter: time.Hour}, 1, slog.New(slog.DiscardHandler))
	s.Render = textRenderer{}
	results := make(chan string, 4)
	s.OnAttempt = func(_ *store.OutboxItem, result string, _ error) { results <- result }
	gaveUp := false
	s.OnGiveUp = func(store.Tx, *store.OutboxItem, string) error { gaveUp = true; return nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-tr.started
	s.Abort()
	cancel()
	<-done
	if r := <-results; r != mailout.Deferred || gaveUp {
		t.Fatalf("aborted send recorded as %q (given up: %v), want deferred", r, gaveUp)
	}
	var n int
	st.View(func(tx store.Tx) error { n, _ = tx.OutboxStats(); return nil })
	if n != 1 {
		t.Fatalf("%d items queued after the stop, want the aborted one still there", n)
	}
}
