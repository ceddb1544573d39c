package mailout_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// attemptViews counts the read transactions open that read an outbox
// row: the sender's attempt.
type attemptViews struct {
	store.DB
	open atomic.Int32
}

func (a *attemptViews) View(fn func(store.Tx) error) error {
	var read bool
	defer func() {
		if read {
			a.open.Add(-1)
		}
	}()
	return a.DB.View(func(tx store.Tx) error {
		return fn(&rowReadTx{Tx: tx, onRead: func() {
			if !read {
				read = true
				a.open.Add(1)
			}
		}})
	})
}

type rowReadTx struct {
	store.Tx
	onRead func()
}

func (t *rowReadTx) OutboxItem(id uint64) (*store.OutboxItem, error) {
	t.onRead()
	return t.Tx.OutboxItem(id)
}

// TestBlobsOpenedOutsideTheReadTransaction: the sender opens a mail's
// attachments after the read transaction that read its row and rendered
// it. A blob kept inside bbolt is read in a transaction of its own, and
// a read transaction begun inside another deadlocks with a writer that
// must grow the file: the sender and every commit stopped for good.
func TestBlobsOpenedOutsideTheReadTransaction(t *testing.T) {
	q := newQueue(t, mailouttest.Options{HeaderOnly: true}, 1, fastRetry())
	blob, size, err := q.st.PutBlob(bytes.NewReader([]byte("a small attachment, kept inside bbolt\n")))
	if err != nil {
		t.Fatal(err)
	}
	ids := q.enqueue(2, "a@customer.example", []store.Attachment{{Filename: "a.txt", ContentType: "text/plain", Size: size, Blob: blob}})
	views := &attemptViews{DB: q.st}
	opened := make(chan bool, 4)
	s := mailout.NewSender(views, mailout.NewSMTP(mailout.SMTPOptions{Host: q.sink.Host(), Port: q.sink.Port(), TLS: "none", Timeout: 2 * time.Minute}, nil),
		fastRetry(), 1, slog.New(slog.DiscardHandler))
	s.Render = textRenderer{}
	s.OpenBlob = func(h string) (io.ReadCloser, error) {
		opened <- views.open.Load() == 0
		return q.st.OpenBlob(h)
	}
	delivered := make(chan string, 4)
	s.OnAttempt = func(it *store.OutboxItem, result string, err error) { delivered <- it.MessageID + " " + result }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for range ids {
		select {
		case outside := <-opened:
			if !outside {
				t.Fatal("an attachment was opened inside the read transaction of its row")
			}
		case <-time.After(time.Minute):
			t.Fatal("no attachment opened after a minute")
		}
		if r := <-delivered; len(r) < 10 || r[len(r)-len(mailout.Delivered):] != mailout.Delivered {
			t.Fatalf("attempt: %s", r)
		}
	}
}
