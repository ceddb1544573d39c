package mailout_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

func TestSenderRetriesGivesUpAndDelivers(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr := mailout.NewSMTP(mailout.SMTPOptions{Host: sink.Host(), Port: sink.Port(), TLS: "none", Timeout: 5 * time.Second}, nil)
	s := mailout.NewSender(st, tr, mailout.Retry{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond, GiveUpAfter: 400 * time.Millisecond}, 2, slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	gaveUp := map[string]string{}
	s.OnGiveUp = func(tx store.Tx, it *store.OutboxItem, reason string) error {
		mu.Lock()
		gaveUp[it.Recipient] = reason
		mu.Unlock()
		return nil
	}
	sink.RejectRecipient("dead@x.example", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	sink.RejectRecipient("slow@x.example", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	now := time.Now()
	err = st.Update(context.Background(), func(tx store.Tx) error {
		for _, r := range []string{"ok@x.example", "dead@x.example", "slow@x.example"} {
			if err := tx.Enqueue(&store.OutboxItem{Recipient: r, MailFrom: "acme+bounce-x@support.example.com", MessageID: "m-" + r,
				Raw: []byte("Subject: hi\r\n\r\nhi\r\n"), Created: now, NextAttempt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// OnGiveUp runs inside the transaction: wait for the commits, seen
	// as an empty outbox.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var left int
		st.View(func(tx store.Tx) error { left, _ = tx.OutboxStats(); return nil })
		if left == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(gaveUp["dead@x.example"], "permanent failure") {
		t.Errorf("550: %q", gaveUp["dead@x.example"])
	}
	if !strings.Contains(gaveUp["slow@x.example"], "still failing after") {
		t.Errorf("451 until too old: %q", gaveUp["slow@x.example"])
	}
	if msgs := sink.Messages(); len(msgs) != 1 || msgs[0].To[0] != "ok@x.example" {
		t.Fatalf("delivered %v", msgs)
	}
	var left int
	st.View(func(tx store.Tx) error { left, _ = tx.OutboxStats(); return nil })
	if left != 0 {
		t.Errorf("%d items left in the outbox", left)
	}
	// The temporary failure was retried several times before giving up.
	if n := strings.Count(sink.Transcript(), "RCPT TO:<slow@x.example>"); n < 3 {
		t.Errorf("slow@ tried %d times, want retries with backoff", n)
	}
}
