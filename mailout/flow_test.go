package mailout_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/internal/flow"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// TestSenderTellsFlowItsLag: a mail that became due 3 s before the sender
// started it makes the gate hold the intake while it is in flight; once
// nothing is due any more the gate lets the intake go.
func TestSenderTellsFlowItsLag(t *testing.T) {
	q := newQueue(t, mailouttest.Options{}, 2, fastRetry())
	q.flow = flow.New(200*time.Millisecond, time.Hour)
	late := time.Now().Add(-3 * time.Second)
	err := q.st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Enqueue(&store.OutboxItem{Project: "ACME", Event: "customer/request_created", Recipient: "late@x.example",
			MailFrom: "acme+bounce-x@support.example.com", MessageID: "tg.late@support.example.com", Date: late.Truncate(time.Second),
			Header: store.OutboxHeader{From: "acme@support.example.com", Subject: "[ACME-1] late"}, Created: late, NextAttempt: late})
	})
	if err != nil {
		t.Fatal(err)
	}
	q.sink.Hold("late@x.example")
	q.start()
	if err := q.sink.WaitHeld(1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if lag := q.flow.Lag(); lag < 3*time.Second {
		t.Fatalf("lag %v while a mail due 3 s ago is in flight", lag)
	}
	waited := make(chan time.Duration, 1)
	go func() { waited <- q.flow.Wait(context.Background()) }()
	select {
	case d := <-waited:
		t.Fatalf("the intake went on after %v while the sender lagged", d)
	default:
	}
	q.sink.Release("late@x.example")
	select {
	case <-waited:
	case <-time.After(time.Minute): // a safeguard: the gate's own maximum is an hour
		t.Fatalf("the intake is still held after the outbox drained (lag %v)", q.flow.Lag())
	}
	if lag := q.flow.Lag(); lag != 0 {
		t.Errorf("lag %v with nothing due", lag)
	}
	q.stop()
}
