package webhook_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
	"github.com/ticketgate/ticketgate/webhook"
)

// TestTwoNodesOnPostgres: two nodes' senders on one PostgreSQL store
// lease what they send (store.HookLeaser): 40 deliveries, every event id
// accepted exactly once, nothing left.
func TestTwoNodesOnPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.Database(t, "tg_hooks")
	rc := newReceiver(t)
	hook := config.Webhook{Name: "ops", URL: rc.srv.URL, Events: []string{"request_created"}}
	q := newQueue(t, hook)
	var nodes []store.DB
	for range 2 {
		db, err := postgres.Open(context.Background(), dsn, filepath.Join(t.TempDir(), "node"), postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		nodes = append(nodes, db)
	}
	// Queue on node 0 (the queue helper's own bbolt store is not used).
	q.st.Close()
	q.st = nodes[0]
	ids := q.enqueue(40, "ops", store.EvRequestCreated)
	outcomes := make(chan string, 64)
	for _, db := range nodes {
		s := webhook.NewSender(db, func() *config.Config { return q.cfg }, webhook.Options{Retry: fastRetry(), Workers: 2, Lease: time.Minute},
			slog.New(slog.DiscardHandler))
		s.OnAttempt = func(_ *store.HookItem, result string, _ error) { outcomes <- result }
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	for n := 0; n < len(ids); {
		select {
		case o := <-outcomes:
			if o == webhook.Delivered {
				n++
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%d of %d delivered", n, len(ids))
		}
	}
	got := map[string]int{}
	for _, r := range rc.requests() {
		if r.Code == http.StatusOK {
			got[r.Header.Get(webhook.HeaderEventID)]++
		}
	}
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s accepted %d times", id, got[id])
		}
	}
	if err := nodes[1].View(func(tx store.Tx) error {
		n, _, err := tx.HookStats()
		if n != 0 {
			t.Errorf("%d deliveries left", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
