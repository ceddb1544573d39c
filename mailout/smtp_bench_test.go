package mailout_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/store"
)

// BenchmarkSMTPSend is the SMTP transport's work for one mail: the
// customer's auto-reply of a new request, composed once by the real
// notifier and composer, relayed with SMTP.Send over one cached
// connection to the go-smtp sink (in a child process, as for
// BenchmarkSendPerMail, so its work is not in the figures). The first mail
// (connecting, EHLO) is sent before the timer starts.
//
//	go test -run '^$' -bench BenchmarkSMTPSend -benchmem ./mailout
//	go test -c -o /tmp/mailout.test ./mailout
//	TICKETGATE_MAILOUT_SINK_PROCESS=1 /tmp/mailout.test  # prints its address; give it to:
//	TICKETGATE_MAILOUT_BENCH_SINK=127.0.0.1:port GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off \
//	  valgrind --tool=callgrind /tmp/mailout.test -test.run '^$' -test.bench 'SMTPSend' -test.benchtime 2000x
func BenchmarkSMTPSend(b *testing.B) {
	sb := newSendBench(b, false)
	var it *store.OutboxItem
	for _, r := range sb.rows {
		if strings.HasPrefix(r.Event, "customer/") {
			it = r
		}
	}
	if it == nil {
		b.Fatalf("no customer auto-reply among the queued rows")
	}
	var body mailout.Body
	err := sb.st.View(func(tx store.Tx) error {
		var err error
		body, err = sb.s.Render.Render(tx, it)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	m, err := mailout.Prepare(it, body, nil)
	if err != nil {
		b.Fatal(err)
	}
	var composed bytes.Buffer
	if _, err := m.WriteTo(&composed); err != nil {
		b.Fatal(err)
	}
	m.Close()
	data := composed.Bytes()

	host, portN := sb.sink.hostPort(b)
	t := mailout.NewSMTP(mailout.SMTPOptions{Host: host, Port: portN, TLS: mailout.TLSNone, HelloName: "bench.example", Timeout: time.Minute}, nil)
	env := mailout.Envelope{From: it.MailFrom, To: []string{it.Recipient}, MessageID: it.MessageID}
	ctx := context.Background()
	r := bytes.NewReader(data)
	if err := t.Send(ctx, env, r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Reset(data)
		if err := t.Send(ctx, env, r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := t.Close(); err != nil {
		b.Fatal(err)
	}
	if got, err := sb.stop(); err != nil || (got != b.N+1 && got != -1) {
		b.Fatalf("%d mails at the sink (%v), want %d", got, err, b.N+1)
	}
}
