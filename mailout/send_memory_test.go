package mailout

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// recordTransport keeps what it was given to send.
type recordTransport struct {
	got   [][]byte
	calls int
}

func (r *recordTransport) Send(ctx context.Context, env Envelope, msg io.Reader) error {
	r.calls++
	b, err := io.ReadAll(msg)
	r.got = append(r.got, b)
	return err
}

func (r *recordTransport) Close() error { return nil }

// TestSendSmallInMemory: a small mail without attachments is composed in
// memory before the transport reads it, a large one streams through the
// pipe; both give the transport the bytes WriteTo writes. A mail whose
// header cannot be composed fails as a temporary compose error in both,
// and the small one never reaches the transport.
func TestSendSmallInMemory(t *testing.T) {
	it := &store.OutboxItem{MessageID: "tg.x@support.example.com", Recipient: "a@b.example", MailFrom: "b@support.example.com", Date: time.Unix(1.8e9, 0).UTC(),
		Header: store.OutboxHeader{From: "s@support.example.com", FromName: "Acme", Subject: "[ACME-1] Grüße"}}
	small := Body{Text: "Hello Jörg,\n\nyour request.\n", HTML: "<p>Hello Jörg,</p>"}
	large := Body{Text: strings.Repeat("a line of text \n", maxComposedInMemory/16), HTML: "<p>x</p>"}
	rt := &recordTransport{}
	s := &Sender{transport: rt}
	c := newComposer()
	defer c.stop()
	for _, body := range []Body{small, large, small} {
		m := &Message{Item: it, Body: body}
		if m.small() != (body.Text == small.Text) {
			t.Fatalf("small() = %v for a body of %d bytes", m.small(), len(body.Text))
		}
		var want bytes.Buffer
		if _, err := (&Message{Item: it, Body: body}).WriteTo(&want); err != nil {
			t.Fatal(err)
		}
		if err := s.send(context.Background(), m, c); err != nil {
			t.Fatal(err)
		}
		if got := rt.got[len(rt.got)-1]; !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("transport got\n%q\nwant\n%q", got, want.Bytes())
		}
	}
	for _, body := range []Body{small, large} {
		bad := *it
		bad.Header.AutoSubmitted = "auto-replied\r\nBcc: x@y.example"
		calls := rt.calls
		err := s.send(context.Background(), &Message{Item: &bad, Body: body}, c)
		if err == nil || !fault.IsTemporary(err) || !strings.Contains(err.Error(), "compose") {
			t.Fatalf("a header with a line break: %v", err)
		}
		if body.Text == small.Text && rt.calls != calls {
			t.Fatal("a small mail that could not be composed reached the transport")
		}
	}
}

// BenchmarkSendDiscard is a worker's send of one small mail (compose and
// hand to the transport) to a transport that reads and discards it: the
// sender's own share of a send without the relay's.
//
//	go test -run '^$' -bench BenchmarkSendDiscard -benchmem ./mailout
func BenchmarkSendDiscard(b *testing.B) {
	it := &store.OutboxItem{MessageID: "tg.x@support.example.com", Recipient: "a@b.example", MailFrom: "b@x", Date: time.Unix(1.8e9, 0).UTC(),
		Header: store.OutboxHeader{From: "s@x.example", FromName: "Acme", Subject: "[ACME-1] x"}}
	body := Body{Text: strings.Repeat("hello world\n", 100), HTML: strings.Repeat("<p>hello world</p>\n", 100)}
	s := &Sender{transport: discard{}}
	c := newComposer()
	defer c.stop()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.send(context.Background(), &Message{Item: it, Body: body}, c); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Send(ctx context.Context, env Envelope, msg io.Reader) error {
	_, err := io.Copy(io.Discard, msg)
	return err
}

func (discard) Close() error { return nil }
