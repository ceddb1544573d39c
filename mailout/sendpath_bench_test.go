package mailout_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// sendBench is the daemon's outbound path without the daemon: a bbolt
// store (no fsync: the figure is CPU, not the disk), the real notifier as
// renderer, the engine's Delivered as OnDelivered, and the real Sender
// with the daemon's 16 workers and a pool of SMTP transports to the
// go-smtp sink of mailouttest.
type sendBench struct {
	st   store.DB
	sink *sinkProcess
	s    *mailout.Sender
	// rows are what a new request queues (the customer's auto-reply and
	// the agents' notice) and msg the request they render, as the engine
	// wrote them: the benchmark queues copies of them.
	rows []*store.OutboxItem
	msg  *store.Message
	sent atomic.Int64
	tick chan struct{}
	seq  int

	pool       *mailout.Pool
	stopSender func()
	stopped    bool
}

func newSendBench(b *testing.B, run bool) *sendBench {
	b.Helper()
	st, err := store.Open(b.TempDir(), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c := config.Default()
	c.DataDir = b.TempDir()
	c.Limits.AutoPerRecipient.Count = 1 << 30
	c.Limits.AutoPerTicket.Count = 1 << 30
	c.Limits.AutoPerProject.Count = 1 << 30
	c.Limits.NewTicketsPerSender.Count = 1 << 30
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()}}
	if err := c.Finalize(); err != nil {
		b.Fatal(err)
	}
	cfg := func() *config.Config { return c }
	tmpl := templates.New("")
	log := slog.New(slog.DiscardHandler)
	n := notify.New(cfg, func() *templates.Set { return tmpl }, nil, log)
	e := ticket.NewEngine(st, cfg, n, time.Now, log)
	m := &ticket.Mail{Project: "ACME", Source: "smtp", From: "joerg@customer.example", FromName: "Jörg Müller", To: []string{"acme@support.example.com"},
		Subject: "Printer prints blank pages", MessageID: "req-1@customer.example",
		Text: "Hello,\n\nthe printer on the second floor prints blank pages since yesterday.\nCould you have a look?\n\nThanks\nJörg\n\n> earlier quoted text\n> more of it\n",
		Raw:  fmt.Sprintf("%064x", 1), SenderProven: true}
	res, err := e.Ingest(context.Background(), m)
	if err != nil || !res.Created || res.Queued != 2 {
		b.Fatalf("ingest: %v %+v", err, res)
	}
	sb := &sendBench{st: st, tick: make(chan struct{}, 1)}
	err = st.View(func(tx store.Tx) error {
		if sb.rows, err = tx.ListOutbox(10); err != nil {
			return err
		}
		sb.msg, err = tx.Message(sb.rows[0].Message)
		return err
	})
	if err != nil || len(sb.rows) != 2 {
		b.Fatalf("queued rows: %v %d", err, len(sb.rows))
	}
	// They are sent as copies; the originals go.
	err = st.Update(context.Background(), func(tx store.Tx) error {
		for _, it := range sb.rows {
			if _, err := tx.Dequeue(it.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	sb.sink = startSinkProcess(b)
	host, portN := sb.sink.hostPort(b)
	workers := c.Outbound.Workers
	pool := mailout.NewPool(workers, func() mailout.Transport {
		return mailout.NewSMTP(mailout.SMTPOptions{Host: host, Port: portN, TLS: mailout.TLSNone, HelloName: "bench.example"}, nil)
	})
	sb.pool = pool
	b.Cleanup(func() {
		if _, err := sb.stop(); err != nil {
			b.Error(err)
		}
	})
	s := mailout.NewSender(st, pool, mailout.Retry{}, workers, log)
	s.Render = n
	s.OnDelivered = e.Delivered
	s.OnAttempt = func(it *store.OutboxItem, result string, err error) {
		if result != mailout.Delivered {
			b.Errorf("%s: %s: %v", it.MessageID, result, err)
		}
		sb.sent.Add(1)
		select {
		case sb.tick <- struct{}{}:
		default:
		}
	}
	sb.s = s
	if !run {
		return sb
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	sb.stopSender = func() { cancel(); <-done }
	return sb
}

// stop stops the sender, its transports and the sink, and returns how
// many mails the sink accepted. Only the first call does something.
func (sb *sendBench) stop() (int, error) {
	if sb.stopped {
		return 0, nil
	}
	sb.stopped = true
	if sb.stopSender != nil {
		sb.stopSender()
	}
	sb.pool.Close()
	return sb.sink.stop()
}

// queue queues n mails: per new request a copy of the request's message
// record and of its two rows, each with its own Message-ID.
func (sb *sendBench) queue(b *testing.B, n int) {
	b.Helper()
	now := time.Now().UTC()
	err := sb.st.Update(context.Background(), func(tx store.Tx) error {
		var msg *store.Message
		for i := range n {
			it := *sb.rows[i%len(sb.rows)]
			if i%len(sb.rows) == 0 || msg == nil {
				sb.seq++
				cp := *sb.msg
				cp.MessageID = fmt.Sprintf("req-%d@customer.example", sb.seq)
				msg = &cp
				if err := tx.AddMessage(msg); err != nil {
					return err
				}
			}
			it.Message = msg.ID
			it.MessageID = fmt.Sprintf("tg.%d.%d@support.example.com", sb.seq, i%len(sb.rows))
			it.NextAttempt, it.Created, it.Date = now, now, now
			if err := tx.Enqueue(&it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// waitSent waits until the sender recorded n deliveries in all.
func (sb *sendBench) waitSent(b *testing.B, n int64) {
	b.Helper()
	deadline := time.After(5 * time.Minute)
	for sb.sent.Load() < n {
		select {
		case <-sb.tick:
		case <-deadline:
			b.Fatalf("%d of %d mails delivered after 5 minutes", sb.sent.Load(), n)
		}
	}
}

// BenchmarkSendPerMail is the outbound sender's whole work for one mail of
// a new request (the customer's auto-reply or the agents' notice, in
// turn): the dispatcher's scan, the row read, the message record read and
// rendered through the real templates, MIME composed and streamed over
// SMTP to the sink, and the transaction that dequeues the row and records
// the delivery. Rows are queued in transactions of 64 mails, which the
// figure includes (sub-benchmark queue alone measures that part: subtract
// it); the sink runs in a child process (TestMain), so its work is not
// in the figures. The sink advertises PIPELINING, so the transport
// pipelines MAIL, RCPT and DATA.
//
//	go test -run '^$' -bench BenchmarkSendPerMail -benchmem ./mailout
//	go test -c ./mailout
//	TICKETGATE_MAILOUT_SINK_PROCESS=1 ./mailout.test  # prints its address; give it to:
//	TICKETGATE_MAILOUT_BENCH_SINK=127.0.0.1:port GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off \
//	  valgrind --tool=callgrind ./mailout.test -test.run '^$' -test.bench 'SendPerMail/send' -test.benchtime 2000x
func BenchmarkSendPerMail(b *testing.B) {
	const perTx = 64
	b.Run("send", func(b *testing.B) {
		sb := newSendBench(b, true)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += perTx {
			k := min(perTx, b.N-i)
			sb.queue(b, k)
			sb.s.Wake()
			sb.waitSent(b, int64(i+k))
		}
		b.StopTimer()
		if got, err := sb.stop(); err != nil || (got != b.N && got != -1) {
			b.Fatalf("%d mails at the sink (%v), want %d", got, err, b.N)
		}
	})
	b.Run("queue", func(b *testing.B) {
		sb := newSendBench(b, false)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += perTx {
			sb.queue(b, min(perTx, b.N-i))
		}
	})
}
