package mailout_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
)

// node is one daemon's sender over a shared PostgreSQL store.
type node struct {
	st     *postgres.DB
	s      *mailout.Sender
	tr     *counting
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// stop ends the sender; attempts in flight finish and are recorded.
func (n *node) stop() {
	n.once.Do(func() {
		n.cancel()
		<-n.done
		n.tr.Transport.Close()
	})
}

func startNode(t *testing.T, dsn string, sink *mailouttest.Sink, lease time.Duration) *node {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, t.TempDir(), postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{st: st, tr: &counting{sent: map[string]int{}}, done: make(chan struct{})}
	n.tr.Transport = mailout.NewPool(4, func() mailout.Transport {
		return mailout.NewSMTP(mailout.SMTPOptions{Host: sink.Host(), Port: sink.Port(), TLS: "none", Timeout: 10 * time.Second}, nil)
	})
	n.s = mailout.NewSender(st, n.tr, fastRetry(), 4, slog.New(slog.DiscardHandler))
	n.s.Render = textRenderer{}
	n.s.Lease = lease
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.s.Run(ctx); close(n.done) }()
	t.Cleanup(func() {
		n.stop()
		n.st.Close()
	})
	return n
}

func enqueueShared(t *testing.T, st store.DB, n int, tag string) []string {
	t.Helper()
	var ids []string
	now := time.Now()
	err := st.Update(context.Background(), func(tx store.Tx) error {
		ids = ids[:0]
		for i := range n {
			id := fmt.Sprintf("tg.%s%d@support.example.com", tag, i)
			it := &store.OutboxItem{Project: "ACME", Event: "customer/public_comment_added", Recipient: "carl@customer.example",
				MailFrom: "acme+bounce-x@support.example.com", MessageID: id, Date: now.Truncate(time.Second),
				Header: store.OutboxHeader{From: "acme@support.example.com", Subject: "[ACME-1] printer"},
				Vars:   store.OutboxVars{Detail: "item " + id}, Created: now, NextAttempt: now}
			if err := tx.Enqueue(it); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// sinkCounts waits for n messages at the sink, stops the nodes (so no
// send is still on its way) and counts the sink's messages per
// Message-ID.
func sinkCounts(t *testing.T, sink *mailouttest.Sink, n int, nodes ...*node) map[string]int {
	t.Helper()
	_, err := sink.WaitFor(n, time.Minute)
	if err != nil {
		t.Fatalf("waiting for %d messages at the sink: %v (got %d)", n, err, len(sink.Messages()))
	}
	for _, nd := range nodes {
		nd.stop()
	}
	q := &queue{t: t, sink: sink}
	return q.atSink()
}

// TestTwoNodesSendEachItemOnce: two senders (two daemons) on one
// PostgreSQL store drain one outbox together; every item reaches the
// relay exactly once, and both nodes took part.
func TestTwoNodesSendEachItemOnce(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.Database(t, "outbox")
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	a := startNode(t, dsn, sink, time.Minute)
	b := startNode(t, dsn, sink, time.Minute)
	const n = 300
	ids := enqueueShared(t, a.st, n/2, "a")
	a.s.Wake()
	ids = append(ids, enqueueShared(t, b.st, n/2, "b")...)
	b.s.Wake()
	got := sinkCounts(t, sink, n, a, b)
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s reached the relay %d times", id, got[id])
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct Message-IDs at the sink, want %d", len(got), n)
	}
	sentA, sentB := len(a.tr.sent), len(b.tr.sent)
	if sentA == 0 || sentB == 0 {
		t.Errorf("node A sent %d, node B %d: both should have worked", sentA, sentB)
	}
	t.Logf("node A sent %d, node B %d", sentA, sentB)
}

// TestDeadNodesItemsSentByAnother: items claimed by a node that died
// before sending (its lease never renewed) are sent by another node once
// the lease runs out, each once.
func TestDeadNodesItemsSentByAnother(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.Database(t, "failover")
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	st, err := postgres.Open(context.Background(), dsn, t.TempDir(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := enqueueShared(t, st, 20, "dead")
	claimed, _, err := st.ClaimOutbox(context.Background(), "dead-node", time.Now(), 300*time.Millisecond, 100)
	if err != nil || len(claimed) != len(ids) {
		t.Fatalf("the dead node claimed %d of %d: %v", len(claimed), len(ids), err)
	}
	b := startNode(t, dsn, sink, time.Minute)
	got := sinkCounts(t, sink, len(ids), b)
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s reached the relay %d times", id, got[id])
		}
	}
}
